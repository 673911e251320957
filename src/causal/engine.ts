/**
 * The one intervention every causal method is built from, and the batched runner that applies
 * it to many configurations at once.
 *
 * At a hook with activation x, a run reads
 *
 *     x' = x + (p − x)·m + a
 *
 * with a patch p, a mask m and an addition a fed at run time (taps.ts' mixTap, plus an additive
 * term). Patching is p = source activation with m selecting positions/heads; zero ablation is p
 * = 0; mean ablation p = a mean; scaling by f is p = 0, m = 1 − f; steering is a = α·v.
 *
 * Decision: configurations are rows of the batch. Each operand (p, m, a) is a table of K rows,
 * either shared by every configuration (K = 1), one row per configuration (K = n), or indexed
 * (a row number per configuration, gathered inside the graph), so a sweep of 384 patches of one
 * clean activation feeds that activation once and 384 small masks.
 *
 * Decision: a run may start from a cached value of a hook (`start`): the hook's value becomes a
 * run-time input and everything upstream is pruned from the compiled graph. Patching at layer l
 * then reuses the corrupted run's residual stream before layer l instead of recomputing it
 * (TransformerLens' generic_activation_patch reruns the whole model per configuration).
 */
import { fail } from '../errors.js';
import type { Graph, Node, Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import { runBatched } from '../engine/batched.js';
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';
import { defaultExecutor } from '../runtime/index.js';
import type { HostTensor } from '../runtime/tensor.js';
import type { Progress } from '../explain/types.js';

/** K rows of values, [K, ...shape], where `shape` broadcasts to the hook's shape without the batch axis. */
export interface Operand {
  data: Float32Array;
  dims: number[];
  /** Row of `data` for each configuration. Without it K is 1 (shared) or n (one row each). */
  index?: ArrayLike<number>;
}

/** x' = x + (p − x)·m + a at one hook. No patch means p = 0; a patch without a mask means m = 1. */
export interface Edit {
  hook: string;
  patch?: Operand;
  mask?: Operand;
  add?: Operand;
}

export interface RowsSpec {
  /** Number of configurations (batch rows). */
  n: number;
  /** Token ids per row: one entry shared by every row, or n entries. */
  inputs: { ids: number[]; typeIds: number[] }[];
  edits?: Edit[];
  /** Start from this hook's value: upstream computation is pruned. */
  start?: { hook: string; value: Operand };
  /** Language-model heads only at these positions. */
  headPositions?: number[];
  /** Per-row outputs (batch on axis 0) from the edited graph and its logits. */
  outputs: (g: Graph, logits: Value) => Record<string, Value>;
  executor?: Executor;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Rows per engine run (default 64). */
  batchSize?: number;
  /**
   * Activation bytes a chunk may use, as runBatched estimates them (default 8 GiB). The estimate
   * sums every value of the batch-1 graph, pruned or not, which is several times what ONNX
   * Runtime keeps alive, so the default is higher than runBatched's own.
   */
  budgetBytes?: number;
  stage?: string;
}

/** A shape without its batch axis broadcasts to `item`: same rank, each dim 1 or equal. */
function checkOperand(what: string, o: Operand, item: readonly number[], n: number): void {
  const rest = o.dims.slice(1);
  const size = o.dims.reduce((a, b) => a * b, 1);
  if (o.data.length !== size) fail('SHAPE_MISMATCH', `${what}: dims [${o.dims}] need ${size} values, got ${o.data.length}`);
  if (rest.length !== item.length || rest.some((d, i) => d !== 1 && d !== item[i])) {
    fail('SHAPE_MISMATCH', `${what}: shape [${rest}] does not broadcast to the hook's shape [${item}]`);
  }
  const k = o.dims[0];
  if (o.index) {
    if (o.index.length !== n) fail('SHAPE_MISMATCH', `${what}: ${o.index.length} row indices for ${n} configurations`);
    for (let i = 0; i < o.index.length; i++) if (!(o.index[i] >= 0 && o.index[i] < k)) fail('INVALID_ARGUMENT', `${what}: row index ${o.index[i]} outside 0..${k - 1}`);
  } else if (k !== 1 && k !== n) fail('SHAPE_MISMATCH', `${what}: ${k} rows, but there are ${n} configurations (give 1 row, ${n} rows, or an index)`);
}

/** Replace a tap's value by `to` for every consumer (except `keep`) and under every tap name that aliased it. */
export function rewriteTap(g: Graph, from: Value, to: Value, keep: ReadonlySet<Node> = new Set()): void {
  g.replaceUses(from, to, keep);
  for (const [k, v] of g.taps) if (v === from) g.taps.set(k, to);
}

/**
 * Run `spec.n` configurations in batches. Returns the outputs concatenated over rows.
 *
 * @example
 * // patch the clean resid_pre of layer 3 into position i of row i
 * await runRows(model, { n: S, inputs: [corrupted], edits: [{ hook: 'blocks.3.hook_resid_pre', patch: clean, mask: oneHots }], outputs: (g, l) => ({ logits: l }) });
 */
export async function runRows(model: Model, spec: RowsSpec): Promise<Record<string, HostTensor>> {
  const { n } = spec;
  if (!(Number.isInteger(n) && n >= 1)) fail('INVALID_ARGUMENT', `runRows: need at least one configuration, got ${n}`);
  if (spec.inputs.length !== 1 && spec.inputs.length !== n) fail('INVALID_ARGUMENT', `runRows: ${spec.inputs.length} inputs for ${n} configurations`);
  const seq = spec.inputs[0].ids.length;
  if (spec.inputs.some((r) => r.ids.length !== seq)) fail('BAD_INPUT', 'runRows: every configuration must have the same number of tokens');
  const edits = spec.edits ?? [];

  // Feeds: batched inputs carry the configurations on axis 0 (sliced per chunk), shared ones do not.
  const batched: Record<string, HostTensor> = {};
  const shared: Record<string, HostTensor> = { ...model.weights };
  const rows = spec.inputs.length === 1 ? Array.from({ length: n }, () => spec.inputs[0]) : spec.inputs;
  Object.assign(batched, model.feeds({ inputIds: rows.map((r) => r.ids), attentionMask: rows.map((r) => r.ids.map(() => 1)), tokenTypeIds: rows.map((r) => r.typeIds) }));

  interface Placed {
    name: string;
    o: Operand;
  }
  const placeOperand = (name: string, o: Operand): Placed => {
    if (o.index) {
      shared[`${name}:table`] = { dtype: 'float32', dims: o.dims, data: o.data };
      batched[`${name}:index`] = { dtype: 'int64', dims: [n], data: BigInt64Array.from(Array.from(o.index), (i) => BigInt(i)) };
    } else if (o.dims[0] === 1 || n === 1) shared[name] = { dtype: 'float32', dims: o.dims, data: o.data };
    else batched[name] = { dtype: 'float32', dims: o.dims, data: o.data };
    return { name, o };
  };
  // Shapes are checked against a batch-1 graph before anything runs.
  const itemOf = (hook: string) => hookShape(model, seq, hook).slice(1);
  const start = spec.start ? { hook: spec.start.hook, at: placeOperand('start', spec.start.value) } : null;
  if (start) checkOperand(`start at '${start.hook}'`, start.at.o, itemOf(start.hook), n);
  const placed = edits.map((e, i) => {
    const item = itemOf(e.hook);
    const one = (what: 'patch' | 'mask' | 'add') => {
      const o = e[what];
      if (!o) return null;
      checkOperand(`${what} at '${e.hook}'`, o, item, n);
      return placeOperand(`edit${i}:${what}`, o);
    };
    return { hook: e.hook, patch: one('patch'), mask: one('mask'), add: one('add') };
  });
  const seen = new Set<string>();
  for (const e of edits) {
    if (seen.has(e.hook)) fail('INVALID_ARGUMENT', `hook '${e.hook}' is edited twice; give one edit per hook`);
    seen.add(e.hook);
  }

  // Memoised: runBatched builds the batch-1 graph to estimate memory, then the chunk sizes.
  const built = new Map<number, Graph>();
  const build = (batch: number): Graph => {
    let g = built.get(batch);
    if (!g) built.set(batch, (g = buildEdited(batch)));
    return g;
  };
  const buildEdited = (batch: number): Graph => {
    const { graph: g, logits } = model.buildGraph(batch, seq, { headPositions: spec.headPositions });
    const value = (p: Placed): Value => {
      const rest = p.o.dims.slice(1);
      if (p.o.index) return op.gather(g.input(`${p.name}:table`, 'float32', p.o.dims), g.input(`${p.name}:index`, 'int64', [batch]), 0); // [batch, ...rest]
      return g.input(p.name, 'float32', p.o.dims[0] === 1 || n === 1 ? [1, ...rest] : [batch, ...rest]);
    };
    if (start) {
      const v = g.getTap(start.hook);
      const s = value(start.at);
      rewriteTap(g, v, s.shape[0] === batch ? s : op.expand(s, v.shape));
    }
    for (const e of placed) {
      const x = g.getTap(e.hook); // [batch, ...item]
      const before = g.nodes.length;
      let y = x;
      if (e.patch || e.mask) {
        const p = e.patch ? value(e.patch) : null;
        const m = e.mask ? value(e.mask) : null;
        if (p && m) y = op.add(x, op.mul(op.sub(p, x), m));
        else if (p) y = op.expand(p, x.shape);
        else y = op.sub(x, op.mul(x, m!));
      }
      if (e.add) y = op.add(y, value(e.add));
      if (y.shape.some((d, i) => d !== x.shape[i])) y = op.expand(y, x.shape);
      if (y !== x) rewriteTap(g, x, y, new Set(g.nodes.slice(before)));
    }
    const outs = spec.outputs(g, logits);
    g.outputs.delete('logits');
    for (const [k, v] of Object.entries(outs)) g.output(k, v);
    return g;
  };

  const stage = spec.stage ?? 'interventions';
  return runBatched({
    executor: spec.executor ?? defaultExecutor(),
    build,
    batched,
    shared,
    maxChunk: spec.batchSize ?? 64,
    budgetBytes: spec.budgetBytes ?? 8 * 1024 ** 3,
    signal: spec.signal,
    onProgress: (p) => spec.onProgress?.({ ...p, stage }),
  });
}

const shapeCache = new WeakMap<Model, Map<number, Graph>>();

/** The shape of a hook's activation for one sequence of `seq` tokens ([1, ...]); graphs cached per model and length. */
export function hookShape(model: Model, seq: number, hook: string): readonly number[] {
  let byLen = shapeCache.get(model);
  if (!byLen) shapeCache.set(model, (byLen = new Map()));
  let g = byLen.get(seq);
  if (!g) {
    g = model.buildGraph(1, seq).graph;
    if (byLen.size >= 8) byLen.clear();
    byLen.set(seq, g);
  }
  return g.getTap(hook).shape;
}

/** One-hot rows: row r is 1 where `cells[r]` lists flat indices into an item of `size` values. */
export function maskTable(cells: number[][], size: number): Float32Array {
  const out = new Float32Array(cells.length * size);
  cells.forEach((idx, r) => {
    for (const i of idx) out[r * size + i] = 1;
  });
  return out;
}

/** dims of a mask over `shape` (no batch) that varies only along `axes` (others 1). */
export function maskDims(shape: readonly number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? d : 1));
}

/** Flat index into a mask of `dims` from a coordinate per axis (missing axes 0). */
export function flatIndex(dims: readonly number[], coord: Record<number, number>): number {
  let k = 0;
  for (let i = 0; i < dims.length; i++) k = k * dims[i] + (coord[i] ?? 0);
  return k;
}

/** A host tensor's float data. */
export const floats = (t: HostTensor): Float32Array => t.data as Float32Array;
