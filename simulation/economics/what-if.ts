import { DurationError, parseDuration } from '../../lambdas/core/duration.js';
import { holderOf } from '../../lambdas/core/inference-model.js';
import { InputError, type Scenario } from './scenario.js';

export interface WhatIf {
  readonly knob: string;
  readonly values: readonly string[];
  /** The scenario with the knob at `value`. */
  readonly apply: (scenario: Scenario, value: string) => Scenario;
}

const MAX_POINTS = 24;

/** `--what-if KNOB=VALUES`, checked against the scenario's pools and models. */
export function parseWhatIf(text: string, scenario: Scenario): WhatIf {
  const equals = text.indexOf('=');
  if (equals <= 0)
    throw new InputError(
      `--what-if "${text}": expected KNOB=VALUES, e.g. gpu-a100.maxNodes=1..6 or cooldown=5m,10m,30m`,
    );
  const knob = text.slice(0, equals);
  const values = text.slice(equals + 1);
  const dot = knob.lastIndexOf('.');
  const [target, setting] = dot === -1 ? [undefined, knob] : [knob.slice(0, dot), knob.slice(dot + 1)];
  if (setting === 'maxNodes') return maxNodes(knob, target, values, scenario);
  if (setting === 'cooldown') return cooldown(knob, target, values, scenario);
  throw new InputError(
    `--what-if "${knob}": the knobs are POOL.maxNodes, cooldown and NAMESPACE/NAME.cooldown`,
  );
}

function maxNodes(knob: string, pool: string | undefined, values: string, scenario: Scenario): WhatIf {
  if (!pool || !scenario.pools.some((p) => p.config.name === pool)) {
    throw new InputError(
      `--what-if ${knob}: no pool "${pool ?? ''}" (pools: ${scenario.pools.map((p) => p.config.name).join(', ')})`,
    );
  }
  const range = /^(\d+)\.\.(\d+)$/.exec(values);
  const counts = range
    ? span(Number(range[1]), Number(range[2]))
    : values.split(',').map((v) => (/^\d+$/.test(v) ? Number(v) : NaN));
  if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 1000) || counts.length === 0) {
    throw new InputError(
      `--what-if ${knob}=${values}: give whole numbers of nodes from 1 to 1000, as a list (2,4,8) or a range (1..6)`,
    );
  }
  return {
    knob,
    values: checkedCount(knob, counts.map(String)),
    apply: (s, value) => ({
      ...s,
      pools: s.pools.map((p) =>
        p.config.name === pool
          ? {
              ...p,
              config: {
                ...p.config,
                maxNodes: Number(value),
                minNodes: Math.min(p.config.minNodes, Number(value)),
              },
            }
          : p,
      ),
    }),
  };
}

function cooldown(knob: string, model: string | undefined, values: string, scenario: Scenario): WhatIf {
  if (model !== undefined && !scenario.models.some((m) => holderOf(m) === model)) {
    throw new InputError(`--what-if ${knob}: no model "${model}" (give NAMESPACE/NAME of one of the models)`);
  }
  const durations = values.split(',');
  for (const duration of durations) {
    try {
      parseDuration(duration);
    } catch (error) {
      if (error instanceof DurationError) throw new InputError(`--what-if ${knob}: ${error.message}`);
      throw error;
    }
  }
  return {
    knob,
    values: checkedCount(knob, durations),
    apply: (s, value) => ({
      ...s,
      models: s.models.map((m) =>
        model === undefined || holderOf(m) === model
          ? { ...m, spec: { ...m.spec, cooldownPeriod: value } }
          : m,
      ),
    }),
  };
}

function span(from: number, to: number): number[] {
  if (to < from) return [NaN];
  return Array.from({ length: Math.min(to - from + 1, MAX_POINTS + 1) }, (_, i) => from + i);
}

function checkedCount(knob: string, values: string[]): string[] {
  if (values.length > MAX_POINTS)
    throw new InputError(`--what-if ${knob}: at most ${MAX_POINTS} values (each is a full replay)`);
  return values;
}
