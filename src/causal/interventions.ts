/**
 * `runWithHooks`: run a model under interventions at its hooks (TransformerLens
 * run_with_hooks), many configurations in one batched run.
 *
 *   patch    the hook takes its value from another input (or a given activation)
 *   ablate   zero, mean (over the input's positions, or over reference inputs), or resample (another input's value)
 *   steer    add coefficient × vector (Turner et al. 2023, activation addition)
 *   scale    multiply by a factor
 *
 * each at chosen positions and, for attention hooks, heads. Every kind is the one edit of
 * engine.ts, x' = x + (p − x)·m + a, with per-configuration tables, so a list of configurations
 * is one graph and one batch.
 */
import { fail } from '../errors.js';
import { prepareInput, type PreparedInput } from '../explain/target.js';
import type { ExplainInput, Progress } from '../explain/types.js';
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';
import type { HostTensor } from '../runtime/tensor.js';
import { type Edit, floats, hookShape, runRows } from './engine.js';
import { checkHeads, checkHooks, checkPositions, hookAxes, rowsOf } from './hooks.js';

/** Where an intervention applies: positions (default all) and, on attention hooks, heads (default all). */
export interface Where {
  positions?: number[];
  heads?: number[];
}

export type Intervention =
  | ({ kind: 'patch'; hook: string; from: ExplainInput | HostTensor } & Where)
  | ({ kind: 'ablate'; hook: string; mode?: 'zero' | 'mean' | 'resample'; reference?: ExplainInput[]; from?: ExplainInput } & Where)
  | ({ kind: 'steer'; hook: string; vector: ArrayLike<number>; coefficient?: number } & Where)
  | ({ kind: 'scale'; hook: string; factor: number } & Where);

export interface HooksOptions {
  /** Hooks to return per configuration (after the interventions). */
  capture?: string[];
  batchSize?: number;
  executor?: Executor;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface HooksResult {
  input: PreparedInput;
  /** The head's output per configuration, [configurations, ...]. */
  logits: HostTensor;
  /** Captured hooks per configuration, [configurations, ...]. */
  captured: Record<string, HostTensor>;
}

const isTensor = (x: unknown): x is HostTensor => typeof x === 'object' && x !== null && 'dims' in x && 'data' in x;

/**
 * Run `configurations` (each a list of interventions, at most one per hook) as one batch.
 *
 * @example
 * const r = await runWithHooks(model, { text: 'I love this movie' }, [
 *   [],                                                                    // the plain run
 *   [{ kind: 'ablate', hook: 'blocks.1.attn.hook_z', heads: [3] }],        // head 1.3 zeroed
 *   [{ kind: 'steer', hook: 'blocks.4.hook_resid_post', vector: v, coefficient: 8 }],
 * ]);
 * r.logits.dims; // [3, ...]
 */
export async function runWithHooks(model: Model, input: ExplainInput, configurations: Intervention[][] | Intervention[], opts: HooksOptions = {}): Promise<HooksResult> {
  const configs: Intervention[][] = configurations.length > 0 && !Array.isArray(configurations[0]) ? [configurations as Intervention[]] : (configurations as Intervention[][]);
  if (configs.length === 0) fail('INVALID_ARGUMENT', 'runWithHooks: no configurations (give [[]] for a plain run)');
  const prepared = prepareInput(model, input);
  const S = prepared.ids.length;
  const n = configs.length;
  const hooks = [...new Set(configs.flat().map((iv) => iv.hook))];
  checkHooks(model, [...hooks, ...(opts.capture ?? [])]);
  const itemOf = (h: string) => hookShape(model, S, h).slice(1);

  // Activations of other inputs, by hook (cached per input).
  const sourceCache = new Map<string, Record<string, HostTensor>>();
  const activation = async (from: ExplainInput, hook: string, aligned: boolean): Promise<Float32Array> => {
    const key = JSON.stringify(from);
    let cache = sourceCache.get(key);
    if (!cache) {
      const p = prepareInput(model, from);
      if (aligned && p.ids.length !== S) {
        const show = (q: PreparedInput) => q.tokens.map((t) => JSON.stringify(t.text)).join(' ');
        fail('BAD_INPUT', `the source input has ${p.ids.length} tokens but the input has ${S}; a patch copies position by position, so they must align`, { hint: `Input tokens: ${show(prepared)} | source tokens: ${show(p)}` });
      }
      cache = (await model.forward(rowsOf(p), { capture: hooks, executor: opts.executor, signal: opts.signal })).captured;
      sourceCache.set(key, cache);
    }
    return floats(cache[hook]);
  };

  /** Mean over the position axis of the input's (or the references') activation, as an item with that axis of size 1. */
  const meanOverPositions = async (hook: string, item: number[], pos: number, refs: ExplainInput[] | null): Promise<Float32Array> => {
    const reduced = item.map((d, i) => (i === pos ? 1 : d));
    const out = new Float64Array(reduced.reduce((x, y) => x * y, 1));
    let count = 0;
    const sources = refs ? await Promise.all(refs.map(async (r) => ({ x: await activation(r, hook, false), len: prepareInput(model, r).ids.length }))) : [{ x: await activation(input, hook, false), len: S }];
    for (const { x, len } of sources) {
      const shape = item.map((d, i) => (i === pos ? len : d));
      const total = shape.reduce((u, v) => u * v, 1);
      if (x.length !== total) fail('SHAPE_MISMATCH', `mean ablation at '${hook}': a reference input's activation has another shape; use references of the same length`);
      for (let e = 0; e < total; e++) out[dropPos(e, shape, pos)] += x[e];
      count += len;
    }
    return Float32Array.from(out, (v) => v / count);
  };

  const edits: Edit[] = [];
  for (const hook of hooks) {
    const item = itemOf(hook);
    const size = item.reduce((a, b) => a * b, 1);
    const ax = hookAxes(model, hook);
    const p = new Float32Array(n * size);
    const m = new Float32Array(n * size);
    const a = new Float32Array(n * size);
    let usesP = false;
    let usesM = false;
    let usesA = false;
    for (let c = 0; c < n; c++) {
      const ivs = configs[c].filter((iv) => iv.hook === hook);
      if (ivs.length > 1) fail('INVALID_ARGUMENT', `configuration ${c} has ${ivs.length} interventions at '${hook}'; give one per hook`);
      const iv = ivs[0];
      if (!iv) continue;
      if (iv.positions) checkPositions(iv.positions, S);
      if (iv.heads) checkHeads(model, hook, iv.heads);
      const region = regionOf(item, ax, iv);
      const off = c * size;
      const setP = (src: ArrayLike<number>, broadcastPos = false) => {
        usesP = true;
        if (!broadcastPos) {
          if (src.length !== size) fail('SHAPE_MISMATCH', `a patch for '${hook}' needs ${size} values ([${item}]), got ${src.length}`);
          for (const e of region) p[off + e] = src[e];
        } else for (const e of region) p[off + e] = src[dropPos(e, item, ax.pos - 1)];
      };
      const setM = (v: number) => {
        usesM = true;
        for (const e of region) m[off + e] = v;
      };
      switch (iv.kind) {
        case 'patch':
          setP(isTensor(iv.from) ? floats(iv.from) : await activation(iv.from, hook, true));
          setM(1);
          break;
        case 'ablate': {
          const mode = iv.mode ?? 'zero';
          if (mode === 'resample') {
            if (!iv.from) fail('BAD_INPUT', `resample ablation at '${hook}' needs an input to resample from ('from')`);
            setP(await activation(iv.from, hook, true));
          } else if (mode === 'mean') {
            setP(await meanOverPositions(hook, item, ax.pos - 1, iv.reference && iv.reference.length > 0 ? iv.reference : null), true);
          } else if (mode !== 'zero') fail('BAD_INPUT', `unknown ablation '${mode}'`, { hint: 'Ablations: zero, mean, resample' });
          setM(1);
          break;
        }
        case 'steer': {
          const d = item[item.length - 1];
          if (iv.vector.length !== d) fail('SHAPE_MISMATCH', `a steering vector for '${hook}' needs ${d} values (its last dimension), got ${iv.vector.length}`);
          const k = iv.coefficient ?? 1;
          usesA = true;
          for (const e of region) a[off + e] = k * iv.vector[e % d];
          break;
        }
        case 'scale':
          setM(1 - iv.factor);
          break;
        default:
          fail('INVALID_ARGUMENT', `unknown intervention kind '${(iv as { kind: string }).kind}'`, { hint: 'Kinds: patch, ablate, steer, scale' });
      }

    }
    const dims = [n, ...item];
    edits.push({ hook, patch: usesP ? { data: p, dims } : undefined, mask: usesM ? { data: m, dims } : undefined, add: usesA ? { data: a, dims } : undefined });
  }

  const capture = opts.capture ?? [];
  const out = await runRows(model, {
    n,
    inputs: [prepared],
    edits,
    outputs: (g, logits) => ({ logits, ...Object.fromEntries(capture.map((h) => [`capture:${h}`, g.getTap(h)])) }),
    batchSize: opts.batchSize,
    executor: opts.executor,
    signal: opts.signal,
    onProgress: opts.onProgress,
  });
  return { input: prepared, logits: out.logits, captured: Object.fromEntries(capture.map((h) => [h, out[`capture:${h}`]])) };
}

/** Flat indices (into an item, no batch axis) of the elements at the chosen positions and heads. */
function regionOf(item: number[], ax: ReturnType<typeof hookAxes>, w: Where): number[] {
  const pos = ax.pos - 1;
  const head = ax.head === null ? -1 : ax.head - 1;
  const positions = w.positions ? new Set(w.positions) : null;
  const heads = w.heads ? new Set(w.heads) : null;
  const size = item.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  const coord = new Array(item.length).fill(0);
  for (let e = 0; e < size; e++) {
    if ((!positions || positions.has(coord[pos])) && (!heads || heads.has(coord[head]))) out.push(e);
    for (let k = item.length - 1; k >= 0; k--) {
      if (++coord[k] < item[k]) break;
      coord[k] = 0;
    }
  }
  return out;
}

/** The flat index of element `e` of `shape` with axis `axis` dropped (size 1). */
function dropPos(e: number, shape: number[], axis: number): number {
  let rest = e;
  let out = 0;
  let mult = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    const c = rest % shape[k];
    rest = Math.floor(rest / shape[k]);
    if (k !== axis) {
      out += c * mult;
      mult *= shape[k];
    }
  }
  return out;
}
