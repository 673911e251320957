/**
 * The scorer: the one engine entry point every attribution method uses. It fixes a model,
 * an input and a target, and evaluates the target score f — optionally with its gradient —
 * for batches of values at an attribution point (`at`: the word-embedding output by default,
 * or any hook). Position and token-type embeddings stay those of the input: only the value
 * at `at` varies.
 *
 *  - f(xs) / fGrad(xs): replace the tap by a run-time input [N, ...] (one row per item).
 *  - fMix(drop, baseline): the tap becomes x + (b − x)·m with m [N, S, 1, ...], so token
 *    masks of perturbation methods (occlusion, LIME, SHAP) need no host-side embedding copies.
 *
 * Graphs are built per (batch size, mode) and chunked under `batchSize` by runBatched, with
 * progress events and cancellation between chunks.
 */
import { vjp } from '../autodiff/vjp.js';
import { fail } from '../errors.js';
import type { Graph, Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import { mixTap, replaceTap } from '../graph/taps.js';
import { runBatched } from '../engine/batched.js';
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';
import { defaultExecutor } from '../runtime/index.js';
import type { HostTensor } from '../runtime/tensor.js';
import type { BaselineSpec, Progress, Target, Token } from './types.js';

export interface ScorerOptions {
  at: string;
  executor?: Executor;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** The forward pass of exactly this input, already run with the hook captured (saves one run). */
  precomputed?: { logits: HostTensor; captured: Record<string, HostTensor> };
}

export interface Scorer {
  model: Model;
  tokens: Token[];
  ids: number[];
  typeIds: number[];
  seq: number;
  /** The hook attributions are taken at. */
  hook: string;
  target: Target;
  /** Shape of one item at the hook, without the batch axis (e.g. [seq, d_model]). */
  itemShape: number[];
  itemSize: number;
  /** The input's value at the hook, one item. */
  input: Float32Array;
  /** f at the input. */
  fx: number;
  /** Logits of the plain forward pass (for predictions). */
  logits: HostTensor;
  f(xs: Float32Array, n: number, stage?: string): Promise<Float64Array>;
  fGrad(xs: Float32Array, n: number, stage?: string): Promise<{ f: Float64Array; grad: Float32Array }>;
  /** drop [n, seq]: 1 replaces that token's value by the baseline's, 0 keeps the input's. */
  fMix(drop: Float32Array, n: number, baseline: Float32Array, stage?: string): Promise<Float64Array>;
  baseline(spec: BaselineSpec): Promise<Float32Array>;
}

export function hookFor(at: string): string {
  return at === 'embed' ? 'hook_embed' : at;
}

/** f per row from the logits: the target's score (minus the foil's), summed over target positions. */
export function targetScore(logits: Value, target: Target, head: Model['head']): Value {
  const g = logits.graph;
  const scoreOf = (l: Value) => (target.score === 'logit' ? l : target.score === 'prob' ? op.softmax(l, -1) : op.logSoftmax(l, -1));
  if (head === 'sequence_classification') {
    const s = scoreOf(logits); // [N, C]
    const col = (id: number) => op.reshape(op.slice(s, [id], [id + 1], [1]), [s.shape[0]]);
    const f = col(target.ids[0]);
    return target.foil ? op.sub(f, col(target.foil.id)) : f;
  }
  // Language models: logits [N, P, V] at the target positions; ids[j] is read at position j.
  const s = scoreOf(logits);
  const [n, p, v] = s.shape;
  const pick = (ids: number[]) => {
    const oneHot = new Float32Array(p * v);
    ids.forEach((id, j) => (oneHot[j * v + id] = 1));
    return op.reduceSum(op.mul(s, g.constant(oneHot, [1, p, v], g.uniqueName('target_onehot'))), [1, 2]); // [N]
  };
  const f = pick(target.ids);
  void n;
  return target.foil ? op.sub(f, pick(target.ids.map(() => target.foil!.id))) : f;
}

export async function createScorer(
  model: Model,
  prepared: { tokens: Token[]; ids: number[]; typeIds: number[] },
  target: Target,
  opts: ScorerOptions,
): Promise<Scorer> {
  const executor = opts.executor ?? defaultExecutor();
  const { ids, typeIds, tokens } = prepared;
  const seq = ids.length;
  const hook = hookFor(opts.at);
  if (!model.hookNames.includes(hook)) {
    fail('UNKNOWN_TAP', `${model.arch.family} has no hook '${hook}'`, {
      hint: `Use --at embed or one of: ${model.hookNames.filter((h) => !/^blocks\.[1-9]/.test(h)).join(', ')} (and the same for every layer)`,
    });
  }
  const headPositions = model.head === 'sequence_classification' ? undefined : target.positions;
  const rows = (n: number) => ({
    inputIds: Array.from({ length: n }, () => ids),
    attentionMask: Array.from({ length: n }, () => ids.map(() => 1)),
    tokenTypeIds: Array.from({ length: n }, () => typeIds),
  });
  const plain = opts.precomputed?.captured[hook] ? opts.precomputed : await model.forward(rows(1), { capture: [hook], executor, signal: opts.signal });
  const inputTensor = plain.captured[hook];
  const itemShape = inputTensor.dims.slice(1);
  const itemSize = itemShape.reduce((a, b) => a * b, 1);
  const input = Float32Array.from(inputTensor.data as Float32Array);

  type Mode = 'f' | 'grad' | 'mix';
  const build = (mode: Mode) => (n: number): Graph => {
    const { graph, logits } = model.buildGraph(n, seq, { headPositions });
    if (mode === 'mix') mixTap(graph, hook, { patchName: 'baseline', maskName: 'drop', patchShape: [1, ...itemShape], maskShape: [n, seq, ...itemShape.slice(1).map(() => 1)] });
    const x = mode === 'mix' ? null : replaceTap(graph, hook, 'x');
    const f = targetScore(logits, target, model.head);
    graph.outputs.delete('logits');
    graph.output('f', f);
    if (mode === 'grad') graph.output('grad', vjp([f], [null], [x!])[0]);
    return graph;
  };
  const builders = { f: build('f'), grad: build('grad'), mix: build('mix') };

  const idsFeeds = (n: number): Record<string, HostTensor> => model.feeds(rows(n));
  const run = async (mode: Mode, n: number, batched: Record<string, HostTensor>, shared: Record<string, HostTensor>, stage: string) => {
    const feeds = idsFeeds(n);
    const perRow: Record<string, HostTensor> = { ...batched };
    const common: Record<string, HostTensor> = { ...model.weights, ...shared };
    for (const [k, t] of Object.entries(feeds)) perRow[k] = t;
    return runBatched({
      executor,
      build: builders[mode],
      batched: perRow,
      shared: common,
      maxChunk: opts.batchSize ?? 50,
      signal: opts.signal,
      onProgress: (p) => opts.onProgress?.({ ...p, stage }),
    });
  };
  const asItems = (xs: Float32Array, n: number): HostTensor => {
    if (xs.length !== n * itemSize) fail('INVALID_ARGUMENT', `expected ${n} items of ${itemSize} values, got ${xs.length} values`);
    return { dtype: 'float32', dims: [n, ...itemShape], data: xs };
  };
  const toF64 = (t: HostTensor) => Float64Array.from(t.data as Float32Array);

  const scorer: Scorer = {
    model,
    tokens,
    ids,
    typeIds,
    seq,
    hook,
    target,
    itemShape,
    itemSize,
    input,
    fx: 0,
    logits: plain.logits,
    async f(xs, n, stage = 'forward') {
      return toF64((await run('f', n, { x: asItems(xs, n) }, {}, stage)).f);
    },
    async fGrad(xs, n, stage = 'gradients') {
      const out = await run('grad', n, { x: asItems(xs, n) }, {}, stage);
      return { f: toF64(out.f), grad: out.grad.data as Float32Array };
    },
    async fMix(drop, n, baseline, stage = 'perturbations') {
      const dims = [n, seq, ...itemShape.slice(1).map(() => 1)];
      const out = await run('mix', n, { drop: { dtype: 'float32', dims, data: drop } }, { baseline: { dtype: 'float32', dims: [1, ...itemShape], data: baseline } }, stage);
      return toF64(out.f);
    },
    async baseline(spec) {
      if (spec === 'zero') return new Float32Array(itemSize);
      let baseIds: number[];
      if (spec.startsWith('text:')) {
        const text = spec.slice(5);
        if (!model.tokenizer) fail('BAD_TOKENIZER', 'a text baseline needs the model\'s tokenizer.json');
        baseIds = model.tokenizer.encode(text).ids;
        if (baseIds.length !== seq) {
          fail('BAD_INPUT', `the baseline text has ${baseIds.length} tokens but the input has ${seq}; they must align token by token`, {
            hint: `Input tokens: ${tokens.map((t) => t.text).join(' ')} | baseline tokens: ${model.tokenizer.encode(text).tokens.join(' ')}`,
          });
        }
      } else {
        const id = baselineTokenId(model, spec);
        baseIds = ids.map(() => id);
      }
      const out = await model.forward({ inputIds: [baseIds], attentionMask: [baseIds.map(() => 1)], tokenTypeIds: [typeIds] }, { capture: [hook], executor, signal: opts.signal });
      return Float32Array.from(out.captured[hook].data as Float32Array);
    },
  };
  scorer.fx = (await scorer.f(input, 1, 'f(x)'))[0];
  return scorer;
}

function baselineTokenId(model: Model, spec: BaselineSpec): number {
  const tok = model.tokenizer;
  const named = (what: string, id: number | null | undefined) => {
    if (id === null || id === undefined) {
      fail('BAD_INPUT', `baseline '${what}': this model's tokenizer has no ${what} token`, { hint: 'Use --baseline zero or --baseline token:ID' });
    }
    return id;
  };
  if (spec === 'pad') return named('pad', tok?.padId ?? model.config.padTokenId);
  if (spec === 'mask') return named('mask', tok?.maskId);
  if (spec === 'unk') return named('unk', tok?.unkId);
  const m = /^token:(\d+)$/.exec(spec);
  if (!m) {
    return fail('BAD_INPUT', `unknown baseline '${spec}'`, { hint: 'Baselines: zero, pad, mask, unk, token:ID, text:"..."' });
  }
  const id = Number(m[1]);
  if (id >= model.config.vocabSize) fail('BAD_INPUT', `baseline token ${id} is outside the vocabulary (0..${model.config.vocabSize - 1})`);
  return id;
}
