import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import fc from 'fast-check';
import { join } from 'node:path';
import { readModels } from '../../../simulation/economics/inputs/models.js';
import { readPools } from '../../../simulation/economics/inputs/pools.js';
import { readTrace } from '../../../simulation/economics/inputs/trace.js';
import { parseOptions } from '../../../simulation/economics/options.js';
import { InputError, type SimulatedPool, type TraceRequest } from '../../../simulation/economics/scenario.js';
import { defaultDay } from '../../../simulation/economics/default-day.js';
import { parseWhatIf } from '../../../simulation/economics/what-if.js';

const Gi = 2 ** 30;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simulate-inputs-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function all(trace: AsyncIterable<TraceRequest>): Promise<TraceRequest[]> {
  const requests: TraceRequest[] = [];
  for await (const request of trace) requests.push(request);
  return requests;
}

async function failure(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
  } catch (error) {
    if (error instanceof InputError) return error.message;
    throw error;
  }
  throw new Error('expected an InputError');
}

const A100 = { name: 'gpu-a100', nodeGroup: 'a100', gpuMemoryPerNode: '320Gi', minNodes: 0, maxNodes: 2 };

describe('--pools', () => {
  it('reads the CDK pools shape with prices, instance-type defaults and boot times', async () => {
    const path = await file(
      'pools.json',
      JSON.stringify([
        { ...A100, pricePerNodeHour: 21.96, nodeBootSeconds: 420 },
        {
          name: 'gpu-l4',
          nodeGroup: 'l4',
          gpuMemoryPerNode: '24Gi',
          minNodes: 0,
          maxNodes: 8,
          instanceType: 'g6.xlarge',
        },
      ]),
    );
    const pools = await readPools(path, 300);
    expect(
      pools.map((p) => [p.config.name, p.config.bytesPerNode / Gi, p.pricePerNodeHour, p.nodeBootSeconds]),
    ).toEqual([
      ['gpu-a100', 320, 21.96, 420],
      ['gpu-l4', 24, 0.805, 300],
    ]);
  });

  it('reads the whole inferenceBudget object of cdk.json, in YAML too', async () => {
    const path = await file(
      'budget.yaml',
      'clusterName: gpu\npools:\n  - {name: gpu-a100, nodeGroup: a100, gpuMemoryPerNode: 320Gi, minNodes: 0, maxNodes: 2, instanceType: p4d.24xlarge}\n',
    );
    expect((await readPools(path))[0]!.pricePerNodeHour).toBe(21.96);
  });

  it.each([
    ['no price', [A100], /pools\[0\] \(gpu-a100\) has no price: set pricePerNodeHour .*p5\.48xlarge/],
    ['an unknown instance type', [{ ...A100, instanceType: 'x9.huge' }], /has no price/],
    [
      'a NODE_POOLS mistake, named as the Lambdas name it',
      [{ ...A100, gpuMemoryPerNode: '320GB', pricePerNodeHour: 1 }],
      /pools\[0\]\.gpuMemoryPerNode: "320GB" is not a GPU memory quantity/,
    ],
    [
      'a typo in a field',
      [{ ...A100, pricePerNodeHr: 1 }],
      /pools\[0\]\.pricePerNodeHr is not a node pool field/,
    ],
    [
      'a bad boot time',
      [{ ...A100, pricePerNodeHour: 1, nodeBootSeconds: -5 }],
      /pools\[0\]\.nodeBootSeconds must be a number of seconds from 0 to 3600, got -5/,
    ],
    ['an empty list', [], /expected a list of pools/],
  ])('refuses %s', async (_case, pools, message) => {
    const path = await file('bad-pools.json', JSON.stringify(pools));
    expect(await failure(() => readPools(path))).toMatch(message);
  });

  it('names the file and line of a JSON syntax error, and a missing file', async () => {
    const path = await file('broken.json', '[\n  {"name": "gpu-a100",\n  "nodeGroup" "a100"}\n]');
    expect(await failure(() => readPools(path))).toMatch(/broken\.json:3: not valid JSON/);
    expect(await failure(() => readPools(join(dir, 'nope.json')))).toMatch(
      /cannot read .*nope\.json: ENOENT/,
    );
  });
});

describe('--models', () => {
  let pools: SimulatedPool[];
  beforeAll(async () => {
    pools = await readPools(
      await file('models-pools.json', JSON.stringify([{ ...A100, pricePerNodeHour: 20 }])),
    );
  });

  const model = (
    name: string,
    spec: Record<string, unknown> = {},
    namespace?: string,
  ) => `apiVersion: inference.eh-ops.io/v1alpha1
kind: InferenceModel
metadata:
  name: ${name}${namespace ? `\n  namespace: ${namespace}` : ''}
spec: ${JSON.stringify({ modelName: `org/${name}`, memory: '80Gi', backendUrl: `http://${name}:8000`, nodeSelector: { 'inference-pool': 'gpu-a100' }, ...spec })}
`;

  async function folder(name: string, files: Record<string, string>): Promise<string> {
    const path = join(dir, name);
    await mkdir(path, { recursive: true });
    for (const [file, text] of Object.entries(files)) await writeFile(join(path, file), text);
    return path;
  }

  it('reads manifests as kubectl applies them: several per file, other kinds left out, the CRD defaults filled', async () => {
    const path = await folder('good', {
      'a.yaml': `${model('llama-3-70b', { cooldownPeriod: '30m' }, 'chat')}---\napiVersion: v1\nkind: Service\nmetadata: {name: llama}\n---\n${model('phi-3')}`,
      'b.yml': model('qwen', { maxReplicas: 0, memory: '40Gi' }, 'research'),
      'notes.txt': 'not a manifest',
    });
    const read = await readModels(path, pools);
    expect(read.skipped).toBe(1);
    expect(
      read.models.map((m) => [m.namespace, m.name, m.spec.memory, m.spec.cooldownPeriod, m.spec.maxReplicas]),
    ).toEqual([
      ['chat', 'llama-3-70b', '80Gi', '30m', 1],
      ['default', 'phi-3', '80Gi', '10m', 1],
      ['research', 'qwen', '40Gi', '10m', 0],
    ]);
  });

  it('passes on the webhook warnings: a model larger than one node', async () => {
    const path = await folder('warn', { 'big.yaml': model('big', { memory: '400Gi' }) });
    const read = await readModels(path, pools);
    expect(read.warnings).toEqual([
      expect.stringMatching(
        /InferenceModel default\/big: Warning: memory 400Gi is more than one node of pool gpu-a100/,
      ),
    ]);
  });

  it.each([
    [
      'a bad memory, as the webhook denies it',
      model('m', { memory: '80GB' }),
      /the admission webhook would deny it:\n {2}spec\.memory: Invalid value: "80GB"/,
    ],
    [
      'a pool the control plane does not define',
      model('m', { nodeSelector: { 'inference-pool': 'gpu-h100' } }),
      /node pool "gpu-h100" .* has no budget/,
    ],
    [
      'a model larger than its pool',
      model('m', { memory: '1000Gi' }),
      /memory 1000Gi is larger than pool gpu-a100's total budget of 640Gi/,
    ],
    ['an unknown spec field', model('m', { cooldown: '5m' }), /unknown field "spec\.cooldown"/],
    [
      'another API version',
      model('m').replace('v1alpha1', 'v1'),
      /apiVersion must be inference\.eh-ops\.io\/v1alpha1, got "inference\.eh-ops\.io\/v1"/,
    ],
    [
      'a YAML syntax error, by line',
      'kind: InferenceModel\nmetadata:\n  name: [oops\n',
      /bad\.yaml:\d+: not valid YAML/,
    ],
    [
      'one model defined twice',
      `${model('m')}---\n${model('m')}`,
      /default\/m is also defined in .*bad\.yaml/,
    ],
  ])('refuses %s, naming the file', async (_case, text, message) => {
    const path = await folder(`bad-${Math.random().toString(36).slice(2)}`, { 'bad.yaml': text });
    expect(await failure(() => readModels(path, pools))).toMatch(message);
  });

  it('refuses a folder with no InferenceModel, and one that does not exist', async () => {
    const empty = await folder('empty', {
      'svc.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: x}\n',
    });
    expect(await failure(() => readModels(empty, pools))).toMatch(/no InferenceModel/);
    expect(await failure(() => readModels(join(dir, 'missing'), pools))).toMatch(
      /cannot read the folder: ENOENT/,
    );
  });
});

describe('--trace', () => {
  const models = new Set(['chat/llama', 'default/phi']);

  it('streams CSV with a header, comments and blank lines, RFC 3339 or Unix seconds', async () => {
    const path = await file(
      'trace.csv',
      'timestamp,namespace,name\n# a comment\n2026-12-01T09:00:00Z,chat,llama\n\n1796115600.5,default,phi\r\n2026-12-01T10:00:01+01:00,chat,llama\n',
    );
    expect(await all(readTrace(path, models))).toEqual([
      { atMs: Date.UTC(2026, 11, 1, 9), namespace: 'chat', name: 'llama' },
      { atMs: 1796115600500, namespace: 'default', name: 'phi' },
      { atMs: Date.UTC(2026, 11, 1, 9, 0, 1), namespace: 'chat', name: 'llama' },
    ]);
  });

  it('streams JSON Lines, told by the extension or by the first line', async () => {
    const lines =
      '{"timestamp":"2026-12-01T09:00:00Z","namespace":"chat","name":"llama"}\n{"timestamp":1796115700,"namespace":"default","name":"phi"}\n';
    for (const name of ['trace.jsonl', 'trace.log']) {
      expect((await all(readTrace(await file(name, lines), models))).map((r) => r.name)).toEqual([
        'llama',
        'phi',
      ]);
    }
  });

  it('reads a large trace line by line', async () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => `${1796115600 + i},chat,llama`).join('\n');
    let count = 0;
    for await (const request of readTrace(await file('big.csv', rows), models))
      count += request.name === 'llama' ? 1 : 0;
    expect(count).toBe(200_000);
  });

  it('reads every RFC 3339 timestamp as Date.parse does, the toISOString form read by hand included', async () => {
    const field = (max: number, width: number) =>
      fc.integer({ min: 0, max }).map((n) => String(n).padStart(width, '0'));
    const stamp = fc
      .tuple(
        field(9999, 4),
        field(13, 2),
        field(32, 2),
        field(24, 2),
        field(60, 2),
        field(60, 2),
        field(999, 3),
        fc.constantFrom('Z', 'z', '+01:00'),
      )
      .map(([y, mo, d, h, mi, s, ms, zone]) => `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}${zone}`);
    await fc.assert(
      fc.asyncProperty(stamp, async (text) => {
        const read = readTrace(await file('stamp.csv', `${text},chat,llama\n`), models);
        if (Number.isNaN(Date.parse(text)))
          expect(await failure(() => all(read))).toMatch(/is not a timestamp/);
        else expect((await all(read))[0]!.atMs).toBe(Date.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    [
      'a row with 2 fields',
      '2026-12-01T09:00:00Z,chat,llama\n2026-12-01T09:00:01Z,chat\n',
      /bad\.csv:2: expected 3 fields \(timestamp,namespace,name\), found 2/,
    ],
    [
      'a timestamp with no zone',
      '2026-12-01T09:00:00,chat,llama\n',
      /bad\.csv:1: "2026-12-01T09:00:00" is not a timestamp: use RFC 3339 with a zone/,
    ],
    [
      'a model not among the models',
      '2026-12-01T09:00:00Z,chat,llama\n2026-12-01T09:00:01Z,chat,mistral\n',
      /bad\.csv:2: no InferenceModel chat\/mistral among the models/,
    ],
    [
      'rows out of time order',
      '2026-12-01T09:00:05Z,chat,llama\n2026-12-01T09:00:01Z,chat,llama\n',
      /bad\.csv:2: 2026-12-01T09:00:01\.000Z is before the line above .* must be in time order/,
    ],
  ])('stops at %s, naming the line', async (_case, text, message) => {
    const path = await file('bad.csv', text);
    expect(await failure(() => all(readTrace(path, models)))).toMatch(message);
  });

  it.each([
    ['not JSON', '{"timestamp":\n', /bad\.jsonl:1: not a JSON object/],
    [
      'a number for a name',
      '{"timestamp":"2026-12-01T09:00:00Z","namespace":"chat","name":7}\n',
      /bad\.jsonl:1: "namespace" and "name" must be strings/,
    ],
    [
      'no timestamp',
      '{"namespace":"chat","name":"llama"}\n',
      /bad\.jsonl:1: "timestamp" must be an RFC 3339 string or Unix seconds/,
    ],
  ])('stops at JSON Lines with %s', async (_case, text, message) => {
    const path = await file('bad.jsonl', text);
    expect(await failure(() => all(readTrace(path, models)))).toMatch(message);
  });

  it('refuses a missing file or a folder', async () => {
    expect(await failure(() => all(readTrace(join(dir, 'none.csv'), models)))).toMatch(
      /--trace .*none\.csv: cannot read it: ENOENT/,
    );
    expect(await failure(() => all(readTrace(dir, models)))).toMatch(/not a file/);
  });
});

describe('flags', () => {
  it.each([
    [['--model', 'x'], /Unknown option '--model'.*\(see --help\)/],
    [['--models', 'm', '--pools', 'p'], /--models, --pools and --trace go together/],
    [
      ['--models', 'm', '--pools', 'p', '--trace', 't', '--seed', '3'],
      /--seed and --requests shape the default day/,
    ],
    [['--requests', '1e3.5'], /--requests must be a whole number from 1 to 100000000, got "1e3.5"/],
    [['--load-rate', '0'], /--load-rate must be a number from 0.001 to 1000, got "0"/],
    [['--interval', ''], /--interval must be a whole number/],
    [['extra'], /Unexpected argument 'extra'/],
  ])('refuses %j', (args, message) => {
    expect(() => parseOptions(args)).toThrow(message);
  });

  it('reads the flags', () => {
    expect(
      parseOptions(['--seed', '7', '--requests', '1000', '--what-if', 'cooldown=5m,10m', '--out', 'here']),
    ).toMatchObject({
      inputs: undefined,
      seed: 7,
      requests: 1000,
      whatIf: 'cooldown=5m,10m',
      out: 'here',
    });
  });

  it.each([
    ['gpu-l4.maxNodes=2..4', 'gpu-l4.maxNodes', ['2', '3', '4']],
    ['gpu-l4.maxNodes=1,8', 'gpu-l4.maxNodes', ['1', '8']],
    ['cooldown=5m,30m', 'cooldown', ['5m', '30m']],
    ['chat/llama-3-70b.cooldown=1h', 'chat/llama-3-70b.cooldown', ['1h']],
  ])('--what-if %s', (text, knob, values) => {
    expect(parseWhatIf(text, defaultDay())).toMatchObject({ knob, values });
  });

  it('--what-if applies the knob to a copy of the scenario', () => {
    const day = defaultDay();
    const varied = parseWhatIf('gpu-l4.maxNodes=3', day).apply(day, '3');
    expect(varied.pools.find((p) => p.config.name === 'gpu-l4')?.config.maxNodes).toBe(3);
    expect(day.pools.find((p) => p.config.name === 'gpu-l4')?.config.maxNodes).toBe(8);
    const cooled = parseWhatIf('chat/llama-3-70b.cooldown=1h', day).apply(day, '1h');
    expect(cooled.models.filter((m) => m.spec.cooldownPeriod === '1h').map((m) => m.name)).toEqual([
      'llama-3-70b',
    ]);
  });

  it.each([
    ['maxNodes=2', /no pool ""/],
    ['gpu-x.maxNodes=2', /no pool "gpu-x" \(pools: gpu-h100, gpu-l40s, gpu-l4\)/],
    ['gpu-l4.maxNodes=4..2', /give whole numbers of nodes/],
    ['gpu-l4.maxNodes=0', /give whole numbers of nodes from 1 to 1000/],
    ['gpu-l4.maxNodes=1..99', /at most 24 values/],
    ['cooldown=5 minutes', /"5 minutes" is not a duration/],
    ['chat/nope.cooldown=5m', /no model "chat\/nope"/],
    ['gpu-l4.minNodes=1', /the knobs are POOL\.maxNodes, cooldown and NAMESPACE\/NAME\.cooldown/],
    ['cooldown', /expected KNOB=VALUES/],
  ])('--what-if %s is refused', (text, message) => {
    expect(() => parseWhatIf(text, defaultDay())).toThrow(message);
  });
});
