import fc from 'fast-check';
import type { PoolSnapshot } from '../../../../lambdas/core/ledger/ledger.js';
import { checkBudget, checkPoolMove, poolOfObject } from '../../../../lambdas/core/validation/pool-budget.js';
import { isHttpUrl } from '../../../../lambdas/core/validation/go-url.js';
import { MAX_WARNING_LENGTH } from '../../../../lambdas/core/validation/field-errors.js';
import {
  inspectInferenceModel,
  isBeingDeleted,
  jsonPointer,
  specUnchanged,
  validateInferenceModel,
  type JsonPatchOperation,
} from '../../../../lambdas/core/validation/inference-model.js';
import { allocation, poolSnapshot } from '../../../support/builders.js';

const Gi = 2 ** 30;

function pool(
  name: string,
  totalGi: number,
  held: Record<string, number> = {},
  perNodeGi = 80,
): PoolSnapshot {
  const allocations = Object.entries(held).map(([holder, gi]) => allocation(holder, gi * Gi));
  return poolSnapshot({ name, totalBytes: totalGi * Gi, bytesPerNode: perNodeGi * Gi }, allocations);
}

/** A complete, valid model (every default already present); `spec` overrides its fields. */
function model(spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) {
  return {
    apiVersion: 'inference.eh-ops.io/v1alpha1',
    kind: 'InferenceModel',
    metadata: { name: 'llama-2-70b', namespace: 'models', ...metadata },
    spec: {
      modelName: 'llama-2-70b',
      memory: '80Gi',
      backendUrl: 'http://vllm.models.svc:8000',
      nodeSelector: { 'inference-pool': 'gpu-a100' },
      cooldownPeriod: '10m',
      maxReplicas: 1,
      dependencies: [],
      containerImage: '',
      resources: {},
      ...spec,
    },
  };
}

function messagesOf(object: unknown): string[] {
  return inspectInferenceModel(object).messages;
}

describe('inspectInferenceModel: the CRD rules', () => {
  it('accepts a complete valid model with no patch, and says what it asks of which pool', () => {
    expect(inspectInferenceModel(model())).toEqual({
      messages: [],
      patch: [],
      demand: {
        namespace: 'models',
        name: 'llama-2-70b',
        pool: 'gpu-a100',
        poolFromDefault: false,
        memory: '80Gi',
        memoryBytes: 80 * Gi,
        maxReplicas: 1,
      },
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    // modelName: required, min length 1
    ['modelName missing', { modelName: undefined }, 'spec.modelName: Required value'],
    ['modelName empty', { modelName: '' }, 'spec.modelName: Invalid value: "": must not be empty'],
    ['modelName a number', { modelName: 7 }, 'spec.modelName: Invalid value: 7: must be a string'],
    // memory: required, pattern, size
    ['memory missing', { memory: undefined }, 'spec.memory: Required value'],
    [
      'memory 80GB',
      { memory: '80GB' },
      'spec.memory: Invalid value: "80GB": must be a whole number of Ki, Mi, Gi or Ti, e.g. 80Gi',
    ],
    ['memory 1.5Gi', { memory: '1.5Gi' }, 'spec.memory: Invalid value: "1.5Gi"'],
    ['memory lowercase unit', { memory: '80gi' }, 'spec.memory: Invalid value: "80gi"'],
    ['memory with a space', { memory: '80Gi ' }, 'spec.memory: Invalid value: "80Gi "'],
    ['memory negative', { memory: '-1Gi' }, 'spec.memory: Invalid value: "-1Gi"'],
    ['memory full-width digits', { memory: '８０Gi' }, 'spec.memory: Invalid value: "８０Gi"'],
    ['memory a number', { memory: 80 }, 'spec.memory: Invalid value: 80'],
    [
      'memory past 2^53 bytes',
      { memory: '99999999999999999Ti' },
      'is too large: no GPU pool holds that much memory',
    ],
    ['memory absurdly long', { memory: `${'9'.repeat(400)}Gi` }, 'is too large'],
    ['memory zero', { memory: '0Gi' }, 'spec.memory: Invalid value: "0Gi": must be more than zero'],
    // backendUrl: required, absolute http(s) URL with a host, at most 2048
    ['backendUrl missing', { backendUrl: undefined }, 'spec.backendUrl: Required value'],
    [
      'backendUrl host:port',
      { backendUrl: 'vllm:8000' },
      'spec.backendUrl: Invalid value: "vllm:8000": must be an absolute http or https URL, e.g. http://vllm.models.svc:8000',
    ],
    ['backendUrl ftp', { backendUrl: 'ftp://vllm' }, 'spec.backendUrl: Invalid value: "ftp://vllm"'],
    [
      'backendUrl relative',
      { backendUrl: '/v1/completions' },
      'spec.backendUrl: Invalid value: "/v1/completions"',
    ],
    ['backendUrl no host', { backendUrl: 'http:///v1' }, 'spec.backendUrl: Invalid value: "http:///v1"'],
    ['backendUrl a number', { backendUrl: 8000 }, 'spec.backendUrl: Invalid value: 8000: must be a string'],
    [
      'backendUrl too long',
      { backendUrl: `http://h/${'a'.repeat(2040)}` },
      'spec.backendUrl: Too long: may not be more than 2048 characters',
    ],
    // nodeSelector: a map of strings; the pool label names a ledger pool
    [
      'nodeSelector a list',
      { nodeSelector: ['gpu-a100'] },
      'spec.nodeSelector: Invalid value: "array": must be a map of node labels to values',
    ],
    [
      'nodeSelector value a number',
      { nodeSelector: { zone: 1 } },
      'spec.nodeSelector[zone]: Invalid value: 1: must be a string',
    ],
    [
      'pool label empty',
      { nodeSelector: { 'inference-pool': '' } },
      'spec.nodeSelector[inference-pool]: Invalid value: "": must name a node pool',
    ],
    [
      'pool label with a space',
      { nodeSelector: { 'inference-pool': 'gpu a100' } },
      'spec.nodeSelector[inference-pool]: Invalid value: "gpu a100"',
    ],
    [
      'pool label too long',
      { nodeSelector: { 'inference-pool': 'p'.repeat(64) } },
      'spec.nodeSelector[inference-pool]: Invalid value',
    ],
    // cooldownPeriod: not empty, h/m/s pattern, parseDuration
    [
      'cooldown empty',
      { cooldownPeriod: '' },
      'spec.cooldownPeriod: Invalid value: "": must be hours, minutes and seconds',
    ],
    ['cooldown Go fraction', { cooldownPeriod: '1.5h' }, 'spec.cooldownPeriod: Invalid value: "1.5h"'],
    ['cooldown milliseconds', { cooldownPeriod: '500ms' }, 'spec.cooldownPeriod: Invalid value: "500ms"'],
    ['cooldown out of order', { cooldownPeriod: '10m1h' }, 'spec.cooldownPeriod: Invalid value: "10m1h"'],
    ['cooldown a number', { cooldownPeriod: 600 }, 'spec.cooldownPeriod: Invalid value: 600'],
    [
      'cooldown longer than a year',
      { cooldownPeriod: '9000h' },
      'spec.cooldownPeriod: Invalid value: "9000h": must be at most a year',
    ],
    // startDeadline: optional, h/m/s pattern, more than zero, at most 24h
    [
      'start deadline empty',
      { startDeadline: '' },
      'spec.startDeadline: Invalid value: "": must be hours, minutes and seconds',
    ],
    ['start deadline in words', { startDeadline: 'soon' }, 'spec.startDeadline: Invalid value: "soon"'],
    ['start deadline Go fraction', { startDeadline: '1.5h' }, 'spec.startDeadline: Invalid value: "1.5h"'],
    ['start deadline a number', { startDeadline: 900 }, 'spec.startDeadline: Invalid value: 900'],
    [
      'start deadline zero',
      { startDeadline: '0m' },
      'spec.startDeadline: Invalid value: "0m": must be more than zero',
    ],
    [
      'start deadline over a day',
      { startDeadline: '24h0m1s' },
      'spec.startDeadline: Invalid value: "24h0m1s": must be at most 24h',
    ],
    [
      'start deadline over a year',
      { startDeadline: '99999999h' },
      'spec.startDeadline: Invalid value: "99999999h": must be hours, minutes and seconds up to 24h',
    ],
    // maxReplicas: integer 0..1
    [
      'maxReplicas 5',
      { maxReplicas: 5 },
      'spec.maxReplicas: Invalid value: 5: must be 0 or 1, as in the original operator',
    ],
    ['maxReplicas -1', { maxReplicas: -1 }, 'spec.maxReplicas: Invalid value: -1'],
    ['maxReplicas 0.5', { maxReplicas: 0.5 }, 'spec.maxReplicas: Invalid value: 0.5'],
    ['maxReplicas a string', { maxReplicas: '1' }, 'spec.maxReplicas: Invalid value: "1"'],
    // dependencies: list of non-empty strings, each a model name, never the model itself
    [
      'dependencies a string',
      { dependencies: 'llama' },
      'spec.dependencies: Invalid value: "llama": must be a list of InferenceModel names',
    ],
    [
      'dependency empty',
      { dependencies: [''] },
      'spec.dependencies[0]: Invalid value: "": must not be empty',
    ],
    [
      'dependency a number',
      { dependencies: ['a', 3] },
      'spec.dependencies[1]: Invalid value: 3: must be a string',
    ],
    [
      'dependency not a name',
      { dependencies: ['Llama 2'] },
      'spec.dependencies[0]: Invalid value: "Llama 2": must be the name of an InferenceModel in the same namespace',
    ],
    [
      'dependency on itself',
      { dependencies: ['mistral-7b', 'llama-2-70b'] },
      'spec.dependencies[1]: Invalid value: "llama-2-70b": a model cannot depend on itself',
    ],
    // containerImage: a string
    [
      'containerImage a list',
      { containerImage: ['vllm'] },
      'spec.containerImage: Invalid value: "array": must be a string',
    ],
    // resources: requests/limits of cpu, memory (quantities) and gpu (whole number)
    [
      'resources a string',
      { resources: '4 cpus' },
      'spec.resources: Invalid value: "4 cpus": must be an object',
    ],
    ['resources unknown part', { resources: { claims: [] } }, 'unknown field "spec.resources.claims"'],
    ['requests a list', { resources: { requests: [] } }, 'spec.resources.requests: Invalid value: "array"'],
    [
      'requests unknown resource',
      { resources: { requests: { 'nvidia.com/gpu': 1 } } },
      'unknown field "spec.resources.requests.nvidia.com/gpu"',
    ],
    [
      'cpu not a quantity',
      { resources: { requests: { cpu: 'four' } } },
      'spec.resources.requests.cpu: Invalid value: "four": must be a Kubernetes quantity',
    ],
    [
      'cpu a fraction number',
      { resources: { requests: { cpu: 0.5 } } },
      'spec.resources.requests.cpu: Invalid value: 0.5',
    ],
    [
      'memory limit not a quantity',
      { resources: { limits: { memory: '20 GB' } } },
      'spec.resources.limits.memory: Invalid value: "20 GB"',
    ],
    [
      'gpu negative',
      { resources: { limits: { gpu: -1 } } },
      'spec.resources.limits.gpu: Invalid value: -1: must be a whole number of GPUs',
    ],
    [
      'gpu fraction string',
      { resources: { limits: { gpu: '0.5' } } },
      'spec.resources.limits.gpu: Invalid value: "0.5"',
    ],
    [
      'gpu a fraction',
      { resources: { requests: { gpu: 1.5 } } },
      'spec.resources.requests.gpu: Invalid value: 1.5',
    ],
    [
      'gpu a boolean',
      { resources: { requests: { gpu: true } } },
      'spec.resources.requests.gpu: Invalid value: true',
    ],
    // unknown spec fields
    ['unknown field', { replicas: 2 }, 'unknown field "spec.replicas"'],
    [
      'prototype key',
      JSON.parse('{"__proto__": {"memory": "1Gi"}}') as Record<string, unknown>,
      'unknown field "spec.__proto__"',
    ],
  ])('refuses %s', (_case, spec, message) => {
    const messages = messagesOf(model(spec));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(message);
  });

  it.each<[string, Record<string, unknown>]>([
    ['memory in Ki', { memory: '16777216Ki' }],
    ['memory in Ti', { memory: '1Ti' }],
    ['cooldown 90s', { cooldownPeriod: '90s' }],
    ['cooldown 1h30m', { cooldownPeriod: '1h30m' }],
    ['cooldown 1h0m0s', { cooldownPeriod: '1h0m0s' }],
    ['cooldown 0s', { cooldownPeriod: '0s' }],
    ['start deadline 15m', { startDeadline: '15m' }],
    ['start deadline 90s', { startDeadline: '90s' }],
    ['start deadline 24h', { startDeadline: '24h' }],
    ['start deadline 23h59m60s', { startDeadline: '23h59m60s' }],
    ['start deadline 86400s', { startDeadline: '86400s' }],
    ['maxReplicas 0', { maxReplicas: 0 }],
    ['https URL with path and query', { backendUrl: 'https://vllm.example.com:8443/v1?x=1' }],
    ['IPv6 backend', { backendUrl: 'http://[fd00::1]:8000' }],
    ['dependencies', { dependencies: ['mistral-7b', 'embeddings.v2'] }],
    ['nodeSelector without the pool label', { nodeSelector: { 'gpu-type': 'a100' } }],
    ['nodeSelector with odd keys', { nodeSelector: { 'a/b~c': 'x', 'inference-pool': 'gpu_a100.v2' } }],
    ['container image', { containerImage: 'registry.example/vllm:0.6' }],
    [
      'resources as the original wrote them',
      {
        resources: {
          requests: { cpu: '4', memory: '24Gi', gpu: '1' },
          limits: { cpu: 8, memory: 25769803776, gpu: 1 },
        },
      },
    ],
    [
      'quantities in every form',
      { resources: { requests: { cpu: '4000m', memory: '1e3' }, limits: { cpu: '+.5', memory: '2E' } } },
    ],
    [
      'null optional fields (the API server prunes them)',
      { dependencies: null, resources: { requests: null } },
    ],
  ])('accepts %s', (_case, spec) => {
    expect(messagesOf(model(spec))).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    ['not an object', 'InferenceModel', 'the object must be an InferenceModel (a JSON object)'],
    ['a list', [model()], 'the object must be an InferenceModel (a JSON object)'],
    ['no spec', { metadata: { name: 'a', namespace: 'b' } }, 'spec: Required value'],
    [
      'spec a list',
      { metadata: { name: 'a', namespace: 'b' }, spec: [] },
      'spec: Invalid value: "array": must be an object',
    ],
    ['kind a number', { ...model(), kind: 1 }, 'kind: Invalid value: 1: must be a string'],
    ['metadata a string', { ...model(), metadata: 'x' }, 'metadata: Invalid value: "x": must be an object'],
    ['no name', model({}, { name: undefined }), 'metadata.name: Required value'],
    [
      'name with capitals',
      model({}, { name: 'Llama-2' }),
      'metadata.name: Invalid value: "Llama-2": must be a Kubernetes object name',
    ],
    ['name with a snowman', model({}, { name: 'llama-☃' }), 'metadata.name: Invalid value: "llama-☃"'],
    ['name with a newline', model({}, { name: 'llama\n2' }), 'metadata.name: Invalid value: "llama?2"'],
    ['name with a path', model({}, { name: '../x' }), 'metadata.name: Invalid value: "../x"'],
    ['name too long', model({}, { name: 'a'.repeat(254) }), 'metadata.name: Invalid value'],
    ['name a number', model({}, { name: 5 }), 'metadata.name: Invalid value: 5: must be a string'],
    ['no namespace', model({}, { namespace: undefined }), 'metadata.namespace: Required value'],
    [
      'namespace with a dot',
      model({}, { namespace: 'team.a' }),
      'metadata.namespace: Invalid value: "team.a": must be a Kubernetes namespace name',
    ],
    [
      'namespace with RTL override',
      model({}, { namespace: 'models\u202e' }),
      'metadata.namespace: Invalid value',
    ],
  ])('refuses an object with %s', (_case, object, message) => {
    const messages = messagesOf(object);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(message);
  });

  it('takes the name and namespace from the AdmissionReview when the object leaves them out', () => {
    const object = model({}, { name: undefined, namespace: undefined });
    const inspection = inspectInferenceModel(object, { namespace: 'team-a', name: 'llama' });
    expect(inspection.messages).toEqual([]);
    expect(inspection.demand).toMatchObject({ namespace: 'team-a', name: 'llama' });
  });

  it('accepts a create by generateName before the name is chosen', () => {
    const inspection = inspectInferenceModel(model({}, { name: undefined, generateName: 'llama-' }));
    expect(inspection.messages).toEqual([]);
    expect(inspection.demand?.name).toBeUndefined();
  });

  it('reports every problem at once, and never more than 20 plus a count', () => {
    expect(
      messagesOf(model({ modelName: '', memory: '80GB', backendUrl: 'x', maxReplicas: 2 })),
    ).toHaveLength(4);
    const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`field${i}`, i]));
    const messages = messagesOf(model(many));
    expect(messages).toHaveLength(21);
    expect(messages[20]).toBe('and 10 more problems');
  });

  it('quotes input cut short and without control characters', () => {
    const [message] = messagesOf(model({ memory: `\u001b[31m${'x'.repeat(100)}` }));
    // eslint-disable-next-line no-control-regex
    expect(message).not.toMatch(/[\u0000-\u001f]/);
    expect(message!.length).toBeLessThan(200);
  });
});

describe('inspectInferenceModel: defaults patch', () => {
  function applyPatch(object: unknown, patch: JsonPatchOperation[]): unknown {
    const copy = structuredClone(object) as Record<string, unknown>;
    for (const op of patch) {
      const segments = op.path
        .split('/')
        .slice(1)
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
      const last = segments.pop()!;
      let target = copy as Record<string, unknown>;
      for (const segment of segments) target = target[segment] as Record<string, unknown>;
      target[last] = op.value;
    }
    return copy;
  }

  it('adds every default the CRD declares to a minimal manifest', () => {
    const minimal = {
      metadata: { name: 'mistral-7b', namespace: 'models' },
      spec: { modelName: 'mistral-7b', memory: '15Gi', backendUrl: 'http://mistral:8000' },
    };
    const { patch, demand } = inspectInferenceModel(minimal);
    expect(patch).toEqual([
      { op: 'add', path: '/spec/nodeSelector', value: { 'inference-pool': 'default' } },
      { op: 'add', path: '/spec/cooldownPeriod', value: '10m' },
      { op: 'add', path: '/spec/maxReplicas', value: 1 },
      { op: 'add', path: '/spec/dependencies', value: [] },
      { op: 'add', path: '/spec/containerImage', value: '' },
      { op: 'add', path: '/spec/resources', value: {} },
    ]);
    expect(demand).toMatchObject({ pool: 'default', poolFromDefault: true, maxReplicas: 1 });
    // Patched, the object needs no more defaults: the patch is complete and idempotent.
    expect(inspectInferenceModel(applyPatch(minimal, patch)).patch).toEqual([]);
  });

  it('replaces null fields, as the API server prunes nulls before defaulting', () => {
    const { patch } = inspectInferenceModel(model({ cooldownPeriod: null, maxReplicas: null }));
    expect(patch.map((p) => p.path)).toEqual(['/spec/cooldownPeriod', '/spec/maxReplicas']);
  });

  it('keeps a nodeSelector without the pool label as written, as the CRD does', () => {
    const { patch, demand } = inspectInferenceModel(model({ nodeSelector: { 'gpu-type': 'a100' } }));
    expect(patch).toEqual([]);
    expect(demand).toMatchObject({ pool: 'default', poolFromDefault: true });
  });

  it('patches nothing it was not asked to (each patch op adds a missing default)', () => {
    fc.assert(
      fc.property(
        fc.subarray([
          'nodeSelector',
          'cooldownPeriod',
          'maxReplicas',
          'dependencies',
          'containerImage',
          'resources',
        ]),
        (absent) => {
          const object = model(Object.fromEntries(absent.map((key) => [key, undefined])));
          const spec = object.spec as Record<string, unknown>;
          for (const key of absent) delete spec[key];
          const { patch } = inspectInferenceModel(object);
          expect(patch.map((p) => p.path).sort()).toEqual(absent.map((key) => `/spec/${key}`).sort());
          expect(inspectInferenceModel(applyPatch(object, patch)).patch).toEqual([]);
        },
      ),
    );
  });
});

describe('jsonPointer', () => {
  it.each<[(string | number)[], string]>([
    [['spec', 'nodeSelector', 'inference-pool'], '/spec/nodeSelector/inference-pool'],
    [['spec', 'nodeSelector', 'kubernetes.io/arch'], '/spec/nodeSelector/kubernetes.io~1arch'],
    [['metadata', 'annotations', 'a~b/c'], '/metadata/annotations/a~0b~1c'],
    [['x', '~1'], '/x/~01'],
    [['spec', 'dependencies', 0], '/spec/dependencies/0'],
    [['', ''], '//'],
  ])('%j is %s', (segments, pointer) => expect(jsonPointer(...segments)).toBe(pointer));

  it('round-trips any key through RFC 6901 unescaping', () => {
    fc.assert(
      fc.property(fc.string(), (key) => {
        const pointer = jsonPointer('spec', key);
        const back = pointer.slice('/spec/'.length).replace(/~1/g, '/').replace(/~0/g, '~');
        expect(back).toBe(key);
        expect(pointer.split('/')).toHaveLength(3);
      }),
    );
  });
});

describe('backendUrl: as the API server checks it (format uri, isURL, url().getScheme/getHostname)', () => {
  it.each([
    'http://vllm.models.svc:8000',
    'https://vllm.example.com/v1/completions?x=1',
    'HTTP://Vllm:8000/', // Go lowercases the scheme
    'http://10.0.0.7:8000',
    'http://[::1]:8000/',
    'http://[fe80::1%25eth0]:8000/',
    'http://[::ffff:10.0.0.1]/',
    'http://user:pass@vllm:8000/',
    'http://vllm:/',
    'http://vllm:99999/', // Go checks only that the port is digits
    'http://ü.example/', // non-ASCII host bytes pass
    'http://%C3%BC.example/',
    'http://vllm/a b', // spaces in the path pass Go's parser
    'http://vllm/#frag',
    'http://vllm?#x',
    'https://vllm?',
  ])('accepts %s', (url) => expect(isHttpUrl(url)).toBe(true));

  it.each([
    '',
    'vllm:8000', // opaque: no host
    'http:vllm',
    '//vllm:8000',
    '/v1',
    'ftp://vllm',
    'file:///etc/passwd',
    'http:///v1',
    'http://:8000/',
    'http://@/',
    'http://vllm:port/',
    'http://a:b:8000/', // Go 1.26: only one colon in an http host
    'http://vllm#frag', // ParseRequestURI keeps # in the host
    'http://vllm?#%zz', // the rule's url() unescapes the fragment
    'http://vllm/%zz',
    'http://%41/', // %-escapes in a host only for non-ASCII bytes
    'http://vl lm/',
    'http://vllm\\x/',
    'http://vllm/\u0000',
    'http://vllm/\u007f',
    'http://[1.2.3.4]/', // brackets only for IPv6
    'http://[::1/',
    'http://[::1]x/',
    'http://a[::1]/',
    'http://[fe80::1%25]/', // empty zone
    'http://[1::2::3]/',
    'http://[12345::1]/',
    'http://[::1.2.3.04]/',
    'http://us#er@vllm/',
    ':foo',
    ' http://vllm',
  ])('refuses %j', (url) => expect(isHttpUrl(url)).toBe(false));

  it('never throws, whatever the string', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (url) => typeof isHttpUrl(url) === 'boolean'));
    fc.assert(fc.property(fc.webUrl(), (url) => typeof isHttpUrl(url) === 'boolean'));
  });

  it('accepts every http(s) URL with a plain host that fast-check writes', () => {
    fc.assert(
      fc.property(fc.webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true }), (url) => {
        const host = new URL(url).hostname;
        fc.pre(host !== '' && !host.startsWith('['));
        expect(isHttpUrl(url)).toBe(true);
      }),
    );
  });
});

describe('checkBudget: the ledger rules', () => {
  const demand = (memory: string, extra: Record<string, unknown> = {}) => {
    const inspection = inspectInferenceModel(model({ memory, ...extra }));
    if (!inspection.demand) throw new Error(inspection.messages.join('; '));
    return inspection.demand;
  };

  it('denies a pool the ledger does not have, naming it and saying what to do', () => {
    expect(checkBudget(demand('80Gi'), undefined).messages).toEqual([
      'node pool "gpu-a100" (spec.nodeSelector.inference-pool) has no budget in the control plane\'s ledger: ' +
        'set spec.nodeSelector.inference-pool to a pool the control plane defines, or define "gpu-a100" first',
    ]);
  });

  it('says so when the pool is the default one', () => {
    const [message] = checkBudget(demand('80Gi', { nodeSelector: undefined }), undefined).messages;
    expect(message).toContain(
      'spec.nodeSelector has no inference-pool, so the model uses pool "default", which has no budget',
    );
  });

  it('denies memory larger than the pool total', () => {
    expect(checkBudget(demand('200Gi'), pool('gpu-a100', 160, {}, 320))).toEqual({
      messages: [
        "memory 200Gi is larger than pool gpu-a100's total budget of 160Gi: lower spec.memory or grow the pool",
      ],
      warnings: [],
    });
  });

  it('allows memory equal to the total, all of it free', () => {
    expect(checkBudget(demand('160Gi'), pool('gpu-a100', 160, {}, 160))).toEqual({
      messages: [],
      warnings: [],
    });
  });

  it('warns, without denying, when less is free now than the model needs', () => {
    const check = checkBudget(demand('48Gi'), pool('gpu-a100', 160, { 'models/codellama-34b': 128 }));
    expect(check.messages).toEqual([]);
    expect(check.warnings).toEqual([
      'only 32Gi of pool gpu-a100 is free now (needs 48Gi); the model will wait (InsufficientMemory) until others scale to zero',
    ]);
  });

  it('counts what the model already holds as room it keeps (an update)', () => {
    const held = pool('gpu-a100', 160, { 'models/llama-2-70b': 48, 'models/other': 112 });
    expect(checkBudget(demand('48Gi'), held).warnings).toEqual([]);
    expect(checkBudget(demand('64Gi'), held).warnings).toEqual([
      expect.stringContaining('only 48Gi of pool gpu-a100 is free now (needs 64Gi)'),
    ]);
  });

  it('does not count another model with a name that merely starts the same', () => {
    const held = pool('gpu-a100', 160, { 'models/llama-2-70b-chat': 150 });
    expect(checkBudget(demand('48Gi'), held).warnings).toHaveLength(1);
  });

  it('warns when one node of the pool is smaller than the model', () => {
    expect(checkBudget(demand('100Gi'), pool('gpu-a100', 160, {}, 80)).warnings).toEqual([
      'memory 100Gi is more than one node of pool gpu-a100 has (80Gi); a model never spans nodes, so it cannot start',
    ]);
  });

  it('keeps every warning within the length Kubernetes asks for', () => {
    const longPool = `p${'x'.repeat(61)}z`;
    const check = checkBudget(
      demand('1023Gi', { nodeSelector: { 'inference-pool': longPool } }),
      pool(longPool, 2048, { 'a/b': 1500 }, 64),
    );
    expect(check.warnings).toHaveLength(2);
    for (const w of check.warnings) expect(w.length).toBeLessThanOrEqual(MAX_WARNING_LENGTH);
  });
});

describe('checkPoolMove: a model moves pool only when it holds nothing in the old one', () => {
  const toDefault = () => {
    const inspection = inspectInferenceModel(model({ nodeSelector: undefined, memory: '16Gi' }));
    if (!inspection.demand) throw new Error(inspection.messages.join('; '));
    return inspection.demand;
  };

  it('denies a move while the model holds budget in its old pool, saying what to do', () => {
    expect(
      checkPoolMove(toDefault(), 'gpu-a100', pool('gpu-a100', 160, { 'models/llama-2-70b': 16 })),
    ).toEqual([
      'spec.nodeSelector.inference-pool cannot change from gpu-a100 to default while models/llama-2-70b ' +
        'holds 16Gi of gpu-a100 (running or starting): scale it to zero first (maxReplicas: 0, or let it ' +
        'idle out), then change the pool',
    ]);
  });

  it('counts MoE replica allocations of the model too', () => {
    const held = pool('gpu-a100', 160, { 'models/llama-2-70b#0': 16, 'models/llama-2-70b#1': 16 });
    expect(checkPoolMove(toDefault(), 'gpu-a100', held)[0]).toContain('holds 32Gi of gpu-a100');
  });

  it.each<[string, string, PoolSnapshot | undefined]>([
    ['nothing is held there', 'gpu-a100', pool('gpu-a100', 160, { 'models/llama-2-70b-chat': 16 })],
    ['the old pool is not in the ledger', 'gpu-h100', undefined],
    ['the pool does not change', 'default', pool('default', 160, { 'models/llama-2-70b': 16 })],
  ])('allows the move when %s', (_case, from, fromPool) => {
    expect(checkPoolMove(toDefault(), from, fromPool)).toEqual([]);
  });
});

describe('poolOfObject', () => {
  it.each<[string, unknown, string | undefined]>([
    ['the label', model({ nodeSelector: { 'inference-pool': 'gpu-a100' } }), 'gpu-a100'],
    ['no label', model({ nodeSelector: { 'gpu-type': 'a100' } }), 'default'],
    ['no nodeSelector', model({ nodeSelector: undefined }), 'default'],
    ['no spec', { metadata: {} }, 'default'],
    ['not an object', null, 'default'],
    ['a label that is no pool name', model({ nodeSelector: { 'inference-pool': 'gpu a100' } }), undefined],
    ['a label that is no string', model({ nodeSelector: { 'inference-pool': 7 } }), undefined],
  ])('%s', (_case, object, expected) => expect(poolOfObject(object)).toBe(expected));
});

describe('validateInferenceModel', () => {
  const pools = [pool('gpu-a100', 160, { 'models/codellama-34b': 128 }), pool('default', 40, {}, 40)];

  it.each<[string, unknown, { allowed: boolean; messages?: string[]; warnings?: number; patch?: number }]>([
    [
      'a valid model that fits',
      model({ memory: '16Gi' }),
      { allowed: true, messages: [], warnings: 0, patch: 0 },
    ],
    ['a model that must wait for room', model({ memory: '48Gi' }), { allowed: true, warnings: 1 }],
    ['a model larger than its pool', model({ memory: '200Gi' }), { allowed: false, warnings: 0 }],
    [
      'a model in an unknown pool',
      model({ nodeSelector: { 'inference-pool': 'gpu-h100' } }),
      { allowed: false },
    ],
    [
      'a minimal model in the default pool',
      {
        metadata: { name: 'm', namespace: 'n' },
        spec: { modelName: 'm', memory: '8Gi', backendUrl: 'http://m' },
      },
      { allowed: true, patch: 6 },
    ],
    ['an invalid model (no ledger rules)', model({ memory: '80GB' }), { allowed: false, warnings: 0 }],
  ])('%s', (_case, object, expected) => {
    const verdict = validateInferenceModel(object, pools);
    expect(verdict.allowed).toBe(expected.allowed);
    expect(verdict.messages.length > 0).toBe(!expected.allowed);
    if (expected.messages) expect(verdict.messages).toEqual(expected.messages);
    if (expected.warnings !== undefined) expect(verdict.warnings).toHaveLength(expected.warnings);
    if (expected.patch !== undefined) expect(verdict.patch).toHaveLength(expected.patch);
  });

  it('never throws and always explains a denial, whatever the object', () => {
    fc.assert(
      fc.property(fc.anything(), (spec) => {
        const verdict = validateInferenceModel({ ...model(), spec }, pools);
        expect(typeof verdict.allowed).toBe('boolean');
        if (!verdict.allowed) expect(verdict.messages.length).toBeGreaterThan(0);
      }),
    );
  });
});

describe('updates', () => {
  it('tells a metadata-only update from a spec change', () => {
    const before = model();
    expect(specUnchanged({ ...before, metadata: { ...before.metadata, finalizers: ['x'] } }, before)).toBe(
      true,
    );
    expect(specUnchanged(model({ memory: '81Gi' }), before)).toBe(false);
    expect(specUnchanged(model({ resources: { limits: { gpu: 1 } } }), before)).toBe(false);
    expect(specUnchanged(before, undefined)).toBe(false);
    expect(specUnchanged(before, 'x')).toBe(false);
  });

  it('does not recurse without end into a deeply nested spec', () => {
    const nested = (): unknown => {
      let deep: unknown = 1;
      for (let i = 0; i < 100_000; i++) deep = [deep];
      return deep;
    };
    // Equal but nested past any sane spec: counted as a change, so the update is checked in full.
    expect(specUnchanged({ spec: nested() }, { spec: nested() })).toBe(false);
  });

  it('knows a model being deleted', () => {
    expect(isBeingDeleted(model({}, { deletionTimestamp: '2026-01-01T00:00:00Z' }))).toBe(true);
    expect(isBeingDeleted(model())).toBe(false);
    expect(isBeingDeleted(null)).toBe(false);
  });
});
