/**
 * Attention-based explanations: what the model attends to, read from the attention patterns
 * `blocks.{l}.attn.hook_pattern` ([batch, head, query, key], post-softmax).
 *
 *  - attention: the raw pattern of one layer (default the last) or the mean over layers
 *    (`layer: 'all'`), one head or the mean over heads (`head: 'all'`, the default).
 *  - attention-rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"):
 *    per layer A'_l = 0.5 mean_h(A_l) + 0.5 I, rows renormalised, then the product
 *    R = A'_L ... A'_2 A'_1 (the first layer applied first), as in samiraabnar/attention_flow.
 *  - attention-x-gradient (Chefer et al. 2021, "Generic Attention-model Explainability",
 *    eq. 5 without the rollout): per layer Ā_l = mean_h (A_l,h ⊙ ∂f/∂A_l,h)^+, the mean over
 *    heads of the positive part of the weights times their gradients; summed over layers (or
 *    only the selected layer). ∂f/∂A_l is a total derivative: it includes the paths through
 *    the later layers' patterns.
 *
 * The token scores are one row of the resulting [query][key] matrix: the row of the query
 * position that produces the target — the pooled token of a classifier (the first real token
 * for BERT-like models, the last for GPT-2-like ones), the target position of a language
 * model (the mean of the rows when a continuation spans several positions).
 *
 * Decision: attention is not attribution (Jain & Wallace 2019); these methods are here to be
 * looked at (the head view in render/html.ts) and compared, and say so in their summaries.
 */
import { grad } from '../autodiff/vjp.js';
import { compile, runProgram } from '../engine/program.js';
import { fail } from '../errors.js';
import { captureTap } from '../graph/taps.js';
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';
import { defaultExecutor } from '../runtime/index.js';
import type { HostTensor } from '../runtime/tensor.js';
import { defineMethod, type MethodContext, type MethodOutput } from './method.js';
import { targetScore } from './scorer.js';
import type { Target } from './types.js';

/** [layer][head][query][key] */
export type Attentions = number[][][][];

const patternHook = (l: number) => `blocks.${l}.attn.hook_pattern`;

/** [1, head, seq, seq] -> [head][query][key] */
function headRows(t: HostTensor, heads: number, seq: number): number[][][] {
  const data = t.data as Float32Array;
  if (data.length !== heads * seq * seq) fail('SHAPE_MISMATCH', `attention pattern has ${data.length} values, expected [1, ${heads}, ${seq}, ${seq}]`);
  return Array.from({ length: heads }, (_, h) =>
    Array.from({ length: seq }, (_, q) => Array.from(data.subarray((h * seq + q) * seq, (h * seq + q + 1) * seq))),
  );
}

/** Every layer's attention pattern for one input: [layer][head][query][key]. */
export async function capturePatterns(model: Model, input: { ids: number[]; typeIds: number[] }, opts: { executor?: Executor; signal?: AbortSignal } = {}): Promise<Attentions> {
  const L = model.config.nLayers;
  const S = input.ids.length;
  const names = Array.from({ length: L }, (_, l) => patternHook(l));
  const { captured } = await model.forward(
    { inputIds: [input.ids], attentionMask: [input.ids.map(() => 1)], tokenTypeIds: [input.typeIds] },
    { capture: names, executor: opts.executor, signal: opts.signal },
  );
  return names.map((n) => headRows(captured[n], model.config.nHeads, S));
}

/**
 * The patterns and the gradient of the target score f with respect to each of them, from one
 * graph (forward and backward in one session run): both [layer][head][query][key].
 */
export async function patternGradients(
  model: Model,
  input: { ids: number[]; typeIds: number[] },
  target: Target,
  opts: { executor?: Executor; signal?: AbortSignal } = {},
): Promise<{ f: number; attentions: Attentions; gradients: Attentions }> {
  const L = model.config.nLayers;
  const H = model.config.nHeads;
  const S = input.ids.length;
  const headPositions = model.head === 'sequence_classification' ? undefined : target.positions;
  const { graph, logits } = model.buildGraph(1, S, { headPositions });
  const taps = Array.from({ length: L }, (_, l) => captureTap(graph, patternHook(l), `pattern:${l}`));
  const f = targetScore(logits, target, model.head); // [1]
  graph.outputs.delete('logits');
  graph.output('f', f);
  grad(f, taps).forEach((d, l) => graph.output(`grad:${l}`, d));
  const feeds = model.feeds({ inputIds: [input.ids], attentionMask: [input.ids.map(() => 1)], tokenTypeIds: [input.typeIds] });
  const out = await runProgram(opts.executor ?? defaultExecutor(), compile(graph), { ...model.weights, ...feeds }, { signal: opts.signal });
  return {
    f: (out.f.data as Float32Array)[0],
    attentions: taps.map((_, l) => headRows(out[`pattern:${l}`], H, S)),
    gradients: taps.map((_, l) => headRows(out[`grad:${l}`], H, S)),
  };
}

// ---- pure matrix helpers ([query][key] matrices) ----

const zeros = (n: number, m = n): number[][] => Array.from({ length: n }, () => new Array<number>(m).fill(0));

function meanOf(ms: number[][][]): number[][] {
  const out = zeros(ms[0].length, ms[0][0].length);
  for (const m of ms) m.forEach((row, i) => row.forEach((v, j) => (out[i][j] += v / ms.length)));
  return out;
}

function matmul(a: number[][], b: number[][]): number[][] {
  const out = zeros(a.length, b[0].length);
  for (let i = 0; i < a.length; i++) for (let k = 0; k < b.length; k++) {
    const aik = a[i][k];
    if (aik !== 0) for (let j = 0; j < b[0].length; j++) out[i][j] += aik * b[k][j];
  }
  return out;
}

/**
 * Attention rollout (Abnar & Zuidema 2020): A'_l = 0.5 mean_h(A_l) + 0.5 I with rows
 * renormalised, and R = A'_{L-1} ··· A'_0. `attn` is [layer][head][query][key]; returns
 * [query][key]. Rows of R sum to 1.
 */
export function rollout(attn: Attentions): number[][] {
  if (attn.length === 0) fail('INVALID_ARGUMENT', 'rollout: no layers');
  const S = attn[0][0].length;
  let r: number[][] | null = null;
  for (const layer of attn) {
    const a = meanOf(layer).map((row, i) => {
      const mixed = row.map((v, j) => 0.5 * v + (i === j ? 0.5 : 0));
      const sum = mixed.reduce((s, v) => s + v, 0);
      return mixed.map((v) => v / sum);
    });
    if (a.length !== S) fail('SHAPE_MISMATCH', `rollout: layers have different sequence lengths (${a.length} and ${S})`);
    r = r === null ? a : matmul(a, r);
  }
  return r!;
}

/**
 * Chefer et al. (2021) head aggregation of attention x gradient: mean over heads of
 * max(0, A ⊙ ∂f/∂A). Inputs [head][query][key]; returns [query][key].
 */
export function positiveHeadMean(attn: number[][][], grads: number[][][]): number[][] {
  return meanOf(attn.map((head, h) => head.map((row, q) => row.map((a, k) => Math.max(0, a * grads[h][q][k])))));
}

// ---- the target query and the layer / head selection ----

/** The query positions whose rows explain the target (see the module doc). */
export function targetQueries(model: Model, target: Target, seq: number): number[] {
  if (model.head === 'sequence_classification') return [model.arch.poolAt === 'first' ? 0 : seq - 1];
  if (target.positions.length === 0) fail('BAD_INPUT', `target ${target.description} has no position to read attention from`);
  return target.positions;
}

/** Mean of the rows `queries` of m [query][key]. */
function rowOf(m: number[][], queries: number[]): number[] {
  const out = new Array<number>(m[0].length).fill(0);
  for (const q of queries) m[q].forEach((v, k) => (out[k] += v / queries.length));
  return out;
}

function selectLayers(ctx: MethodContext, fallback: 'last' | 'all'): { layers: number[]; setting: number | 'all' } {
  const L = ctx.model.config.nLayers;
  const layer = ctx.options.layer ?? (fallback === 'all' ? 'all' : L - 1);
  if (layer === 'all') return { layers: Array.from({ length: L }, (_, l) => l), setting: 'all' };
  const l = layer < 0 ? layer + L : layer;
  if (!Number.isInteger(l) || l < 0 || l >= L) fail('BAD_INPUT', `layer ${layer} does not exist: this model has ${L} layers (0..${L - 1}, or 'all')`);
  return { layers: [l], setting: l };
}

function selectHeads(ctx: MethodContext): { heads: number[]; setting: number | 'all' } {
  const H = ctx.model.config.nHeads;
  const head = ctx.options.head ?? 'all';
  if (head === 'all') return { heads: Array.from({ length: H }, (_, h) => h), setting: 'all' };
  if (!Number.isInteger(head) || head < 0 || head >= H) fail('BAD_INPUT', `head ${head} does not exist: this model has ${H} heads per layer (0..${H - 1}, or 'all')`);
  return { heads: [head], setting: head };
}

const runOpts = (ctx: MethodContext) => ({ executor: ctx.options.executor, signal: ctx.options.signal });

// ---- the methods ----

export const attention = defineMethod({
  name: 'attention',
  summary: 'raw attention weights from the target query position (--layer, default the last, or all = mean; --head, default all = mean); not an attribution',
  gradients: false,
  at: 'embed',
  async run(ctx): Promise<MethodOutput> {
    const attentions = await capturePatterns(ctx.model, ctx.input, runOpts(ctx));
    const { layers, setting: layer } = selectLayers(ctx, 'last');
    const { heads, setting: head } = selectHeads(ctx);
    const matrix = meanOf(layers.map((l) => meanOf(heads.map((h) => attentions[l][h]))));
    const queries = targetQueries(ctx.model, ctx.scorer.target, ctx.input.ids.length);
    return {
      tokenScores: rowOf(matrix, queries),
      settings: { layer, head, aggregation: 'mean', queries },
      extra: { attentions, matrix },
    };
  },
});

export const attentionRollout = defineMethod({
  name: 'attention-rollout',
  summary: 'attention rollout (Abnar & Zuidema 2020): 0.5 mean-over-heads attention + 0.5 identity, multiplied through the layers (--layer: up to that layer)',
  gradients: false,
  at: 'embed',
  async run(ctx): Promise<MethodOutput> {
    if (ctx.options.head !== undefined && ctx.options.head !== 'all') fail('BAD_INPUT', 'attention-rollout averages the heads of every layer; --head is not supported for it');
    const attentions = await capturePatterns(ctx.model, ctx.input, runOpts(ctx));
    // A numeric layer rolls out through layers 0..layer; 'all' and the default use every layer.
    const L = ctx.model.config.nLayers;
    const last = ctx.options.layer === undefined || ctx.options.layer === 'all' ? L - 1 : selectLayers(ctx, 'last').layers[0];
    const r = rollout(attentions.slice(0, last + 1));
    const queries = targetQueries(ctx.model, ctx.scorer.target, ctx.input.ids.length);
    return {
      tokenScores: rowOf(r, queries),
      settings: { layers: `0..${last}`, head: 'all', aggregation: 'mean', residual: 0.5, queries },
      extra: { rollout: r, attentions },
    };
  },
});

export const attentionXGradient = defineMethod({
  name: 'attention-x-gradient',
  summary: 'attention weights times their gradients (Chefer et al. 2021): mean over heads of the positive part, summed over layers (--layer, --head select)',
  gradients: true,
  at: 'embed',
  async run(ctx): Promise<MethodOutput> {
    const { attentions, gradients } = await patternGradients(ctx.model, ctx.input, ctx.scorer.target, runOpts(ctx));
    const { layers, setting: layer } = selectLayers(ctx, 'all');
    const { heads, setting: head } = selectHeads(ctx);
    // Per layer: mean over the selected heads of (A ⊙ ∂f/∂A)^+; then the sum over layers.
    const perLayer = attentions.map((a, l) => positiveHeadMean(heads.map((h) => a[h]), heads.map((h) => gradients[l][h])));
    const S = ctx.input.ids.length;
    const matrix = zeros(S);
    for (const l of layers) perLayer[l].forEach((row, q) => row.forEach((v, k) => (matrix[q][k] += v)));
    const queries = targetQueries(ctx.model, ctx.scorer.target, S);
    return {
      tokenScores: rowOf(matrix, queries),
      settings: { layer, head, aggregation: 'mean over heads of max(0, A * dF/dA), sum over layers', queries },
      extra: { matrix, perLayer, attentions },
    };
  },
});
