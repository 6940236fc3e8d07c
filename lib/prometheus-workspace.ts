import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import { CfnRuleGroupsNamespace, CfnWorkspace } from 'aws-cdk-lib/aws-aps';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

const RULES_DIR = fileURLToPath(new URL('../observability/rules/', import.meta.url));

/** The SNS message attribute that marks an alert from AMP's alert manager (subscriptions filter on it). */
export const ALERT_SOURCE_ATTRIBUTE = { name: 'source', value: 'amp-alertmanager' } as const;

export interface PrometheusWorkspaceProps {
  /** An existing workspace; unset, one is created. */
  existingWorkspaceArn?: string;
  /** Where the alert manager sends alerts (a workspace created here only). */
  alertTopic: ITopic;
}

/**
 * Amazon Managed Service for Prometheus: the workspace the control plane remote-writes to, one rule-groups
 * namespace per file in `observability/rules/` (the same files promtool tests), and an alert manager that
 * routes every alert to the on-call topic.
 */
export class PrometheusWorkspace extends Construct {
  readonly workspaceArn: string;
  /** `https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>/` */
  readonly endpoint: string;

  constructor(scope: Construct, id: string, props: PrometheusWorkspaceProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (props.existingWorkspaceArn) {
      this.workspaceArn = props.existingWorkspaceArn;
      const arn = Arn.split(props.existingWorkspaceArn, ArnFormat.SLASH_RESOURCE_NAME);
      this.endpoint = `https://aps-workspaces.${arn.region}.${stack.urlSuffix}/workspaces/${arn.resourceName}/`;
    } else {
      const workspace = new CfnWorkspace(this, 'Workspace', {
        alias: `${stack.stackName}`,
        alertManagerDefinition: alertManagerDefinition(props.alertTopic.topicArn, stack.region),
      });
      this.workspaceArn = workspace.attrArn;
      this.endpoint = workspace.attrPrometheusEndpoint;
      props.alertTopic.addToResourcePolicy(
        new PolicyStatement({
          principals: [new ServicePrincipal('aps.amazonaws.com')],
          actions: ['sns:Publish', 'sns:GetTopicAttributes'],
          resources: [props.alertTopic.topicArn],
          conditions: {
            StringEquals: { 'aws:SourceAccount': stack.account },
            ArnEquals: { 'aws:SourceArn': workspace.attrArn },
          },
        }),
      );
    }
    for (const file of readdirSync(RULES_DIR)
      .filter((name) => name.endsWith('.yml'))
      .sort()) {
      const name = basename(file, '.yml');
      new CfnRuleGroupsNamespace(this, `Rules-${name}`, {
        workspace: this.workspaceArn,
        name,
        data: readFileSync(join(RULES_DIR, file), 'utf8'),
      });
    }
  }
}

/** The template that renders an SNS message as the JSON the remediation Lambda parses (docs/remediation.md). */
export const SNS_JSON_TEMPLATE = 'ibcp.sns.json';

/**
 * Alertmanager configuration in AMP's wrapper: every alert, grouped per alert and pool, to the topic, as
 * JSON. Only labels, status, times and fingerprint are rendered: Alertmanager templates have no JSON
 * escaping, so label names and values go through Go's `%q`, whose quoting is JSON's for printable text,
 * tabs and newlines; annotations (free text) are left out. test/integration/cdk/alertmanager-template.test.ts
 * renders this with the real Alertmanager.
 */
export function alertManagerDefinition(topicArn: string, region: string): string {
  return [
    'template_files:',
    `  ${SNS_JSON_TEMPLATE}: |`,
    `    {{ define "${SNS_JSON_TEMPLATE}" }}{"receiver":"{{ .Receiver }}","status":"{{ .Status }}","alerts":[` +
      // A literal brace right before an action would read as the action's own: print it instead.
      '{{ range $i, $a := .Alerts }}{{ if $i }},{{ end }}{"status":"{{ $a.Status }}","labels":{{ "{" }}' +
      '{{ range $j, $l := $a.Labels.SortedPairs }}{{ if $j }},{{ end }}{{ printf "%q:%q" $l.Name $l.Value }}{{ end }}' +
      '},"startsAt":"{{ $a.StartsAt }}","endsAt":"{{ $a.EndsAt }}","fingerprint":"{{ $a.Fingerprint }}"}' +
      '{{ end }}]}{{ end }}',
    'alertmanager_config: |',
    '  route:',
    '    receiver: on-call',
    '    group_by: [alertname, node_pool, namespace, model]',
    '    group_wait: 30s',
    '    group_interval: 5m',
    '    repeat_interval: 4h',
    '  receivers:',
    '    - name: on-call',
    '      sns_configs:',
    `        - topic_arn: ${topicArn}`,
    '          send_resolved: true',
    '          sigv4:',
    `            region: ${region}`,
    // The default subject lists every label and can exceed SNS's 100 characters, as can a long alert and
    // pool name (63 characters each): cut to 97 and an ellipsis. No pool label, no trailing space.
    `          subject: '{{ printf "[%s] %s %s" (toUpper .Status) .GroupLabels.alertname .GroupLabels.node_pool` +
      ` | trimSpace | reReplaceAll "(?s)^(.{97}).{4,}$" "$1..." }}'`,
    `          message: '{{ template "${SNS_JSON_TEMPLATE}" . }}'`,
    '          attributes:',
    `            ${ALERT_SOURCE_ATTRIBUTE.name}: ${ALERT_SOURCE_ATTRIBUTE.value}`,
    '',
  ].join('\n');
}
