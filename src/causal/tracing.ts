/**
 * Causal tracing (Meng et al. 2022, "Locating and Editing Factual Associations in GPT", ROME;
 * reference code rome/experiments/causal_trace.py): corrupt the subject's token embeddings with
 * Gaussian noise, then restore one clean hidden state at a time and see how much of the
 * prediction comes back.
 *
 *   p_clean         p(target) on the clean input
 *   p_corrupted     mean over N noise samples of p(target) with noise added to the subject's embeddings
 *   p_restored(l,i) the same, with the clean state at (layer l, position i) restored
 *   indirect effect = p_restored(l,i) − p_corrupted
 *
 * States restored: the block output (resid-post) at each (layer, position), and, as ROME's
 * `trace_important_window`, the attention or MLP outputs of a window of `window` layers around
 * l (layers max(0, l − ⌊w/2⌋) .. min(L, l + ⌈w/2⌉) − 1) at position i.
 *
 * Noise: ROME adds ε ~ N(0, ν²) with ν = 3 × the standard deviation of subject-token embeddings
 * over a corpus (`collect_embedding_std` on its 1,209 known facts). glassbox has no corpus at hand,
 * so ν = `noise` (default 3) × the standard deviation of all entries of this input's token
 * embeddings (hook_embed, every position); pass `noiseStd` for an absolute ν (for example one
 * computed over a corpus). Noise is drawn from a seeded generator, one [subject, d_model] draw
 * per sample, shared by every restored configuration, as in ROME.
 */
import { fail } from '../errors.js';
import type { Value } from '../graph/graph.js';
import { prepareInput, type PreparedInput } from '../explain/target.js';
import type { ExplainInput, Progress } from '../explain/types.js';
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';
import type { HostTensor } from '../runtime/tensor.js';
import { gaussian } from '../util/random.js';
import { floats, type Operand, runRows } from './engine.js';
import { blockInput, blockOutput, rowsOf } from './hooks.js';
import { type CausalTarget, headPositionsFor, hostMetric, metricOutputs, resolveCausalTarget, targetRow, type TargetOptions, tokenLabels } from './target.js';

export type TraceKind = 'resid' | 'mlp' | 'attn';

export interface TraceOptions extends Omit<TargetOptions, 'foil'> {
  /** The subject: a substring of the text (its tokens are corrupted), or a token range [start, end). */
  subject: string | [number, number];
  /** Noise samples (default 10, as ROME). */
  samples?: number;
  seed?: number;
  /** Noise standard deviation as a multiple of the input's embedding standard deviation (default 3). */
  noise?: number;
  /** Absolute noise standard deviation (overrides `noise`). */
  noiseStd?: number;
  /** Layers restored together for attn and mlp (default 10, as ROME). */
  window?: number;
  /** What to restore (default all three). */
  kinds?: TraceKind[];
  /** Start each layer's runs from the corrupted residual stream before it (default true). */
  reuse?: boolean;
  batchSize?: number;
  executor?: Executor;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface TraceResult {
  method: 'causal-tracing';
  tokens: string[];
  /** Subject token range [start, end). */
  subject: [number, number];
  target: CausalTarget;
  /** p(target) clean, and mean p(target) under noise. */
  clean: number;
  corrupted: number;
  /** Indirect effects [layer][position] per kind restored. */
  effects: Partial<Record<TraceKind, number[][]>>;
  rows: string[];
  cols: string[];
  settings: { samples: number; seed: number; noiseStd: number; noise: number | null; window: number };
}

/** Token range of the subject: a substring of the text, or a given range. */
export function findSubject(input: PreparedInput, subject: string | [number, number]): [number, number] {
  const S = input.ids.length;
  if (Array.isArray(subject)) {
    const [a, b] = subject;
    if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && a < b && b <= S)) fail('BAD_INPUT', `subject range [${a}, ${b}) is not inside the ${S} tokens`);
    return [a, b];
  }
  if (input.text === null) fail('BAD_INPUT', 'a subject given as text needs a text input', { hint: 'Give the subject as a token range [start, end) with token ids' });
  if (subject.trim() === '') fail('BAD_INPUT', 'the subject is empty');
  let at = input.text.indexOf(subject);
  if (at < 0) at = input.text.toLowerCase().indexOf(subject.toLowerCase());
  if (at < 0) fail('BAD_INPUT', `subject ${JSON.stringify(subject)} not found in the text ${JSON.stringify(input.text)}`, { hint: 'The subject must be a substring of the text' });
  const end = at + subject.length;
  const idx = input.tokens.map((t, i) => (!t.special && t.end > at && t.start < end ? i : -1)).filter((i) => i >= 0);
  if (idx.length === 0) fail('BAD_INPUT', `subject ${JSON.stringify(subject)} covers no token`);
  return [idx[0], idx[idx.length - 1] + 1];
}

/** The layers restored around layer l for a window of w layers (ROME's trace_important_window). */
export function traceWindow(l: number, w: number, L: number): number[] {
  const out: number[] = [];
  for (let k = Math.max(0, l - Math.floor(w / 2)); k < Math.min(L, l + Math.ceil(w / 2)); k++) out.push(k);
  return out;
}

const kindHook = (model: Model, kind: TraceKind, l: number) => (kind === 'resid' ? blockOutput(model, l) : kind === 'mlp' ? `blocks.${l}.hook_mlp_out` : `blocks.${l}.hook_attn_out`);

/**
 * Causal tracing of a language model's prediction over (layer, position).
 *
 * @example
 * const t = await causalTrace(model, { text: 'The Space Needle is in downtown' }, { subject: 'The Space Needle', target: ' Seattle' });
 * t.effects.resid; // [layer][position] indirect effects
 */
export async function causalTrace(model: Model, input: ExplainInput, opts: TraceOptions): Promise<TraceResult> {
  const L = model.config.nLayers;
  const N = opts.samples ?? 10;
  const seed = opts.seed ?? 0;
  const window = opts.window ?? 10;
  const kinds = opts.kinds ?? ['resid', 'mlp', 'attn'];
  if (!(Number.isInteger(N) && N >= 1)) fail('BAD_INPUT', `samples must be a positive integer, got ${N}`);
  if (!(Number.isInteger(window) && window >= 1)) fail('BAD_INPUT', `window must be a positive integer, got ${window}`);
  for (const k of kinds) if (!['resid', 'mlp', 'attn'].includes(k)) fail('BAD_INPUT', `unknown trace kind '${k}'`, { hint: 'Kinds: resid, mlp, attn' });
  const prepared = prepareInput(model, input);
  const subject = findSubject(prepared, opts.subject);
  const S = prepared.ids.length;
  const D = model.config.dModel;
  const reuse = opts.reuse ?? true;

  // Clean run: the states to restore and the embedding statistics.
  const restoreHooks = kinds.flatMap((k) => Array.from({ length: L }, (_, l) => kindHook(model, k, l)));
  const clean = await model.forward(rowsOf(prepared), { capture: [...new Set(['hook_embed', ...restoreHooks])], executor: opts.executor, signal: opts.signal });
  const target = resolveCausalTarget(model, prepared, clean.logits, { target: opts.target, position: opts.position });
  const pClean = hostMetric(targetRow(clean.logits, target), target, 'prob');

  const emb = floats(clean.captured.hook_embed);
  let noiseStd = opts.noiseStd;
  if (noiseStd === undefined) {
    const mean = emb.reduce((s, x) => s + x, 0) / emb.length;
    const std = Math.sqrt(emb.reduce((s, x) => s + (x - mean) ** 2, 0) / emb.length);
    noiseStd = (opts.noise ?? 3) * std;
  }
  if (!(noiseStd >= 0)) fail('BAD_INPUT', `the noise level must be >= 0, got ${noiseStd}`);
  const rand = gaussian(seed);
  const noise = new Float32Array(N * S * D); // [N, S, D], zero outside the subject
  for (let k = 0; k < N; k++) for (let i = subject[0]; i < subject[1]; i++) for (let d = 0; d < D; d++) noise[(k * S + i) * D + d] = noiseStd * rand();
  const noiseOperand = (index?: number[]): Operand => ({ data: noise, dims: [N, S, D], index });

  const common = {
    inputs: [prepared],
    headPositions: headPositionsFor(target),
    batchSize: opts.batchSize,
    executor: opts.executor,
    signal: opts.signal,
  };
  const probs = (out: Record<string, HostTensor>) => Float64Array.from(floats(out.lp), Math.exp);

  // Corrupted runs: p_corrupted and, for reuse, the corrupted residual stream before every layer.
  const pre = Array.from({ length: L }, (_, l) => blockInput(l));
  const corrupted = await runRows(model, {
    ...common,
    n: N,
    edits: [{ hook: 'hook_embed', add: noiseOperand() }],
    outputs: (g, logits) => ({ ...metricOutputs(logits, target), ...(reuse ? Object.fromEntries(pre.map((h) => [h, g.getTap(h)] as [string, Value])) : {}) }),
    stage: 'corrupted runs',
  });
  const pCorrupted = probs(corrupted).reduce((s, p) => s + p, 0) / N;

  // Restored runs: per kind and layer, S × N rows (row r = position i·N + sample k).
  const sampleIdx = Array.from({ length: S * N }, (_, r) => r % N);
  const posIdx = Array.from({ length: S * N }, (_, r) => Math.floor(r / N));
  const oneHot = new Float32Array(S * S); // [S (rows), S, 1]
  for (let i = 0; i < S; i++) oneHot[i * S + i] = 1;
  const total = kinds.length * L * S * N;
  let done = 0;
  const effects: Partial<Record<TraceKind, number[][]>> = {};
  for (const kind of kinds) {
    const grid: number[][] = [];
    for (let l = 0; l < L; l++) {
      const layers = kind === 'resid' ? [l] : traceWindow(l, window, L);
      const first = layers[0];
      const edits = layers.map((k) => {
        const t = clean.captured[kindHook(model, kind, k)];
        return { hook: kindHook(model, kind, k), patch: { data: floats(t), dims: t.dims }, mask: { data: oneHot, dims: [S, S, 1], index: posIdx } };
      });
      const out = await runRows(model, {
        ...common,
        n: S * N,
        start: reuse ? { hook: pre[first], value: { data: floats(corrupted[pre[first]]), dims: [N, S, D], index: sampleIdx } } : undefined,
        edits: reuse ? edits : [{ hook: 'hook_embed', add: noiseOperand(sampleIdx) }, ...edits],
        outputs: (_, logits) => metricOutputs(logits, target),
        onProgress: (p) => opts.onProgress?.({ done: done + p.done, total, stage: 'causal tracing' }),
      });
      done += S * N;
      const p = probs(out);
      grid.push(Array.from({ length: S }, (_, i) => {
        let s = 0;
        for (let k = 0; k < N; k++) s += p[i * N + k];
        return s / N - pCorrupted;
      }));
    }
    effects[kind] = grid;
  }
  return {
    method: 'causal-tracing',
    tokens: tokenLabels(prepared),
    subject,
    target,
    clean: pClean,
    corrupted: pCorrupted,
    effects,
    rows: Array.from({ length: L }, (_, l) => `L${l}`),
    cols: tokenLabels(prepared),
    settings: { samples: N, seed, noiseStd, noise: opts.noiseStd === undefined ? opts.noise ?? 3 : null, window },
  };
}
