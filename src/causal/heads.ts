/**
 * Head importance by ablation (Michel et al. 2019, "Are Sixteen Heads Really Better than One?";
 * mean ablation as in Wang et al. 2022): knock out one head at a time — its output z (hook_z,
 * before W_O) replaced by zero or by a mean — and measure how the metric changes. The result is
 * a layer × head grid of metric(ablated) − metric(input).
 *
 * Mean ablation replaces a head's z at every position by its mean over the positions of the
 * input, or, with `reference` inputs, over every position of every reference input (a
 * dataset mean, the usual choice for circuits work).
 *
 * All heads of a layer are one batched run (one row per head), started from the input's
 * residual stream before that layer.
 */
import { fail } from '../errors.js';
import { prepareInput } from '../explain/target.js';
import type { ExplainInput, Progress } from '../explain/types.js';
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';
import { floats, runRows } from './engine.js';
import { blockInput, rowsOf } from './hooks.js';
import { type CausalTarget, checkMetricTarget, headPositionsFor, hostMetric, type Metric, metricOutputs, readMetric, resolveCausalTarget, targetRow, type TargetOptions, tokenLabels } from './target.js';

export interface HeadImportanceOptions extends TargetOptions {
  ablation?: 'zero' | 'mean';
  /** Inputs whose mean z a mean ablation uses (default: the input itself, mean over positions). */
  reference?: ExplainInput[];
  metric?: Exclude<Metric, 'normalized'>;
  batchSize?: number;
  executor?: Executor;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface HeadImportanceResult {
  method: 'head-ablation';
  tokens: string[];
  target: CausalTarget;
  metric: Exclude<Metric, 'normalized'>;
  ablation: 'zero' | 'mean';
  /** The metric on the unablated input. */
  base: number;
  rows: string[];
  cols: string[];
  /** [layer][head]: metric with that head ablated − base. */
  values: number[][];
}

/**
 * @example
 * const r = await headImportance(model, { text: 'The capital of France is' }, { target: ' Paris', ablation: 'mean' });
 * r.values[layer][head]; // negative: the head supports the target
 */
export async function headImportance(model: Model, input: ExplainInput, opts: HeadImportanceOptions = {}): Promise<HeadImportanceResult> {
  const ablation = opts.ablation ?? 'zero';
  if (ablation !== 'zero' && ablation !== 'mean') fail('BAD_INPUT', `unknown ablation '${ablation}'`, { hint: 'Ablations: zero, mean' });
  const metric = opts.metric ?? 'logit';
  if (!['logit', 'logit-diff', 'prob'].includes(metric)) fail('BAD_INPUT', `head importance metric must be logit, logit-diff or prob, got '${metric}'`);
  const { nLayers: L, nHeads: H, dHead } = model.config;
  const prepared = prepareInput(model, input);
  const S = prepared.ids.length;
  const zs = Array.from({ length: L }, (_, l) => `blocks.${l}.attn.hook_z`);
  const pre = Array.from({ length: L }, (_, l) => blockInput(l));
  const { logits, captured } = await model.forward(rowsOf(prepared), { capture: [...zs, ...pre], executor: opts.executor, signal: opts.signal });
  const target = resolveCausalTarget(model, prepared, logits, opts);
  checkMetricTarget(metric, target);
  const base = hostMetric(targetRow(logits, target), target, metric);

  // Mean z per layer, [1, 1, H, d_head]: over positions of the input, or of every reference input.
  let means: Float32Array[] | null = null;
  if (ablation === 'mean') {
    const sums = zs.map(() => new Float64Array(H * dHead));
    let count = 0;
    const add = (cache: Record<string, { data: unknown; dims: number[] }>, n: number) => {
      zs.forEach((h, l) => {
        const z = cache[h].data as Float32Array;
        for (let i = 0; i < n; i++) for (let k = 0; k < H * dHead; k++) sums[l][k] += z[i * H * dHead + k];
      });
      count += n;
    };
    if (opts.reference && opts.reference.length > 0) {
      for (const ref of opts.reference) {
        const r = prepareInput(model, ref);
        const out = await model.forward(rowsOf(r), { capture: zs, executor: opts.executor, signal: opts.signal });
        add(out.captured, r.ids.length);
      }
    } else add(captured, S);
    means = sums.map((s) => Float32Array.from(s, (x) => x / count));
  }

  const oneHot = new Float32Array(H * H); // [H rows, 1, H, 1]
  for (let h = 0; h < H; h++) oneHot[h * H + h] = 1;
  const values: number[][] = [];
  for (let l = 0; l < L; l++) {
    const start = captured[pre[l]];
    const out = await runRows(model, {
      n: H,
      inputs: [prepared],
      headPositions: headPositionsFor(target),
      start: { hook: pre[l], value: { data: floats(start), dims: start.dims } },
      edits: [{ hook: zs[l], mask: { data: oneHot, dims: [H, 1, H, 1] }, patch: means ? { data: means[l], dims: [1, 1, H, dHead] } : undefined }],
      outputs: (_, lg) => metricOutputs(lg, target),
      batchSize: opts.batchSize,
      executor: opts.executor,
      signal: opts.signal,
      onProgress: (p) => opts.onProgress?.({ done: l * H + p.done, total: L * H, stage: 'head ablation' }),
    });
    values.push(Array.from(readMetric(out, metric), (m) => m - base));
  }
  return {
    method: 'head-ablation',
    tokens: tokenLabels(prepared),
    target,
    metric,
    ablation,
    base,
    rows: Array.from({ length: L }, (_, l) => `L${l}`),
    cols: Array.from({ length: H }, (_, h) => `H${h}`),
    values,
  };
}
