// Right-sizing end to end: DCGM-shaped series (per GPU, in MiB, labelled as dcgm-exporter labels them)
// sent to the harness's Prometheus by remote write, read back by PrometheusPeakMemory, and the
// recommendations written by observeModels to InferenceModels on the real kube-apiserver.
import { createHash, createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { endpointFromFile } from '../../../services/kube-config.js';
import { KubernetesCluster } from '../../../lambdas/adapters/kubernetes-cluster.js';
import { PrometheusPeakMemory } from '../../../lambdas/adapters/prometheus-peak-memory.js';
import { RemoteWriteSink } from '../../../lambdas/adapters/prometheus-remote-write.js';
import type { Sample } from '../../../lambdas/core/metrics/series.js';
import { observeModels, type ObservePorts } from '../../../lambdas/core/recommendations/observe.js';
import type { InferenceModelStatus } from '../../../lambdas/core/inference-model.js';
import { kubernetesTime } from '../../../lambdas/core/reconcile/status.js';
import { harnessEnv } from '../../../services/service.js';
import { RecordingLog } from '../../support/fake-cluster.js';
import { installDeploy, kubectl, kubectlOk, uniqueName } from '../../../services/kubectl.js';
import { inferenceModelManifest } from '../../support/builders.js';
import { identityOf } from '../../support/kubernetes-identity.js';

const MiB = 1;
const GiB = 1024 * MiB;
const Gi = 2 ** 30;
const minute = 60_000;
const WINDOW_SECONDS = 600;
const namespace = uniqueName('rightsize');
const prometheus = harnessEnv('IBCP_PROMETHEUS_URL');
const LONG_NAME = 'meta-llama-3-1-70b-instruct-awq-int4-tp4-canary-v2'; // 50 characters

// Ten minutes of samples, 15 s apart, ending 30 minutes ago: a stretch of time no other test writes in
// this namespace, and the observation passes below evaluate at its end (and later) with an injected clock.
const end = Math.floor((Date.now() - 30 * minute) / 30_000) * 30_000;
const start = end - 10 * minute;
const STEP_MS = 15_000;

interface Gpu {
  pod: string;
  gpu: number;
  /** MiB in use at a time offset (ms) from the start of the scenario. */
  usedMiB: (offsetMs: number) => number;
  namespace?: string;
  /** honorLabels off: the workload's labels arrive as exported_*, namespace/pod name the exporter. */
  exported?: boolean;
}

const constant = (mib: number) => () => mib;
const half = 5 * minute;

/** Each scenario model: declared memory and the GPUs its pods held. */
const scenario: { name: string; memory: string; gpus: Gpu[] }[] = [
  {
    name: 'llama-2-7b', // the seed's 75Gi of 80Gi
    memory: '80Gi',
    gpus: [{ pod: 'llama-2-7b-6d4f9c8b7-x2x9z', gpu: 0, usedMiB: constant(75 * GiB) }],
  },
  {
    name: 'mistral-7b',
    memory: '80Gi',
    gpus: [{ pod: 'mistral-7b-5c7d9b6f84-bcdfg', gpu: 1, usedMiB: constant(60 * GiB) }],
  },
  {
    name: 'codellama-34b', // near its limit
    memory: '16Gi',
    gpus: [{ pod: 'codellama-34b-85b6c4f7d-q9w8r', gpu: 2, usedMiB: constant(15 * GiB) }],
  },
  {
    name: 'vicuna-13b', // above its limit
    memory: '16Gi',
    gpus: [{ pod: 'vicuna-13b-7f9d5b8c6-zt2kp', gpu: 3, usedMiB: constant(16589 * MiB) }],
  },
  {
    name: 'phi-3', // 90.6%: between the two rules
    memory: '80Gi',
    gpus: [{ pod: 'phi-3-6b8d7c9f5-mlk4n', gpu: 4, usedMiB: constant(74240 * MiB) }],
  },
  { name: 'gemma-7b', memory: '24Gi', gpus: [] }, // no series at all
  {
    // One pod on two GPUs whose usage swaps halfway: 50Gi at every instant, though each GPU peaks at 30Gi.
    name: 'mixtral-8x7b',
    memory: '96Gi',
    gpus: [
      { pod: 'mixtral-8x7b-9d6c5f7b4-vwx2z', gpu: 5, usedMiB: (t) => (t < half ? 30 : 20) * GiB },
      { pod: 'mixtral-8x7b-9d6c5f7b4-vwx2z', gpu: 6, usedMiB: (t) => (t < half ? 20 : 30) * GiB },
    ],
  },
  {
    // A rollout: the old pod, then the new one; a model's peak is its highest pod, not their sum.
    name: 'qwen-14b',
    memory: '40Gi',
    gpus: [
      { pod: 'qwen-14b-5f6d7c8b9-hjk2l', gpu: 7, usedMiB: (t) => (t < half ? 30 * GiB : 0) },
      { pod: 'qwen-14b-7b8c9d5f6-pqr4s', gpu: 0, usedMiB: (t) => (t < half ? 0 : 34 * GiB) },
    ],
  },
  {
    name: 'falcon-7b', // scraped without honorLabels
    memory: '24Gi',
    gpus: [{ pod: 'falcon-7b-6c7d8f9b5-wnm2x', gpu: 1, usedMiB: constant(20 * GiB), exported: true }],
  },
  {
    name: LONG_NAME, // its pod's generated name was cut to 63 characters
    memory: '80Gi',
    gpus: [{ pod: `${`${LONG_NAME}-6d4f9c8b7-`.slice(0, 58)}x2x9z`, gpu: 2, usedMiB: constant(70 * GiB) }],
  },
];

/** Series no model owns: a notebook pod in the namespace, a same-named model's pod elsewhere, an idle GPU. */
const noise: Gpu[] = [
  { pod: 'jupyter-0', gpu: 3, usedMiB: constant(70 * GiB) },
  {
    pod: 'mistral-7b-5c7d9b6f84-bcdfg',
    gpu: 4,
    usedMiB: constant(79 * GiB),
    namespace: `${namespace}-other`,
  },
];

const expected: Record<string, InferenceModelStatus> = {
  'llama-2-7b': {
    observedPeakMemory: '75Gi',
    utilizationPercent: 93,
    recommendation:
      'Consider increasing memory from 80Gi to 83Gi (observed peak 75Gi, within 10% of the limit: OOM risk)',
  },
  'mistral-7b': {
    observedPeakMemory: '60Gi',
    utilizationPercent: 75,
    recommendation: 'Consider reducing memory from 80Gi to 66Gi (observed peak 60Gi, 25% overprovisioned)',
  },
  'codellama-34b': {
    observedPeakMemory: '15Gi',
    utilizationPercent: 93,
    recommendation:
      'Consider increasing memory from 16Gi to 17Gi (observed peak 15Gi, within 10% of the limit: OOM risk)',
  },
  'vicuna-13b': {
    observedPeakMemory: '16589Mi',
    utilizationPercent: 100,
    recommendation:
      'Consider increasing memory from 16Gi to 18Gi (observed peak 16.2Gi, above the limit: OOM risk)',
  },
  'phi-3': { observedPeakMemory: '74240Mi', utilizationPercent: 90 },
  'gemma-7b': {},
  'mixtral-8x7b': {
    observedPeakMemory: '50Gi',
    utilizationPercent: 52,
    recommendation: 'Consider reducing memory from 96Gi to 55Gi (observed peak 50Gi, 47% overprovisioned)',
  },
  'qwen-14b': {
    observedPeakMemory: '34Gi',
    utilizationPercent: 85,
    recommendation: 'Consider reducing memory from 40Gi to 38Gi (observed peak 34Gi, 15% overprovisioned)',
  },
  'falcon-7b': {
    observedPeakMemory: '20Gi',
    utilizationPercent: 83,
    recommendation: 'Consider reducing memory from 24Gi to 22Gi (observed peak 20Gi, 16% overprovisioned)',
  },
  [LONG_NAME]: {
    observedPeakMemory: '70Gi',
    utilizationPercent: 87,
    recommendation: 'Consider reducing memory from 80Gi to 77Gi (observed peak 70Gi, 12% overprovisioned)',
  },
};

/** DCGM_FI_DEV_FB_USED as dcgm-exporter 3.x writes it in Kubernetes mode, after a Prometheus scrape. */
function dcgmSamples(gpu: Gpu): Sample[] {
  const workload = { namespace: gpu.namespace ?? namespace, pod: gpu.pod, container: 'inference-server' };
  const labels = {
    gpu: String(gpu.gpu),
    UUID: `GPU-${createHash('md5').update(`${gpu.pod}/${gpu.gpu}`).digest('hex').slice(0, 8)}-0000-0000`,
    device: `nvidia${gpu.gpu}`,
    modelName: 'NVIDIA A100-SXM4-80GB',
    Hostname: 'ip-10-0-1-23',
    DCGM_FI_DRIVER_VERSION: '535.183.01',
    instance: '10.0.1.23:9400',
    job: 'dcgm-exporter',
    ...(gpu.exported
      ? {
          exported_namespace: workload.namespace,
          exported_pod: workload.pod,
          exported_container: workload.container,
          namespace: 'gpu-operator',
          pod: 'nvidia-dcgm-exporter-x2x9z',
          container: 'nvidia-dcgm-exporter',
        }
      : workload),
  };
  const samples: Sample[] = [];
  for (let t = start; t <= end; t += STEP_MS) {
    samples.push({ metric: 'DCGM_FI_DEV_FB_USED', labels, value: gpu.usedMiB(t - start), timestampMs: t });
  }
  return samples;
}

const idleGpu: Sample[] = [
  {
    metric: 'DCGM_FI_DEV_FB_USED',
    labels: { gpu: '7', modelName: 'NVIDIA A100-SXM4-80GB', Hostname: 'ip-10-0-1-24', job: 'dcgm-exporter' },
    value: 0,
    timestampMs: end,
  },
];

/** fetch that records every request it forwards. */
function recordingFetch() {
  const requests: { url: string; headers: Record<string, string>; body: string }[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    requests.push({
      url: String(input),
      headers: { ...(init?.headers as Record<string, string>) },
      body: String(init?.body),
    });
    return fetch(input, init);
  };
  return { requests, fetch: wrapped };
}

async function statuses(): Promise<Record<string, InferenceModelStatus>> {
  const list = JSON.parse(await kubectlOk(['get', 'inferencemodels', '-n', namespace, '-o', 'json'])) as {
    items: { metadata: { name: string }; status?: InferenceModelStatus }[];
  };
  return Object.fromEntries(list.items.map((item) => [item.metadata.name, item.status ?? {}]));
}

const withoutTime = (status: InferenceModelStatus): InferenceModelStatus => {
  const { lastObservation: _, ...rest } = status;
  return rest;
};

let cluster: KubernetesCluster;
let log: RecordingLog;
let now = end;
const recorder = recordingFetch();
const peaks = new PrometheusPeakMemory({ url: prometheus, fetch: recorder.fetch });

function ports(): ObservePorts {
  return { cluster, peaks, clock: () => now, log };
}

beforeAll(async () => {
  await installDeploy();
  await kubectlOk(['create', 'namespace', namespace]);
  for (const { name, memory } of scenario) {
    const backendUrl = `http://${name.slice(0, 40)}.${namespace}.svc:8000`;
    const manifest = inferenceModelManifest(name, { memory, backendUrl }, namespace);
    await kubectlOk(['apply', '-f', '-'], JSON.stringify(manifest));
  }
  const samples = [...scenario.flatMap((m) => m.gpus), ...noise].flatMap(dcgmSamples);
  await new RemoteWriteSink(`${prometheus}/api/v1/write`).write([...samples, ...idleGpu]);
  // As the group of the scheduled reconcile pass writes recommendations (deploy/rbac/), never as cluster admin.
  cluster = new KubernetesCluster(endpointFromFile((await identityOf('reconcile')).kubeconfig), {
    namespaces: [namespace],
  });
  log = new RecordingLog();
});

afterAll(async () => {
  await kubectl(['delete', 'namespace', namespace, '--wait=false']);
});

describe('right-sizing on Prometheus and kube-apiserver', () => {
  it('writes peak, utilization and recommendation of every model from one query', async () => {
    now = end;
    const report = await observeModels(ports(), await cluster.listModels(), WINDOW_SECONDS);
    expect(recorder.requests).toHaveLength(1);
    expect(report).toMatchObject({ models: scenario.length, withData: scenario.length - 1, errors: [] });
    expect(report.patched).toHaveLength(scenario.length - 1);

    const written = await statuses();
    expect(Object.fromEntries(Object.entries(written).map(([name, s]) => [name, withoutTime(s)]))).toEqual(
      expected,
    );
    for (const name of Object.keys(expected)) {
      expect(written[name]?.lastObservation).toBe(name === 'gemma-7b' ? undefined : kubernetesTime(now));
    }
    const seen = log.lines
      .filter((l) => l.message === 'Right-sizing recommendation')
      .map((l) => l.fields.model);
    expect(new Set(seen)).toEqual(
      new Set(Object.keys(expected).filter((name) => expected[name]?.recommendation !== undefined)),
    );
  });

  it('writes nothing on the next pass when nothing changed', async () => {
    now = end + 30_000;
    const before = cluster.apiCalls;
    const models = await cluster.listModels();
    const report = await observeModels(ports(), models, WINDOW_SECONDS);
    expect(report.patched).toEqual([]);
    expect(cluster.apiCalls - before).toBe(1); // the list; no patch
    expect((await statuses())['llama-2-7b']?.lastObservation).toBe(kubernetesTime(end));
  });

  it('clears the fields once the window has moved past the data, keeping lastObservation', async () => {
    // The window plus Prometheus' 5 minute lookback after the last sample.
    now = end + WINDOW_SECONDS * 1000 + 6 * minute;
    const report = await observeModels(ports(), await cluster.listModels(), WINDOW_SECONDS);
    expect(report).toMatchObject({ withData: 0, errors: [] });
    expect(report.patched).toHaveLength(scenario.length - 1);
    const written = await statuses();
    for (const name of Object.keys(expected)) {
      expect(written[name]).toEqual(name === 'gemma-7b' ? {} : { lastObservation: kubernetesTime(end) });
    }

    const before = cluster.apiCalls;
    expect((await observeModels(ports(), await cluster.listModels(), WINDOW_SECONDS)).patched).toEqual([]);
    expect(cluster.apiCalls - before).toBe(1);
  });
});

describe('PrometheusPeakMemory', () => {
  const refs = scenario.map(({ name }) => ({ namespace, name }));

  it('reads bytes per model, absent where there is no data', async () => {
    const bytes = await new PrometheusPeakMemory({ url: prometheus }).peakBytes(refs, WINDOW_SECONDS, end);
    expect(bytes.get(`${namespace}/mixtral-8x7b`)).toBe(50 * Gi);
    expect(bytes.get(`${namespace}/vicuna-13b`)).toBe(16589 * 2 ** 20);
    expect(bytes.has(`${namespace}/gemma-7b`)).toBe(false);
    expect(bytes.size).toBe(scenario.length - 1);
    expect(await new PrometheusPeakMemory({ url: prometheus }).peakBytes([], WINDOW_SECONDS, end)).toEqual(
      new Map(),
    );
  });

  it('signs its query with SigV4 for AMP (service aps) when given a region', async () => {
    const signed = recordingFetch();
    const credentials = {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    };
    const amp = new PrometheusPeakMemory({
      url: `${prometheus}/`,
      region: 'us-west-2',
      credentials,
      fetch: signed.fetch,
    });
    const bytes = await amp.peakBytes(refs, WINDOW_SECONDS, end);
    expect(bytes.get(`${namespace}/llama-2-7b`)).toBe(75 * Gi);
    expect(signed.requests).toHaveLength(1);
    const request = signed.requests[0] ?? { url: '', headers: {}, body: '' };
    expect(request.url).toBe(`${prometheus}/api/v1/query`);
    const authorization = request.headers.authorization ?? '';
    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-west-2\/aps\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
    );
    // Checked the way the service checks it: recomputed from what was sent.
    expect(expectedSignature(request, credentials.secretAccessKey)).toBe(
      authorization.split('Signature=')[1],
    );
  });

  it('fails with the status when the endpoint answers an error', async () => {
    const wrong = new PrometheusPeakMemory({ url: `${prometheus}/no-such-prefix` });
    await expect(wrong.peakBytes(refs, WINDOW_SECONDS, end)).rejects.toThrow(/failed: 404/);
  });

  it('gives up after its timeout', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const slow = new PrometheusPeakMemory({ url: `http://127.0.0.1:${port}`, timeoutMs: 200 });
      await expect(slow.peakBytes(refs, WINDOW_SECONDS, end)).rejects.toThrow(/timed out after 200 ms/);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

/** SigV4 from its definition: canonical request, string to sign, derived key. */
function expectedSignature(
  request: { url: string; headers: Record<string, string>; body: string },
  secret: string,
) {
  const url = new URL(request.url);
  const authorization = request.headers.authorization ?? '';
  const [, date, region, service] = /Credential=[^/]+\/(\d{8})\/([^/]+)\/([^/]+)\//.exec(authorization) ?? [];
  const signedHeaders = (/SignedHeaders=([^,]+)/.exec(authorization)?.[1] ?? '').split(';');
  const headers: Record<string, string> = { ...request.headers, host: url.host };
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${(headers[name] ?? '').trim()}\n`).join('');
  const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
  const canonicalRequest = [
    'POST',
    url.pathname,
    '',
    canonicalHeaders,
    signedHeaders.join(';'),
    sha256(request.body),
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', headers['x-amz-date'], scope, sha256(canonicalRequest)].join(
    '\n',
  );
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const key = hmac(
    hmac(hmac(hmac(`AWS4${secret}`, date ?? ''), region ?? ''), service ?? ''),
    'aws4_request',
  );
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}
