// The alert manager definition the CDK stack gives AMP, run through the real Alertmanager (config loader,
// router, template engine: services/alertmanager-render) for alerts as our rules raise them; what the
// SNS receiver would publish must be what the remediation Lambda's parser accepts.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadYaml } from '@kubernetes/client-node';
import {
  ALERT_SOURCE_ATTRIBUTE,
  alertManagerDefinition,
  SNS_JSON_TEMPLATE,
} from '../../../lib/prometheus-workspace.js';
import {
  parseAlertmanagerMessage,
  parseRemediationEvent,
  type Alert,
} from '../../../lambdas/core/remediation/alerts.js';
import { harnessEnv } from '../../../services/service.js';
import { TRUSTED_ALARMS } from '../../support/alert-payloads.js';
import { repoRoot } from '../../../services/kubectl.js';

const REGION = 'eu-west-1';
const TOPIC_ARN = `arn:aws:sns:${REGION}:123456789012:ibcp-on-call`;
const minute = 60_000;
const now = Date.now();

interface Definition {
  template_files: Record<string, string>;
  alertmanager_config: string;
}

interface AlertInput {
  labels: Record<string, string>;
  startsAt: Date;
  endsAt: Date;
}

interface Notification {
  receiver: string;
  groupLabels: Record<string, string>;
  alertCount: number;
  sns: { topicArn: string; subject: string; message: string; attributes: Record<string, string> }[];
}

const definition = loadYaml<Definition>(alertManagerDefinition(TOPIC_ARN, REGION));

/** Every alert of observability/rules/ (the files the stack loads into AMP) with the labels its rule adds. */
const rulesDir = join(repoRoot, 'observability', 'rules');
const ruleLabels = new Map(
  readdirSync(rulesDir)
    .filter((file) => file.endsWith('.yml'))
    .flatMap((file) =>
      loadYaml<{ groups: { rules: { alert?: string; labels?: Record<string, string> }[] }[] }>(
        readFileSync(join(rulesDir, file), 'utf8'),
      ).groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [[r.alert, r.labels ?? {}] as const] : []))),
    ),
);

/**
 * An alert as Prometheus sends it: the rule's labels over the series' labels; a firing alert's endsAt is
 * a few resend intervals ahead, a resolved one's is when it resolved.
 */
function alert(
  name: string,
  series: Record<string, string>,
  times: { startedAgo: number; resolvedAgo?: number },
): AlertInput {
  const labels = ruleLabels.get(name);
  if (!labels) throw new Error(`no rule raises ${name}`);
  return {
    labels: { ...series, ...labels, alertname: name },
    startsAt: new Date(now - times.startedAgo),
    endsAt: new Date(times.resolvedAgo === undefined ? now + 4 * minute : now - times.resolvedAgo),
  };
}

function render(alerts: AlertInput[], config = definition.alertmanager_config): Notification[] {
  const output = execFileSync(harnessEnv('IBCP_ALERTMANAGER_RENDER'), {
    input: JSON.stringify({
      alertmanagerConfig: config,
      templateFiles: definition.template_files,
      externalURL: `https://aps-workspaces.${REGION}.amazonaws.com/workspaces/ws-0123/alertmanager`,
      alerts,
    }),
    encoding: 'utf8',
    stdio: 'pipe',
  });
  return (JSON.parse(output) as { notifications: Notification[] | null }).notifications ?? [];
}

function expected(input: AlertInput): Omit<Alert, 'episode'> {
  const resolved = input.endsAt.getTime() < now;
  return {
    name: input.labels.alertname!,
    status: resolved ? 'resolved' : 'firing',
    labels: input.labels,
    startsAt: input.startsAt.getTime(),
    endsAt: resolved ? input.endsAt.getTime() : undefined,
    source: 'alertmanager',
  };
}

const withoutEpisode = ({ episode: _episode, ...rest }: Alert) => rest;
const byLabels = (a: { labels: Record<string, string> }, b: { labels: Record<string, string> }) =>
  JSON.stringify(Object.entries(a.labels).sort()).localeCompare(
    JSON.stringify(Object.entries(b.labels).sort()),
  );

const trainer = { namespace: 'ml', deployment: 'moe-trainer', node_pool: 'gpu-a100' };
const trainerPod = (n: number) => ({
  ...trainer,
  pod: `moe-trainer-7d9f8b6c5d-x2k4${n}`,
  instance: `10.0.3.${17 + n}:9400`,
  job: 'ml/moe-trainer',
  gpu: String(n),
});
const inference = {
  namespace: 'ml',
  deployment: 'moe-inference',
  node_pool: 'gpu-a100',
  model: 'mixtral-8x7b',
  instance: '10.0.4.2:8080',
  job: 'ml/moe-inference',
};

describe('the alert manager definition given to AMP, rendered by Alertmanager', () => {
  it('is AMP’s wrapper: the JSON template and a config without api_url or http_config', () => {
    expect(Object.keys(definition).sort()).toEqual(['alertmanager_config', 'template_files']);
    expect(definition.template_files[SNS_JSON_TEMPLATE]).toContain(`define "${SNS_JSON_TEMPLATE}"`);
    const config = loadYaml<{ receivers: { sns_configs?: Record<string, unknown>[] }[] }>(
      definition.alertmanager_config,
    );
    const keys = allKeys(config);
    expect({ api_url: keys.has('api_url'), http_config: keys.has('http_config') }).toEqual({
      api_url: false,
      http_config: false,
    });
    const sns = config.receivers.flatMap((r) => r.sns_configs ?? []);
    expect(sns).toEqual([
      expect.objectContaining({
        topic_arn: TOPIC_ARN,
        sigv4: { region: REGION },
        send_resolved: true,
        message: `{{ template "${SNS_JSON_TEMPLATE}" . }}`,
      }),
    ]);
  });

  it('is loaded by Alertmanager’s own config loader, which rejects a broken one', () => {
    expect(render([])).toEqual([]);
    const broken = definition.alertmanager_config.replace('group_wait: 30s', 'group_wait: soon');
    expect(() => render([], broken)).toThrow(/alertmanager_config: .*soon/);
  });

  const groups: {
    case: string;
    alerts: AlertInput[];
    groupLabels: Record<string, string>;
    status: 'firing' | 'resolved';
    subject: string;
  }[] = [
    {
      case: 'two trainer pods over 95% GPU memory, one already resolved',
      alerts: [
        alert('GPUMemoryUsageHigh', trainerPod(1), { startedAgo: 7 * minute }),
        alert('GPUMemoryUsageHigh', trainerPod(2), { startedAgo: 30 * minute, resolvedAgo: 2 * minute }),
      ],
      groupLabels: { alertname: 'GPUMemoryUsageHigh', namespace: 'ml', node_pool: 'gpu-a100' },
      status: 'firing',
      subject: '[FIRING] GPUMemoryUsageHigh gpu-a100',
    },
    {
      case: 'slow inference of one model',
      alerts: [alert('InferenceLatencyHigh', inference, { startedAgo: 5 * minute + 123 })],
      groupLabels: {
        alertname: 'InferenceLatencyHigh',
        namespace: 'ml',
        node_pool: 'gpu-a100',
        model: 'mixtral-8x7b',
      },
      status: 'firing',
      subject: '[FIRING] InferenceLatencyHigh gpu-a100',
    },
    {
      case: 'expert imbalance resolved',
      alerts: [
        alert(
          'ExpertLoadImbalance',
          { ...trainer, job: 'ml/moe-trainer' },
          {
            startedAgo: 90 * minute,
            resolvedAgo: minute,
          },
        ),
      ],
      groupLabels: { alertname: 'ExpertLoadImbalance', namespace: 'ml', node_pool: 'gpu-a100' },
      status: 'resolved',
      subject: '[RESOLVED] ExpertLoadImbalance gpu-a100',
    },
    {
      case: 'a training loss alert without a pool label',
      alerts: [
        alert('MoETrainingLossHigh', { namespace: 'ml', job: 'ml/moe-trainer' }, { startedAgo: 70 * minute }),
      ],
      groupLabels: { alertname: 'MoETrainingLossHigh', namespace: 'ml' },
      status: 'firing',
      subject: '[FIRING] MoETrainingLossHigh',
    },
    {
      case: 'exporter labels with quotes, backslashes, tabs, newlines and non-ASCII text',
      alerts: [
        alert(
          'NodeDiskUtilizationHigh',
          {
            node_pool: 'gpu-l4',
            instance: 'ip-10-0-7-9.eu-west-1.compute.internal',
            device: 'C:\\models\\"mixtral"',
            mountpoint: '/var/lib/kubelet\tpods\nvolumes',
            owner: 'équipe-ml ☁',
          },
          { startedAgo: 31 * minute },
        ),
      ],
      groupLabels: { alertname: 'NodeDiskUtilizationHigh', node_pool: 'gpu-l4' },
      status: 'firing',
      subject: '[FIRING] NodeDiskUtilizationHigh gpu-l4',
    },
  ];

  describe('renders one SNS message per group that the remediation parser accepts', () => {
    let notifications: Notification[] = [];
    beforeAll(() => {
      notifications = render(groups.flatMap((g) => g.alerts));
    });

    it('groups the alerts as the route says', () => {
      expect(notifications.map((n) => ({ groupLabels: n.groupLabels, alertCount: n.alertCount }))).toEqual(
        groups.map((g) => ({ groupLabels: g.groupLabels, alertCount: g.alerts.length })),
      );
    });

    it.each(groups.map((g, i) => [g.case, i] as const))('%s', (_, index) => {
      const group = groups[index]!;
      const [published] = notifications[index]!.sns;
      expect(published).toMatchObject({
        topicArn: TOPIC_ARN,
        subject: group.subject,
        attributes: { [ALERT_SOURCE_ATTRIBUTE.name]: ALERT_SOURCE_ATTRIBUTE.value },
      });
      const body = JSON.parse(published!.message) as { receiver: string; status: string };
      expect({ receiver: body.receiver, status: body.status }).toEqual({
        receiver: 'on-call',
        status: group.status,
      });

      const parsed = parseAlertmanagerMessage(published!.message);
      expect(parsed.map(withoutEpisode).sort(byLabels)).toEqual(group.alerts.map(expected).sort(byLabels));
      for (const a of parsed) {
        expect(a.episode).toBe(
          `${fingerprintOf(published!.message, a)}@${new Date(a.startsAt).toISOString()}`,
        );
      }

      const event = parseRemediationEvent(snsRecordOf(published!), TRUSTED_ALARMS);
      expect(event).toEqual({ kind: 'alerts', alerts: parsed, rejected: [] });
    });
  });

  it('keeps the episode of an alert from firing to resolved, so a redelivery is not acted on twice', () => {
    const firing = alert('GPUMemoryUsageHigh', trainerPod(3), { startedAgo: 20 * minute });
    const resolved = { ...firing, endsAt: new Date(now - minute) };
    const [fired, ended] = [firing, resolved].map(
      (a) => parseAlertmanagerMessage(render([a])[0]!.sns[0]!.message)[0]!,
    );
    expect([fired!.status, ended!.status]).toEqual(['firing', 'resolved']);
    expect(ended!.episode).toBe(fired!.episode);
  });

  it('keeps every subject within SNS’s 100 printable ASCII characters, even for a 63-character pool', () => {
    const longPool = `gpu-${'h100-sxm5-80gb-'.repeat(4)}`.slice(0, 62) + '1';
    expect(longPool).toHaveLength(63);
    const notifications = render(
      [...ruleLabels.keys()].map((name) =>
        alert(
          name,
          { namespace: 'ml', node_pool: longPool },
          { startedAgo: 30 * minute, resolvedAgo: minute },
        ),
      ),
    );
    expect(notifications).toHaveLength(ruleLabels.size);
    const subjects = notifications.map((n) => n.sns[0]!.subject);
    expect(subjects.filter((s) => s.length > 100 || !/^[\x20-\x7e]+$/.test(s))).toEqual([]);
    // Cut ones keep the alert's name and end in an ellipsis.
    expect(subjects.find((s) => s.includes('BudgetAllocationExceedsTotal'))).toBe(
      `[RESOLVED] BudgetAllocationExceedsTotal ${longPool}`.slice(0, 97) + '...',
    );
  });
});

function allKeys(value: unknown, keys = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => allKeys(v, keys));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      keys.add(key);
      allKeys(v, keys);
    }
  }
  return keys;
}

/** The fingerprint the message carries for the alert, which the episode must be built from. */
function fingerprintOf(message: string, alert: Alert): string {
  const body = JSON.parse(message) as { alerts: { labels: Record<string, string>; fingerprint: string }[] };
  const raw = body.alerts.find((a) => JSON.stringify(a.labels) === JSON.stringify(alert.labels));
  expect(raw?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  return raw!.fingerprint;
}

/** The Lambda event SNS delivers for one publish. */
function snsRecordOf(published: Notification['sns'][number]) {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        Sns: {
          Type: 'Notification',
          TopicArn: published.topicArn,
          Subject: published.subject,
          Message: published.message,
          MessageAttributes: Object.fromEntries(
            Object.entries(published.attributes).map(([k, v]) => [k, { Type: 'String', Value: v }]),
          ),
        },
      },
    ],
  };
}
