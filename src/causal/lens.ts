/**
 * The logit lens (nostalgebraist 2020, "interpreting GPT: the logit lens"): read every layer's
 * residual stream through the model's own output head — the final norm and the unembedding for
 * decoders, the MLM head (BERT's cls.predictions.transform + decoder, DistilBERT's
 * vocab_transform + vocab_layer_norm + vocab_projector) for masked-LM encoders — and see which
 * tokens each layer already predicts.
 *
 * Decision: the head is the model's own code path, not a copy. The forward graph is built with
 * one row per layer and the last block's output is replaced by the stacked residual streams, so
 * everything upstream is pruned and the head runs unchanged; the last row therefore equals the
 * model's logits. The norm is applied afresh to each layer's stream (the usual logit lens), not
 * with the final stream's frozen scale (TransformerLens accumulated_resid(apply_ln=True)).
 *
 * A classifier has no unembedding to read the stream with, so the lens refuses it.
 */
import { fail } from '../errors.js';
import { compile, runProgram } from '../engine/program.js';
import { prepareInput } from '../explain/target.js';
import type { ExplainInput } from '../explain/types.js';
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';
import { defaultExecutor } from '../runtime/index.js';
import { floats, rewriteTap } from './engine.js';
import { blockInput, blockOutput, rowsOf } from './hooks.js';
import { resolveCausalTarget, tokenLabels } from './target.js';

export interface LensOptions {
  /** Tokens to list per (layer, position) (default 5). */
  topK?: number;
  /** A token (id or single-token string) whose rank and probability are given everywhere; default: the model's own top prediction at each position. */
  target?: number | string;
  executor?: Executor;
  signal?: AbortSignal;
}

export interface LensToken {
  id: number;
  token: string;
  prob: number;
  logit: number;
}

export interface LensResult {
  method: 'logit-lens';
  tokens: string[];
  /** Row labels: `embed` (the input of block 0), then `L0`..`L{n-1}` (each block's output). */
  rows: string[];
  /** The hook read for each row. */
  hooks: string[];
  /** [row][position]: the top-k tokens. */
  top: LensToken[][][];
  /** The token tracked at each position, with its probability and rank (0 = top) per [row][position]. */
  targetIds: number[];
  targetProbs: number[][];
  targetRanks: number[][];
}

function checkLensHead(model: Model): void {
  if (model.head === 'causal_lm' || model.head === 'masked_lm') return;
  const what = model.head === 'sequence_classification' ? `${model.className} is a sequence classifier` : `${model.className} is a base model without a head`;
  fail('BAD_INPUT', `the logit lens needs a language-model head: ${what}, so there is no unembedding to read the residual stream with`, {
    hint: 'Load the model with its LM head (a *LMHeadModel / *ForCausalLM / *ForMaskedLM class), or use activation patching or head ablation on the class logits',
  });
}

/**
 * The logit lens over every layer and position.
 *
 * @example
 * const lens = await logitLens(model, { text: 'The Eiffel Tower is in the city of' }, { topK: 3 });
 * lens.top[lens.rows.length - 1][lens.tokens.length - 1][0].token; // the model's own top prediction
 */
export async function logitLens(model: Model, input: ExplainInput, opts: LensOptions = {}): Promise<LensResult> {
  checkLensHead(model);
  const topK = opts.topK ?? 5;
  if (!(Number.isInteger(topK) && topK >= 1)) fail('BAD_INPUT', `top-k must be a positive integer, got ${topK}`);
  const prepared = prepareInput(model, input);
  const L = model.config.nLayers;
  const S = prepared.ids.length;
  const D = model.config.dModel;
  const hooks = [blockInput(0), ...Array.from({ length: L }, (_, l) => blockOutput(model, l))];
  const { logits, captured } = await model.forward(rowsOf(prepared), { capture: [...new Set(hooks)], executor: opts.executor, signal: opts.signal });

  // Stack the streams [L+1, S, D] and run the head on them.
  const stacked = new Float32Array((L + 1) * S * D);
  hooks.forEach((h, r) => stacked.set(floats(captured[h]), r * S * D));
  const { graph: g } = model.buildGraph(L + 1, S);
  const last = g.getTap(blockOutput(model, L - 1));
  rewriteTap(g, last, g.input('lens:resid', 'float32', [L + 1, S, D]));
  const out = await runProgram(opts.executor ?? defaultExecutor(), compile(g), { ...model.weights, ...model.feeds(rowsOf(prepared, L + 1)), 'lens:resid': { dtype: 'float32', dims: [L + 1, S, D], data: stacked } }, { signal: opts.signal });
  const lens = floats(out.logits); // [L+1, S, V]
  const V = out.logits.dims[2];

  const own = floats(logits);
  const argmax = (x: Float32Array) => {
    let b = 0;
    for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
    return b;
  };
  const fixed = opts.target === undefined ? null : resolveCausalTarget(model, prepared, logits, { target: opts.target, position: model.head === 'masked_lm' ? 0 : undefined }).id;
  const targetIds = Array.from({ length: S }, (_, i) => fixed ?? argmax(own.subarray(i * V, (i + 1) * V)));
  const label = (id: number) => model.tokenizer?.decode([id]) ?? String(id);

  const top: LensToken[][][] = [];
  const targetProbs: number[][] = [];
  const targetRanks: number[][] = [];
  for (let r = 0; r <= L; r++) {
    const tRow: LensToken[][] = [];
    const pRow: number[] = [];
    const kRow: number[] = [];
    for (let i = 0; i < S; i++) {
      const x = lens.subarray((r * S + i) * V, (r * S + i + 1) * V);
      let m = -Infinity;
      for (let v = 0; v < V; v++) m = Math.max(m, x[v]);
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(x[v] - m);
      // Top-k by insertion into a short sorted list.
      const best: number[] = [];
      for (let v = 0; v < V; v++) {
        if (best.length === topK && x[v] <= x[best[topK - 1]]) continue;
        let j = best.length === topK ? topK - 1 : best.length;
        while (j > 0 && x[best[j - 1]] < x[v]) j--;
        best.splice(j, 0, v);
        if (best.length > topK) best.pop();
      }
      tRow.push(best.map((id) => ({ id, token: label(id), prob: Math.exp(x[id] - m) / z, logit: x[id] })));
      const t = targetIds[i];
      let rank = 0;
      for (let v = 0; v < V; v++) if (x[v] > x[t]) rank++;
      pRow.push(Math.exp(x[t] - m) / z);
      kRow.push(rank);
    }
    top.push(tRow);
    targetProbs.push(pRow);
    targetRanks.push(kRow);
  }
  return { method: 'logit-lens', tokens: tokenLabels(prepared), rows: ['embed', ...Array.from({ length: L }, (_, l) => `L${l}`)], hooks, top, targetIds, targetProbs, targetRanks };
}
