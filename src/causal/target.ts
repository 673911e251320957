/**
 * What a causal analysis measures: the target (a class, or a token at a position) with an
 * optional foil, read from the logits as a target logit, a logit difference, a probability, or
 * a normalised patching score, both inside a graph (one value per configuration row) and on the
 * host (for the clean and corrupted reference runs).
 *
 * The normalised score is (patched − corrupted) / (clean − corrupted) of the logit difference
 * (or of the target logit without a foil), as in Wang et al. 2022 (IOI) and TransformerLens'
 * patching demo: 0 = no effect of the patch, 1 = the patch restores the clean behaviour.
 */
import { fail } from '../errors.js';
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import { prepareInput, resolveTarget, type PreparedInput } from '../explain/target.js';
import type { ExplainInput } from '../explain/types.js';
import type { Model } from '../models/model.js';
import type { HostTensor } from '../runtime/tensor.js';

export const METRICS = ['logit', 'logit-diff', 'prob', 'normalized'] as const;
export type Metric = (typeof METRICS)[number];

export interface TargetOptions {
  /** Classifiers: class index or label. Language models: token id or single-token string (default: the top prediction). */
  target?: number | string;
  /** Contrastive foil (same kinds as the target). */
  foil?: number | string;
  /** Language models: the position whose prediction is read (default: the last; masked LMs: the mask). */
  position?: number;
}

/** A resolved target. */
export interface CausalTarget {
  /** Class index or token id. */
  id: number;
  label: string;
  foil: { id: number; label: string } | null;
  /** Position of the logits read (language models), null for classifiers. */
  position: number | null;
  description: string;
}

export function checkMetric(m: string): Metric {
  if (!(METRICS as readonly string[]).includes(m)) fail('BAD_INPUT', `unknown metric '${m}'`, { hint: `Metrics: ${METRICS.join(', ')}` });
  return m as Metric;
}

/** Resolve the target against the clean run's logits ([1, C] or [1, S, V]). */
export function resolveCausalTarget(model: Model, input: PreparedInput, logits: HostTensor, spec: TargetOptions): CausalTarget {
  if (model.head === 'base') fail('BAD_INPUT', `${model.className} has no head, so there is no logit to measure`, { hint: 'Load a model with a classification or language-model head' });
  const { target } = resolveTarget(model, input, logits.data as Float32Array, { method: 'causal', target: spec.target, foil: spec.foil, position: spec.position });
  return {
    id: target.ids[0],
    label: target.labels[0],
    foil: target.foil,
    position: model.head === 'sequence_classification' ? null : target.positions[0],
    description: target.description.replace(/ \(logit\)$/, ''),
  };
}

/** Head positions for the graph: only the target's position of a language model. */
export const headPositionsFor = (t: CausalTarget): number[] | undefined => (t.position === null ? undefined : [t.position]);

/**
 * Per-row metric inputs from the head's logits ([n, C], or [n, 1, V] at the target position):
 * `t` target logit, `f` foil logit (when there is a foil), `lp` target log-probability. [n] each.
 */
export function metricOutputs(logits: Value, t: CausalTarget): Record<string, Value> {
  const n = logits.shape[0];
  const v = logits.shape[logits.shape.length - 1];
  const rows = op.reshape(logits, [n, v]);
  const col = (x: Value, id: number) => op.reshape(op.slice(x, [id], [id + 1], [1]), [n]);
  const out: Record<string, Value> = { t: col(rows, t.id), lp: col(op.logSoftmax(rows, -1), t.id) };
  if (t.foil) out.f = col(rows, t.foil.id);
  return out;
}

/** The metric as a graph value [n] (for gradients). `normalized` differentiates its base, the logit difference. */
export function metricValue(logits: Value, t: CausalTarget, metric: Metric): Value {
  const m = metricOutputs(logits, t);
  if (metric === 'prob') return op.exp(m.lp);
  if (metric === 'logit') return m.t;
  if (metric === 'logit-diff') return op.sub(m.t, requireFoil(m.f, metric));
  return m.f ? op.sub(m.t, m.f) : m.t;
}

function requireFoil<T>(f: T | undefined, metric: Metric): T {
  if (f === undefined) fail('BAD_INPUT', `metric '${metric}' needs a foil (the logit difference is target − foil)`, { hint: 'Pass --foil Y' });
  return f;
}

/** Check that a metric can be computed with this target (logit-diff needs a foil). */
export function checkMetricTarget(metric: Metric, t: CausalTarget): void {
  if (metric === 'logit-diff' && !t.foil) requireFoil(undefined, metric);
}

/** The base (un-normalised) metric per row from `metricOutputs` results. */
export function readMetric(out: Record<string, HostTensor>, metric: Metric): Float64Array {
  const t = out.t.data as Float32Array;
  const f = out.f?.data as Float32Array | undefined;
  const lp = out.lp.data as Float32Array;
  return Float64Array.from(t, (x, i) => {
    if (metric === 'prob') return Math.exp(lp[i]);
    if (metric === 'logit') return x;
    return f ? x - f[i] : x;
  });
}

/** The same metric on the host, from one row of logits (the values at the target position). */
export function hostMetric(row: ArrayLike<number>, t: CausalTarget, metric: Metric): number {
  if (metric === 'prob') {
    let m = -Infinity;
    for (let i = 0; i < row.length; i++) m = Math.max(m, row[i]);
    let s = 0;
    for (let i = 0; i < row.length; i++) s += Math.exp(row[i] - m);
    return Math.exp(row[t.id] - m) / s;
  }
  if (metric === 'logit') return row[t.id];
  return t.foil ? row[t.id] - row[t.foil.id] : row[t.id];
}

/** The row of logits ([1, C] or [1, S, V]) a target reads. */
export function targetRow(logits: HostTensor, t: CausalTarget, batchRow = 0): Float32Array {
  const d = logits.data as Float32Array;
  const v = logits.dims[logits.dims.length - 1];
  if (t.position === null) return d.subarray(batchRow * v, (batchRow + 1) * v);
  const s = logits.dims[1];
  const off = (batchRow * s + t.position) * v;
  return d.subarray(off, off + v);
}

/** (x − corrupted) / (clean − corrupted); NaN when clean and corrupted agree. */
export function normalize(x: number, clean: number, corrupted: number): number {
  const d = clean - corrupted;
  return d === 0 ? NaN : (x - corrupted) / d;
}

export interface PreparedPair {
  clean: PreparedInput;
  corrupted: PreparedInput;
}

/**
 * Tokenize a clean/corrupted pair and check that they align token by token (patching copies
 * activations position by position).
 */
export function preparePair(model: Model, clean: ExplainInput, corrupted: ExplainInput): PreparedPair {
  const c = prepareInput(model, clean);
  const k = prepareInput(model, corrupted);
  if (c.ids.length !== k.ids.length) {
    const show = (p: PreparedInput) => p.tokens.map((t) => JSON.stringify(t.text)).join(' ');
    fail('BAD_INPUT', `the clean input has ${c.ids.length} tokens but the corrupted input has ${k.ids.length}; they must align token by token`, {
      hint: `Clean tokens: ${show(c)} | corrupted tokens: ${show(k)}. Change words for words of the same token count`,
    });
  }
  return { clean: c, corrupted: k };
}

/** Display labels of a prepared input's tokens, made unique by position (`3:the`). */
export const tokenLabels = (p: PreparedInput): string[] => p.tokens.map((t) => t.text);
