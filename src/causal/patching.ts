/**
 * Activation patching (Meng et al. 2022; Wang et al. 2022; Heimersheim & Nanda 2024, "How to use
 * and interpret activation patching"): run the corrupted input, copy one activation — a hook at
 * some positions or heads — from the clean run, and measure the metric. One generic function,
 * `activationPatching`, does every sweep; the named variants (`patchResidPre`, `patchHeadOut`,
 * ...) only fix its `component`, as TransformerLens' patching.py specialises
 * `generic_activation_patch`.
 *
 * Attribution patching (Nanda 2023, "Attribution Patching: Activation Patching At Industrial
 * Scale") replaces each patched run by a first-order estimate from one forward and one backward
 * pass on the corrupted input: metric(patched) − metric(corrupted) ≈ Σ (clean − corrupted)·∂metric/∂activation
 * over the patched cell. It is exact when the metric is linear in the patched activation.
 *
 * Cost: a sweep is one batched run per layer (the configurations of a layer are batch rows, the
 * mask of each row selects its position or head), and each layer's runs start from the
 * corrupted residual stream before that layer (`reuse`, on by default), so the layers before
 * the patch are never recomputed. With `reuse: false` the whole sweep is one batched run.
 */
import { vjp } from '../autodiff/vjp.js';
import { fail } from '../errors.js';
import type { Value } from '../graph/graph.js';
import { compile, runProgram } from '../engine/program.js';
import type { ExplainInput, Progress } from '../explain/types.js';
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';
import { defaultExecutor } from '../runtime/index.js';
import type { HostTensor } from '../runtime/tensor.js';
import { type Edit, floats, hookShape, maskDims, runRows } from './engine.js';
import { blockInput, checkComponent, checkHooks, checkLayers, checkPositions, type Component, componentHook, hookAxes, isHeadComponent, layerOf } from './hooks.js';
import {
  type CausalTarget,
  checkMetric,
  checkMetricTarget,
  headPositionsFor,
  hostMetric,
  type Metric,
  metricOutputs,
  metricValue,
  normalize,
  preparePair,
  readMetric,
  resolveCausalTarget,
  targetRow,
  type TargetOptions,
  tokenLabels,
} from './target.js';

export interface PatchingOptions extends TargetOptions {
  /** What to patch per layer (default resid-post). */
  component?: Component;
  /** Patch this hook instead: a name with `{l}` (one row per layer, e.g. `blocks.{l}.hook_mlp_out`) or one hook. */
  hook?: string;
  /** logit (default), logit-diff (needs a foil), prob, or normalized. */
  metric?: Metric;
  /** Layers to sweep (default: all). */
  layers?: number[];
  /** Position cells: each set of positions is patched together (default: every position alone). */
  positionSets?: number[][];
  /** Head components: one cell per (head, position) instead of per head over all positions. */
  perPosition?: boolean;
  /** Start each layer's runs from the corrupted residual stream before that layer (default true). */
  reuse?: boolean;
  /** Skip cells whose clean and corrupted activations are identical: their value is the corrupted metric (default true). */
  skipUnchanged?: boolean;
  batchSize?: number;
  executor?: Executor;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface PatchingResult {
  method: 'activation-patching' | 'attribution-patching';
  /** The component, or the hook when one was given. */
  component: string;
  metric: Metric;
  target: CausalTarget;
  /** Clean and corrupted tokens (they align position by position). */
  tokens: string[];
  corruptedTokens: string[];
  /** Row labels (layers, or layer·head) and column labels (tokens, or heads). */
  rows: string[];
  cols: string[];
  /** The hook of each row. */
  hooks: string[];
  /** [row][col]: the metric of the corrupted run with that cell patched from the clean run (attribution patching: its estimate). */
  values: number[][];
  /** The base metric of the clean and corrupted runs (for `normalized`: the logit difference, or the target logit without a foil). */
  clean: number;
  corrupted: number;
  /** Attribution patching with `compare`: real patching values and their Pearson correlation with the estimates. */
  patched?: number[][];
  correlation?: number;
}

/** One row of a sweep: a hook, and its cells as sets of flat indices into a mask of `dims`. */
interface SweepRow {
  label: string;
  hook: string;
  layer: number | null;
  dims: number[];
  cells: number[][];
}

interface Plan {
  rows: SweepRow[];
  cols: string[];
}

/** The rows and cells of a sweep (validates hooks, layers, positions). */
function planSweep(model: Model, seq: number, tokens: string[], opts: PatchingOptions): Plan {
  const component = opts.hook === undefined ? checkComponent(opts.component ?? 'resid-post') : null;
  const layers = opts.layers ?? Array.from({ length: model.config.nLayers }, (_, l) => l);
  checkLayers(model, layers);
  let hooks: { hook: string; layer: number | null }[];
  if (component) hooks = layers.map((l) => ({ hook: componentHook(model, component, l), layer: l }));
  else if (opts.hook!.includes('{l}')) hooks = layers.map((l) => ({ hook: opts.hook!.replaceAll('{l}', String(l)), layer: l }));
  else hooks = [{ hook: opts.hook!, layer: layerOf(opts.hook!) }];
  checkHooks(model, hooks.map((h) => h.hook));
  const sets = opts.positionSets ?? tokens.map((_, i) => [i]);
  for (const s of sets) {
    if (s.length === 0) fail('BAD_INPUT', 'an empty set of positions');
    checkPositions(s, seq);
  }
  const setLabel = (s: number[]) => (s.length === 1 ? tokens[s[0]] : s.length === seq ? 'all' : s.map((i) => tokens[i]).join(' '));
  const rowLabel = (h: { hook: string; layer: number | null }) => (h.layer === null ? h.hook : `L${h.layer}`);

  const rows: SweepRow[] = [];
  let cols: string[] = sets.map(setLabel);
  for (const h of hooks) {
    const item = hookShape(model, seq, h.hook).slice(1);
    const ax = hookAxes(model, h.hook);
    const pos = ax.pos - 1;
    if (component && isHeadComponent(component)) {
      const head = ax.head! - 1;
      const heads = Array.from({ length: ax.heads }, (_, i) => i);
      if (opts.perPosition) {
        const dims = maskDims(item, [head, pos]);
        const at = (hh: number, i: number) => (head < pos ? hh * dims[pos] + i : i * dims[head] + hh);
        for (const hh of heads) rows.push({ label: `${rowLabel(h)}H${hh}`, hook: h.hook, layer: h.layer, dims, cells: sets.map((s) => s.map((i) => at(hh, i))) });
      } else {
        const dims = maskDims(item, [head]);
        rows.push({ label: rowLabel(h), hook: h.hook, layer: h.layer, dims, cells: heads.map((hh) => [hh]) });
        cols = heads.map((hh) => `H${hh}`);
      }
    } else {
      rows.push({ label: rowLabel(h), hook: h.hook, layer: h.layer, dims: maskDims(item, [pos]), cells: sets });
    }
  }
  return { rows, cols };
}

interface Runs {
  target: CausalTarget;
  metric: Metric;
  tokens: string[];
  corruptedTokens: string[];
  corruptedInput: { ids: number[]; typeIds: number[] };
  /** Clean activations of the patched hooks and corrupted block inputs, [1, ...] each. */
  clean: Record<string, HostTensor>;
  corruptedCache: Record<string, HostTensor>;
  cleanBase: number;
  corruptedBase: number;
  plan: Plan;
}

/** The clean and corrupted reference runs (one batch of two), the target and the plan. */
async function referenceRuns(model: Model, pair: { clean: ExplainInput; corrupted: ExplainInput }, opts: PatchingOptions, extra: string[] = []): Promise<Runs> {
  const metric = checkMetric(opts.metric ?? 'logit');
  const { clean, corrupted } = preparePair(model, pair.clean, pair.corrupted);
  const tokens = tokenLabels(clean);
  const plan = planSweep(model, clean.ids.length, tokens, opts);
  const layers = [...new Set(plan.rows.map((r) => r.layer).filter((l): l is number => l !== null))];
  const capture = [...new Set([...plan.rows.map((r) => r.hook), ...layers.map(blockInput), ...extra])];
  const { logits, captured } = await model.forward(
    { inputIds: [clean.ids, corrupted.ids], attentionMask: [clean.ids.map(() => 1), corrupted.ids.map(() => 1)], tokenTypeIds: [clean.typeIds, corrupted.typeIds] },
    { capture, executor: opts.executor, signal: opts.signal },
  );
  const row = (t: HostTensor, b: number): HostTensor => {
    const size = t.data.length / t.dims[0];
    return { dtype: t.dtype, dims: [1, ...t.dims.slice(1)], data: (t.data as Float32Array).subarray(b * size, (b + 1) * size) };
  };
  const cleanLogits = row(logits, 0);
  const target = resolveCausalTarget(model, clean, cleanLogits, opts);
  checkMetricTarget(metric, target);
  const base: Metric = metric === 'normalized' ? 'logit-diff' : metric;
  const baseOf = (b: number) => hostMetric(targetRow(logits, target, b), target, base === 'logit-diff' && !target.foil ? 'logit' : base);
  const cleanCache: Record<string, HostTensor> = {};
  const corruptedCache: Record<string, HostTensor> = {};
  for (const name of capture) {
    cleanCache[name] = row(captured[name], 0);
    corruptedCache[name] = row(captured[name], 1);
  }
  return {
    target,
    metric,
    tokens,
    corruptedTokens: tokenLabels(corrupted),
    corruptedInput: corrupted,
    clean: cleanCache,
    corruptedCache,
    cleanBase: baseOf(0),
    corruptedBase: baseOf(1),
    plan,
  };
}

const operand = (t: HostTensor) => ({ data: floats(t), dims: t.dims });

/** A mask table [n, ...dims] with row r set at cells[r]. */
function masks(dims: number[], cells: number[][], n = cells.length, offset = 0): { data: Float32Array; dims: number[] } {
  const size = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n * size);
  cells.forEach((c, r) => {
    for (const i of c) data[(offset + r) * size + i] = 1;
  });
  return { data, dims: [n, ...dims] };
}

/**
 * Patch every cell of the sweep from the clean run into the corrupted run and measure the metric.
 *
 * @example
 * const r = await activationPatching(model, { clean: { text: 'When Mary and John went to the store, John gave a drink to' }, corrupted: { text: 'When Mary and John went to the store, Mary gave a drink to' } },
 *   { component: 'resid-pre', target: ' Mary', foil: ' John', metric: 'normalized' });
 * r.values[layer][position];
 */
export async function activationPatching(model: Model, pair: { clean: ExplainInput; corrupted: ExplainInput }, opts: PatchingOptions = {}): Promise<PatchingResult> {
  const runs = await referenceRuns(model, pair, opts);
  const values = await sweep(model, runs, opts);
  return result('activation-patching', runs, opts, values);
}

/**
 * Cells whose clean and corrupted activations agree everywhere (bitwise): patching them is a
 * no-op, so the patched run is the corrupted run. In a causal model that is every position
 * before the first differing token, at every layer; at layer 0, every untouched position.
 */
function unchangedCells(r: SweepRow, clean: Float32Array, corrupted: Float32Array, item: number[]): boolean[] {
  const cellOf = cellOfElement(item, r.dims);
  const differs = new Uint8Array(r.dims.reduce((a, b) => a * b, 1));
  for (let e = 0; e < clean.length; e++) if (clean[e] !== corrupted[e]) differs[cellOf[e]] = 1;
  return r.cells.map((c) => c.every((k) => !differs[k]));
}

async function sweep(model: Model, runs: Runs, opts: PatchingOptions): Promise<number[][]> {
  const { plan, target, metric } = runs;
  const reuse = opts.reuse ?? true;
  const seq = runs.tokens.length;
  // For each row, the cells that need a run (the others keep the corrupted value).
  const todo = plan.rows.map((r) => {
    if (opts.skipUnchanged === false) return r.cells.map((_, j) => j);
    const same = unchangedCells(r, floats(runs.clean[r.hook]), floats(runs.corruptedCache[r.hook]), hookShape(model, seq, r.hook).slice(1));
    return r.cells.map((_, j) => j).filter((j) => !same[j]);
  });
  const unchanged = metric === 'normalized' ? 0 : runs.corruptedBase;
  const values: number[][] = plan.rows.map((r) => r.cells.map(() => unchanged));
  const total = todo.reduce((s, t) => s + t.length, 0);
  if (total === 0) return values;
  let done = 0;
  const common = {
    inputs: [runs.corruptedInput],
    headPositions: headPositionsFor(target),
    outputs: (_: unknown, logits: Value) => metricOutputs(logits, target),
    batchSize: opts.batchSize,
    executor: opts.executor,
    signal: opts.signal,
  };
  const finish = (out: Record<string, HostTensor>): Float64Array => {
    const m = readMetric(out, metric === 'normalized' ? 'logit-diff' : metric);
    return metric === 'normalized' ? m.map((x) => normalize(x, runs.cleanBase, runs.corruptedBase)) : m;
  };
  /** Write run results back, in the order the configurations were laid out. */
  const scatter = (rowIdx: number[], m: Float64Array) => {
    let k = 0;
    for (const i of rowIdx) for (const j of todo[i]) values[i][j] = m[k++];
  };
  if (reuse) {
    // One run per hook, starting from the corrupted residual stream before its layer.
    const byHook = new Map<string, number[]>();
    plan.rows.forEach((r, i) => byHook.set(r.hook, [...(byHook.get(r.hook) ?? []), i]));
    for (const [hook, rowIdx] of byHook) {
      const cells = rowIdx.flatMap((i) => todo[i].map((j) => plan.rows[i].cells[j]));
      if (cells.length === 0) continue;
      const layer = plan.rows[rowIdx[0]].layer;
      const out = await runRows(model, {
        ...common,
        n: cells.length,
        start: layer === null ? undefined : { hook: blockInput(layer), value: operand(runs.corruptedCache[blockInput(layer)]) },
        edits: [{ hook, patch: operand(runs.clean[hook]), mask: masks(plan.rows[rowIdx[0]].dims, cells) }],
        onProgress: (p) => opts.onProgress?.({ done: done + p.done, total, stage: 'patching' }),
      });
      scatter(rowIdx, finish(out));
      done += cells.length;
    }
    return values;
  }
  // One run for the whole sweep: an edit at every hook, each configuration's mask zero except at its own hook.
  const hooks = [...new Set(plan.rows.map((r) => r.hook))];
  const edits: Edit[] = hooks.map((hook) => {
    const first = plan.rows.find((r) => r.hook === hook)!;
    const size = first.dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(total * size);
    let offset = 0;
    plan.rows.forEach((r, i) => {
      if (r.hook === hook) todo[i].forEach((j, q) => r.cells[j].forEach((e) => (data[(offset + q) * size + e] = 1)));
      offset += todo[i].length;
    });
    return { hook, patch: operand(runs.clean[hook]), mask: { data, dims: [total, ...first.dims] } };
  });
  const out = await runRows(model, { ...common, n: total, edits, onProgress: (p) => opts.onProgress?.({ ...p, stage: 'patching' }) });
  scatter(plan.rows.map((_, i) => i), finish(out));
  return values;
}

function result(method: PatchingResult['method'], runs: Runs, opts: PatchingOptions, values: number[][]): PatchingResult {
  return {
    method,
    component: opts.hook ?? opts.component ?? 'resid-post',
    metric: runs.metric,
    target: runs.target,
    tokens: runs.tokens,
    corruptedTokens: runs.corruptedTokens,
    rows: runs.plan.rows.map((r) => r.label),
    cols: runs.plan.cols,
    hooks: runs.plan.rows.map((r) => r.hook),
    values,
    clean: runs.cleanBase,
    corrupted: runs.corruptedBase,
  };
}

type Pair = { clean: ExplainInput; corrupted: ExplainInput };
type Variant = (model: Model, pair: Pair, opts?: Omit<PatchingOptions, 'component' | 'hook'>) => Promise<PatchingResult>;
const variant = (component: Component): Variant => (model, pair, opts = {}) => activationPatching(model, pair, { ...opts, component });

/** The residual stream before block l, per (layer, position). */
export const patchResidPre = variant('resid-pre');
/** Between attention and MLP, per (layer, position). */
export const patchResidMid = variant('resid-mid');
/** The block output, per (layer, position). */
export const patchResidPost = variant('resid-post');
export const patchAttnOut = variant('attn-out');
export const patchMlpOut = variant('mlp-out');
/** Each head's output (hook_z) over all positions, per (layer, head); `perPosition` for (layer·head, position). */
export const patchHeadOut = variant('head-out');
export const patchHeadQ = variant('head-q');
export const patchHeadK = variant('head-k');
export const patchHeadV = variant('head-v');
export const patchHeadPattern = variant('head-pattern');

// ---------------------------------------------------------------------------------------
// Attribution patching

export interface AttributionPatchingOptions extends PatchingOptions {
  /** Also run real activation patching and report the correlation (default false). */
  compare?: boolean;
}

/** For each element of `item`, the flat index of the broadcast mask cell it belongs to. */
function cellOfElement(item: number[], dims: number[]): Int32Array {
  const size = item.reduce((a, b) => a * b, 1);
  const out = new Int32Array(size);
  const coord = new Array(item.length).fill(0);
  for (let e = 0; e < size; e++) {
    let k = 0;
    for (let a = 0; a < item.length; a++) k = k * dims[a] + (dims[a] === 1 ? 0 : coord[a]);
    out[e] = k;
    for (let a = item.length - 1; a >= 0; a--) {
      if (++coord[a] < item[a]) break;
      coord[a] = 0;
    }
  }
  return out;
}

/**
 * Attribution patching: every cell of the sweep estimated from one forward and one backward
 * pass on the corrupted input. Values are in the units of `activationPatching` (corrupted
 * metric + estimated change; `normalized`: the estimated change over clean − corrupted).
 *
 * @example
 * const ap = await attributionPatching(model, pair, { component: 'resid-pre', compare: true });
 * ap.correlation; // Pearson correlation with real patching
 */
export async function attributionPatching(model: Model, pair: Pair, opts: AttributionPatchingOptions = {}): Promise<PatchingResult> {
  const runs = await referenceRuns(model, pair, opts);
  const { plan, target, metric } = runs;
  const seq = runs.tokens.length;
  const hooks = [...new Set(plan.rows.map((r) => r.hook))];
  const { graph: g, logits } = model.buildGraph(1, seq, { headPositions: headPositionsFor(target) });
  const m = metricValue(logits, target, metric);
  const taps = hooks.map((h) => g.getTap(h));
  const grads = vjp([m], [null], taps);
  g.outputs.delete('logits');
  g.output('metric', m);
  grads.forEach((d, i) => g.output(`grad${i}`, d));
  const out = await runProgram(opts.executor ?? defaultExecutor(), compile(g), { ...model.weights, ...model.feeds({ inputIds: [runs.corruptedInput.ids], attentionMask: [runs.corruptedInput.ids.map(() => 1)], tokenTypeIds: [runs.corruptedInput.typeIds] }) }, { signal: opts.signal });
  opts.onProgress?.({ done: 1, total: 1, stage: 'attribution patching' });
  const scale = metric === 'normalized' ? runs.cleanBase - runs.corruptedBase : 1;
  const values = plan.rows.map((r) => {
    const i = hooks.indexOf(r.hook);
    const d = floats(out[`grad${i}`]);
    const clean = floats(runs.clean[r.hook]);
    const corr = floats(runs.corruptedCache[r.hook]);
    const cellOf = cellOfElement(taps[i].shape.slice(1), r.dims);
    const perCell = new Float64Array(r.dims.reduce((a, b) => a * b, 1));
    for (let e = 0; e < d.length; e++) perCell[cellOf[e]] += (clean[e] - corr[e]) * d[e];
    return r.cells.map((c) => {
      const est = c.reduce((s, k) => s + perCell[k], 0);
      return metric === 'normalized' ? est / scale : runs.corruptedBase + est;
    });
  });
  const res = result('attribution-patching', runs, opts, values);
  if (opts.compare) {
    res.patched = await sweep(model, runs, opts);
    res.correlation = pearson(values.flat(), res.patched.flat());
  }
  return res;
}

/** Pearson correlation over the pairs where both are finite (NaN with fewer than two, or no variance). */
export function pearson(a: number[], b: number[]): number {
  const xs: number[] = [];
  const ys: number[] = [];
  a.forEach((x, i) => {
    if (Number.isFinite(x) && Number.isFinite(b[i])) {
      xs.push(x);
      ys.push(b[i]);
    }
  });
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}
