import { admitModels } from './inputs/models.js';
import { seededRandom } from '../interleaver.js';
import { parsePools } from './inputs/pools.js';
import {
  DEFAULT_NODE_BOOT_SECONDS,
  DEFAULT_RECONCILE_INTERVAL_SECONDS,
  DEFAULT_STARTUP,
} from './inputs/startup.js';
import type { Scenario, TraceRequest } from './scenario.js';

/**
 * The embedded default: a generated working day of a platform team's 20 models in 3 pools. Traffic
 * follows office hours (quiet nights), a few models are busy all day, some see bursts (a batch job, a
 * demo), and a long tail is asked for a few times a day. Seeded: the same seed gives the same trace.
 */
export const DEFAULT_SEED = 20261201;
export const DAY_START_MS = Date.UTC(2026, 11, 1);
const DAY_MINUTES = 24 * 60;

type Traffic = 'busy' | 'office' | 'bursty' | 'tail';

interface DayModel {
  readonly namespace: string;
  readonly name: string;
  readonly modelName: string;
  readonly memory: number; // Gi
  readonly pool: string;
  readonly traffic: Traffic;
  readonly cooldown?: string;
}

/** Requests a minute at the height of the day, per kind of traffic (tail models are counted per day). */
const PEAK_PER_MINUTE: Record<Exclude<Traffic, 'tail'>, number> = { busy: 12, office: 1.5, bursty: 0.2 };
const BURST_PER_MINUTE = 8;
const TAIL_REQUESTS_PER_DAY = [2, 6] as const;
const BURSTS_PER_DAY = [2, 5] as const;
const BURST_MINUTES = [10, 40] as const;

export const DAY_POOLS = [
  // p5.48xlarge: 8 x H100 80GB; g6e.12xlarge: 4 x L40S 48GB; g6.xlarge: 1 x L4 24GB.
  {
    name: 'gpu-h100',
    nodeGroup: 'gpu-h100',
    gpuMemoryPerNode: '640Gi',
    minNodes: 0,
    maxNodes: 2,
    instanceType: 'p5.48xlarge',
    nodeBootSeconds: 360,
  },
  {
    name: 'gpu-l40s',
    nodeGroup: 'gpu-l40s',
    gpuMemoryPerNode: '192Gi',
    minNodes: 0,
    maxNodes: 4,
    instanceType: 'g6e.12xlarge',
    nodeBootSeconds: 300,
  },
  {
    name: 'gpu-l4',
    nodeGroup: 'gpu-l4',
    gpuMemoryPerNode: '24Gi',
    minNodes: 0,
    maxNodes: 8,
    instanceType: 'g6.xlarge',
    nodeBootSeconds: 240,
  },
];

export const DAY_MODELS: readonly DayModel[] = [
  {
    namespace: 'chat',
    name: 'llama-3-70b',
    modelName: 'meta-llama/Meta-Llama-3-70B-Instruct',
    memory: 160,
    pool: 'gpu-h100',
    traffic: 'busy',
  },
  {
    namespace: 'chat',
    name: 'mixtral-8x22b',
    modelName: 'mistralai/Mixtral-8x22B-Instruct-v0.1',
    memory: 300,
    pool: 'gpu-h100',
    traffic: 'office',
  },
  {
    namespace: 'research',
    name: 'qwen-2-72b',
    modelName: 'Qwen/Qwen2-72B-Instruct',
    memory: 160,
    pool: 'gpu-h100',
    traffic: 'bursty',
  },
  {
    namespace: 'research',
    name: 'llama-3-405b-fp8',
    modelName: 'meta-llama/Meta-Llama-3.1-405B-Instruct-FP8',
    memory: 400,
    pool: 'gpu-h100',
    traffic: 'tail',
    cooldown: '5m',
  },
  {
    namespace: 'chat',
    name: 'mistral-7b',
    modelName: 'mistralai/Mistral-7B-Instruct-v0.3',
    memory: 24,
    pool: 'gpu-l40s',
    traffic: 'busy',
  },
  {
    namespace: 'chat',
    name: 'llama-3-8b',
    modelName: 'meta-llama/Meta-Llama-3-8B-Instruct',
    memory: 24,
    pool: 'gpu-l40s',
    traffic: 'bursty',
  },
  {
    namespace: 'code',
    name: 'codellama-34b',
    modelName: 'codellama/CodeLlama-34b-Instruct-hf',
    memory: 80,
    pool: 'gpu-l40s',
    traffic: 'office',
  },
  {
    namespace: 'code',
    name: 'gemma-2-27b',
    modelName: 'google/gemma-2-27b-it',
    memory: 64,
    pool: 'gpu-l40s',
    traffic: 'bursty',
  },
  {
    namespace: 'research',
    name: 'phi-3-medium',
    modelName: 'microsoft/Phi-3-medium-4k-instruct',
    memory: 32,
    pool: 'gpu-l40s',
    traffic: 'tail',
  },
  {
    namespace: 'research',
    name: 'qwen-2-14b',
    modelName: 'Qwen/Qwen1.5-14B-Chat',
    memory: 40,
    pool: 'gpu-l40s',
    traffic: 'tail',
  },
  {
    namespace: 'research',
    name: 'yi-34b',
    modelName: '01-ai/Yi-34B-Chat',
    memory: 80,
    pool: 'gpu-l40s',
    traffic: 'tail',
  },
  {
    namespace: 'search',
    name: 'command-r',
    modelName: 'CohereForAI/c4ai-command-r-v01',
    memory: 96,
    pool: 'gpu-l40s',
    traffic: 'tail',
  },
  {
    namespace: 'search',
    name: 'bge-m3',
    modelName: 'BAAI/bge-m3',
    memory: 8,
    pool: 'gpu-l4',
    traffic: 'busy',
  },
  {
    namespace: 'chat',
    name: 'phi-3-mini',
    modelName: 'microsoft/Phi-3-mini-4k-instruct',
    memory: 16,
    pool: 'gpu-l4',
    traffic: 'office',
  },
  {
    namespace: 'chat',
    name: 'llama-3-2-3b',
    modelName: 'meta-llama/Llama-3.2-3B-Instruct',
    memory: 12,
    pool: 'gpu-l4',
    traffic: 'office',
  },
  {
    namespace: 'speech',
    name: 'whisper-large-v3',
    modelName: 'openai/whisper-large-v3',
    memory: 12,
    pool: 'gpu-l4',
    traffic: 'bursty',
  },
  {
    namespace: 'code',
    name: 'starcoder2-3b',
    modelName: 'bigcode/starcoder2-3b',
    memory: 12,
    pool: 'gpu-l4',
    traffic: 'bursty',
  },
  {
    namespace: 'research',
    name: 'tinyllama-1b',
    modelName: 'TinyLlama/TinyLlama-1.1B-Chat-v1.0',
    memory: 8,
    pool: 'gpu-l4',
    traffic: 'tail',
  },
  {
    namespace: 'research',
    name: 'gemma-2-2b',
    modelName: 'google/gemma-2-2b-it',
    memory: 8,
    pool: 'gpu-l4',
    traffic: 'tail',
  },
  {
    namespace: 'speech',
    name: 'qwen-2-audio',
    modelName: 'Qwen/Qwen2-Audio-7B-Instruct',
    memory: 20,
    pool: 'gpu-l4',
    traffic: 'tail',
  },
];

/** The models as manifests, exactly as a user would `kubectl apply` them. */
export function dayManifests(): Record<string, unknown>[] {
  return DAY_MODELS.map((m) => ({
    apiVersion: 'inference.eh-ops.io/v1alpha1',
    kind: 'InferenceModel',
    metadata: { name: m.name, namespace: m.namespace },
    spec: {
      modelName: m.modelName,
      memory: `${m.memory}Gi`,
      backendUrl: `http://${m.name}.${m.namespace}.svc:8000`,
      nodeSelector: { 'inference-pool': m.pool },
      containerImage: 'vllm/vllm-openai:v0.6.0',
      ...(m.cooldown && { cooldownPeriod: m.cooldown }),
    },
  }));
}

/** The default day as a scenario; `requestsPerDay` scales the traffic (the bench asks for 1,000,000). */
export function defaultDay(options: { seed?: number; requestsPerDay?: number } = {}): Scenario {
  const seed = options.seed ?? DEFAULT_SEED;
  const pools = parsePools(DAY_POOLS, '(the default day)', DEFAULT_NODE_BOOT_SECONDS);
  const { models } = admitModels(
    dayManifests().map((object) => ({ object, file: '(the default day)' })),
    pools,
  );
  const scale = options.requestsPerDay === undefined ? 1 : options.requestsPerDay / expectedRequests(1);
  return {
    description: `the default day (seed ${seed}, about ${Math.round(expectedRequests(scale)).toLocaleString('en-US')} requests over ${DAY_MODELS.length} models in ${pools.length} pools)`,
    models,
    pools,
    startup: DEFAULT_STARTUP,
    reconcileIntervalSeconds: DEFAULT_RECONCILE_INTERVAL_SECONDS,
    window: { startMs: DAY_START_MS, endMs: DAY_START_MS + DAY_MINUTES * 60_000 },
    openTrace: () => dayTrace(seed, scale),
  };
}

/** Share of the peak rate at a minute of the day: quiet nights, a ramp to office hours, an evening fall. */
export function officeHours(minute: number): number {
  const hour = minute / 60;
  const rise = smoothstep(8, 10, hour);
  const fall = 1 - smoothstep(17, 19, hour);
  return 0.004 + 0.996 * Math.min(rise, fall);
}

function smoothstep(from: number, to: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - from) / (to - from)));
  return t * t * (3 - 2 * t);
}

/** The mean number of requests in a day at `scale` (bursts and tails at their mean). */
export function expectedRequests(scale: number): number {
  let total = 0;
  for (const model of DAY_MODELS) {
    if (model.traffic === 'tail') {
      total += (TAIL_REQUESTS_PER_DAY[0] + TAIL_REQUESTS_PER_DAY[1]) / 2;
      continue;
    }
    for (let minute = 0; minute < DAY_MINUTES; minute++)
      total += scale * PEAK_PER_MINUTE[model.traffic] * officeHours(minute);
    if (model.traffic === 'bursty') {
      total +=
        scale *
        BURST_PER_MINUTE *
        ((BURSTS_PER_DAY[0] + BURSTS_PER_DAY[1]) / 2) *
        ((BURST_MINUTES[0] + BURST_MINUTES[1]) / 2);
    }
  }
  return total;
}

/** The trace, minute by minute in time order, generated as it is read. */
export async function* dayTrace(seed: number, scale: number): AsyncGenerator<TraceRequest> {
  const random = seededRandom(seed);
  const plans = DAY_MODELS.map((model) => ({
    model,
    bursts: model.traffic === 'bursty' ? bursts(random) : [],
    tail: model.traffic === 'tail' ? tailMinutes(random) : [],
  }));
  for (let minute = 0; minute < DAY_MINUTES; minute++) {
    const batch: TraceRequest[] = [];
    const minuteStart = DAY_START_MS + minute * 60_000;
    for (const { model, bursts: modelBursts, tail } of plans) {
      let count: number;
      if (model.traffic === 'tail') count = tail.filter((m) => m === minute).length;
      else {
        let rate = scale * PEAK_PER_MINUTE[model.traffic] * officeHours(minute);
        if (modelBursts.some(([from, to]) => minute >= from && minute < to)) rate += scale * BURST_PER_MINUTE;
        count = poisson(random, rate);
      }
      for (let i = 0; i < count; i++) {
        batch.push({
          atMs: minuteStart + Math.floor(random() * 60_000),
          namespace: model.namespace,
          name: model.name,
        });
      }
    }
    batch.sort((a, b) => a.atMs - b.atMs);
    yield* batch;
  }
}

function bursts(random: () => number): [number, number][] {
  const count = between(random, BURSTS_PER_DAY[0], BURSTS_PER_DAY[1]);
  return Array.from({ length: count }, () => {
    const start = between(random, 8 * 60, 19 * 60);
    return [start, start + between(random, BURST_MINUTES[0], BURST_MINUTES[1])];
  });
}

/** A tail model's few requests, at random minutes of office hours. */
function tailMinutes(random: () => number): number[] {
  const count = between(random, TAIL_REQUESTS_PER_DAY[0], TAIL_REQUESTS_PER_DAY[1]);
  return Array.from({ length: count }, () => between(random, 8 * 60, 20 * 60));
}

function between(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

/** Knuth's method for small means, a rounded normal approximation for large ones (the bench's 1M/day). */
function poisson(random: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 30) {
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal));
  }
  const limit = Math.exp(-mean);
  let count = 0;
  let product = random();
  while (product > limit) {
    count++;
    product *= random();
  }
  return count;
}
