/**
 * Counterfactuals by token substitution: the fewest token swaps that flip a classifier's label
 * or change a language model's top next token.
 *
 * Candidates come from HotFlip (Ebrahimi et al. 2018, "HotFlip: White-Box Adversarial Examples
 * for Text Classification"): the first-order change of the objective J = log p(original
 * prediction) when the token at position i becomes w is
 *
 *   ΔJ(i, w) ≈ (e_w − e_{x_i}) · ∇_{e_i} J
 *
 * for every position and every vocabulary entry at once — one backward pass and one
 * [S, d] × [d, V] product (done inside the graph, against the model's own embedding matrix).
 * The most negative estimates are then verified by real forward passes (one batch), and the
 * substitution that most lowers the margin logit[original] − max_other logit is kept. Greedy,
 * up to `maxEdits` substitutions, each at a new position; special tokens are never inserted
 * or replaced.
 */
import { grad } from '../autodiff/vjp.js';
import { fail } from '../errors.js';
import * as op from '../graph/ops.js';
import { compile, runProgram } from '../engine/program.js';
import { prepareInput } from '../explain/target.js';
import type { ExplainInput, Progress } from '../explain/types.js';
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';
import { defaultExecutor } from '../runtime/index.js';
import { floats, runRows } from './engine.js';
import { rowsOf } from './hooks.js';
import { type CausalTarget, headPositionsFor, metricOutputs, resolveCausalTarget, type TargetOptions } from './target.js';

export interface CounterfactualOptions extends Pick<TargetOptions, 'position'> {
  /** Most substitutions (default 3). */
  maxEdits?: number;
  /** Candidates verified per step (default 20). */
  candidates?: number;
  batchSize?: number;
  executor?: Executor;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface TokenRef {
  id: number;
  token: string;
}

export interface CounterfactualEdit {
  position: number;
  from: TokenRef;
  to: TokenRef;
  /** HotFlip's first-order estimate of the change in log p(original). */
  estimate: number;
  /** logit[original] − max other logit after this edit (negative: flipped). */
  margin: number;
}

export interface Outcome {
  id: number;
  label: string;
  probability: number;
}

export interface CounterfactualResult {
  method: 'hotflip';
  tokens: string[];
  ids: number[];
  /** The prediction explained (class or next token) and where it is read. */
  original: Outcome;
  position: number | null;
  edits: CounterfactualEdit[];
  flipped: boolean;
  /** The prediction after the edits. */
  prediction: Outcome;
  newIds: number[];
  newTokens: string[];
  newText: string | null;
  /** The margin before any edit. */
  margin: number;
}

function softmaxAt(row: Float32Array, id: number): number {
  let m = -Infinity;
  for (const v of row) m = Math.max(m, v);
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  return Math.exp(row[id] - m) / s;
}

function argmax(row: Float32Array, skip = -1): number {
  let b = skip === 0 ? 1 : 0;
  for (let i = 0; i < row.length; i++) if (i !== skip && row[i] > row[b]) b = i;
  return b;
}

/**
 * @example
 * const cf = await counterfactual(model, { text: 'a great movie' }, { maxEdits: 2 });
 * cf.flipped; cf.edits; // e.g. position 2: "great" -> "terrible"
 */
export async function counterfactual(model: Model, input: ExplainInput, opts: CounterfactualOptions = {}): Promise<CounterfactualResult> {
  const maxEdits = opts.maxEdits ?? 3;
  const k = opts.candidates ?? 20;
  if (!(Number.isInteger(maxEdits) && maxEdits >= 1)) fail('BAD_INPUT', `max-edits must be a positive integer, got ${maxEdits}`);
  if (!(Number.isInteger(k) && k >= 1)) fail('BAD_INPUT', `candidates must be a positive integer, got ${k}`);
  const prepared = prepareInput(model, input);
  const S = prepared.ids.length;
  const executor = opts.executor ?? defaultExecutor();
  const first = await model.forward(rowsOf(prepared), { executor, signal: opts.signal });
  const target: CausalTarget = resolveCausalTarget(model, prepared, first.logits, { position: opts.position });
  const orig = target.id;
  const label = (id: number) => (model.head === 'sequence_classification' ? model.config.id2label[id] : model.tokenizer?.decode([id]) ?? String(id));
  const tokenText = (id: number) => model.tokenizer?.idToToken(id) ?? String(id);

  const tok = model.tokenizer;
  const special = new Set<number>();
  for (const t of tok?.specialTokens ?? []) {
    const id = tok!.tokenToId(t);
    if (id !== undefined) special.add(id);
  }
  for (const id of [tok?.padId, tok?.clsId, tok?.sepId, tok?.maskId, tok?.bosId, tok?.eosId, tok?.unkId]) if (id !== null && id !== undefined) special.add(id);
  const editable = new Set(prepared.tokens.map((t, i) => (t.special || special.has(t.id) ? -1 : i)).filter((i) => i >= 0));
  if (editable.size === 0) fail('BAD_INPUT', 'the input has no token that can be substituted (only special tokens)');

  // The HotFlip graph: log p(original) and (∇_e J) E^T, [S, V].
  const { graph: g, logits } = model.buildGraph(1, S, { headPositions: headPositionsFor(target) });
  const lp = metricOutputs(logits, target).lp;
  const embed = g.getTap('hook_embed');
  const table = embed.producer?.op === 'Gather' ? embed.producer.inputs[0] : null;
  if (!table) fail('UNSUPPORTED_MODEL', `${model.arch.family}: hook_embed is not a lookup in an embedding matrix, so HotFlip cannot score substitutions`);
  const [dE] = grad(op.reduceSum(lp), [embed]); // [1, S, D]
  g.outputs.delete('logits');
  g.output('flip', op.gemm(op.reshape(dE, [S, model.config.dModel]), table, null, { transB: true })); // [S, V]
  const hotflip = compile(g);

  const rowOf = (t: Float32Array, r: number, v: number) => t.subarray(r * v, (r + 1) * v);
  const marginOf = (row: Float32Array) => row[orig] - row[argmax(row, orig)];
  let ids = [...prepared.ids];
  let row = Float32Array.from(headRow(first.logits.data as Float32Array, first.logits.dims, target));
  const margin0 = marginOf(row);
  const edits: CounterfactualEdit[] = [];
  const used = new Set<number>();
  for (let step = 0; step < maxEdits && marginOf(row) >= 0; step++) {
    const out = await runProgram(executor, hotflip, { ...model.weights, ...model.feeds(rowsOf({ ids, typeIds: prepared.typeIds })) }, { signal: opts.signal });
    const flip = floats(out.flip);
    const V = out.flip.dims[1];
    // The k most negative estimates over (position, token).
    const best: { i: number; w: number; est: number }[] = [];
    for (const i of editable) {
      if (used.has(i)) continue;
      const base = flip[i * V + ids[i]];
      for (let w = 0; w < V; w++) {
        if (w === ids[i] || special.has(w)) continue;
        const est = flip[i * V + w] - base;
        if (best.length === k && est >= best[k - 1].est) continue;
        let j = best.length === k ? k - 1 : best.length;
        while (j > 0 && best[j - 1].est > est) j--;
        best.splice(j, 0, { i, w, est });
        if (best.length > k) best.pop();
      }
    }
    if (best.length === 0) break;
    const inputs = best.map((c) => ({ ids: ids.map((x, i) => (i === c.i ? c.w : x)), typeIds: prepared.typeIds }));
    const verified = await runRows(model, {
      n: inputs.length,
      inputs,
      headPositions: headPositionsFor(target),
      outputs: (_, l) => ({ row: op.reshape(l, [l.shape[0], l.shape[l.shape.length - 1]]) }),
      batchSize: opts.batchSize,
      executor,
      signal: opts.signal,
      onProgress: (p) => opts.onProgress?.({ ...p, stage: `verify edit ${step + 1}` }),
    });
    const V2 = verified.row.dims[1];
    const rows = floats(verified.row);
    let pick = 0;
    for (let c = 1; c < best.length; c++) if (marginOf(rowOf(rows, c, V2)) < marginOf(rowOf(rows, pick, V2))) pick = c;
    const c = best[pick];
    row = Float32Array.from(rowOf(rows, pick, V2));
    edits.push({ position: c.i, from: { id: ids[c.i], token: tokenText(ids[c.i]) }, to: { id: c.w, token: tokenText(c.w) }, estimate: c.est, margin: marginOf(row) });
    ids = inputs[pick].ids;
    used.add(c.i);
  }
  const top = argmax(row);
  const firstRow = headRow(first.logits.data as Float32Array, first.logits.dims, target);
  return {
    method: 'hotflip',
    tokens: prepared.tokens.map((t) => t.text),
    ids: prepared.ids,
    original: { id: orig, label: label(orig), probability: softmaxAt(firstRow, orig) },
    position: target.position,
    edits,
    flipped: top !== orig,
    prediction: { id: top, label: label(top), probability: softmaxAt(row, top) },
    newIds: ids,
    newTokens: ids.map(tokenText),
    newText: prepared.text !== null && tok ? tok.decode(ids, { skipSpecialTokens: true }) : null,
    margin: margin0,
  };
}

/** The logits a target reads, from a [1, C] or [1, S, V] tensor. */
function headRow(data: Float32Array, dims: number[], t: CausalTarget): Float32Array {
  const v = dims[dims.length - 1];
  return t.position === null ? data.subarray(0, v) : data.subarray(t.position * v, (t.position + 1) * v);
}
