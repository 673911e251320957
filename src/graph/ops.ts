/**
 * The builder: one function per op, mirroring ONNX, each inferring the output dtype and
 * shape while the graph is built. A mismatch fails at the call that made it, naming the
 * op, the node and the shapes involved.
 *
 *   const h = op.add(op.matmul(x, w), b);   // [batch, pos, d_model]
 *
 * Numbers stand for scalar constants of the other operand's dtype: `op.mul(x, 0.5)`.
 */
import { fail } from '../errors.js';
import { type DType, isFloat, sizeOf } from './dtype.js';
import { type Graph, type Value, describe } from './graph.js';
import type { OpAttrs, OpType } from './op-types.js';

export type Operand = Value | number;

// ---------------------------------------------------------------------------------------
// Helpers

function where(g: Graph, op: string): string {
  return g.scopePath ? `${g.scopePath}/${op}` : op;
}

function graphOf(...xs: Operand[]): Graph {
  for (const x of xs) if (typeof x !== 'number') return x.graph;
  return fail('INVALID_ARGUMENT', 'an op needs at least one graph value among its operands');
}

function lift(g: Graph, x: Operand, like: DType): Value {
  return typeof x === 'number' ? g.scalar(x, like) : x;
}

function dtypeOf(...xs: Operand[]): DType {
  for (const x of xs) if (typeof x !== 'number') return x.dtype;
  return 'float32';
}

function single<T extends OpType>(g: Graph, op: T, inputs: (Value | null)[], attrs: OpAttrs[T], dtype: DType, shape: readonly number[]): Value {
  return g.addNode(op, inputs, attrs, [{ dtype, shape }]).outputs[0];
}

function normAxis(axis: number, rank: number, op: string, g: Graph): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    fail('INVALID_ARGUMENT', `${op}: axis ${axis} is out of range for rank ${rank}`, { where: where(g, op) });
  }
  return a;
}

function normAxes(axes: readonly number[], rank: number, op: string, g: Graph): number[] {
  const out = axes.map((a) => normAxis(a, rank, op, g));
  if (new Set(out).size !== out.length) fail('INVALID_ARGUMENT', `${op}: repeated axes [${axes}]`, { where: where(g, op) });
  return out.sort((a, b) => a - b);
}

/** Numpy broadcasting of shapes; throws naming the op and both shapes. */
export function broadcastShapes(op: string, g: Graph, ...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const k = s.length - rank + i;
      const e = k < 0 ? 1 : s[k];
      if (e === 1) continue;
      if (d !== 1 && d !== e) {
        fail('SHAPE_MISMATCH', `${op}: shapes ${shapes.map((s) => `[${s.join(', ')}]`).join(' and ')} do not broadcast`, {
          where: where(g, op),
        });
      }
      d = e;
    }
    out.push(d);
  }
  return out;
}

function requireDtype(op: string, g: Graph, xs: Value[], allowed: (d: DType) => boolean, what: string): void {
  for (const x of xs) if (!allowed(x.dtype)) fail('DTYPE_MISMATCH', `${op}: ${describe(x)} must be ${what}`, { where: where(g, op) });
}

function sameDtype(op: string, g: Graph, xs: Value[]): void {
  for (const x of xs.slice(1)) {
    if (x.dtype !== xs[0].dtype) {
      fail('DTYPE_MISMATCH', `${op}: operands ${describe(xs[0])} and ${describe(x)} have different dtypes`, { where: where(g, op) });
    }
  }
}

// ---------------------------------------------------------------------------------------
// Elementwise

type BinaryOp = 'Add' | 'Sub' | 'Mul' | 'Div' | 'Pow' | 'Max' | 'Min';

function binary(op: BinaryOp, a: Operand, b: Operand): Value {
  const g = graphOf(a, b);
  const dt = dtypeOf(a, b);
  const x = lift(g, a, dt);
  const y = lift(g, b, dt);
  sameDtype(op, g, [x, y]);
  return single(g, op, [x, y], {}, dt, broadcastShapes(op, g, x.shape, y.shape));
}

export const add = (a: Operand, b: Operand) => binary('Add', a, b);
export const sub = (a: Operand, b: Operand) => binary('Sub', a, b);
export const mul = (a: Operand, b: Operand) => binary('Mul', a, b);
export const div = (a: Operand, b: Operand) => binary('Div', a, b);
export const pow = (a: Operand, b: Operand) => binary('Pow', a, b);
export const max = (a: Operand, b: Operand) => binary('Max', a, b);
export const min = (a: Operand, b: Operand) => binary('Min', a, b);

function compare(op: 'Equal' | 'Less' | 'Greater', a: Operand, b: Operand): Value {
  const g = graphOf(a, b);
  const dt = dtypeOf(a, b);
  const x = lift(g, a, dt);
  const y = lift(g, b, dt);
  sameDtype(op, g, [x, y]);
  return single(g, op, [x, y], {}, 'bool', broadcastShapes(op, g, x.shape, y.shape));
}

export const equal = (a: Operand, b: Operand) => compare('Equal', a, b);
export const less = (a: Operand, b: Operand) => compare('Less', a, b);
export const greater = (a: Operand, b: Operand) => compare('Greater', a, b);

export function and(a: Value, b: Value): Value {
  const g = a.graph;
  requireDtype('And', g, [a, b], (d) => d === 'bool', 'bool');
  return single(g, 'And', [a, b], {}, 'bool', broadcastShapes('And', g, a.shape, b.shape));
}

export function not(a: Value): Value {
  requireDtype('Not', a.graph, [a], (d) => d === 'bool', 'bool');
  return single(a.graph, 'Not', [a], {}, 'bool', a.shape);
}

type UnaryFloat = 'Neg' | 'Abs' | 'Sqrt' | 'Reciprocal' | 'Exp' | 'Log' | 'Tanh' | 'Erf' | 'Sigmoid' | 'Relu' | 'Cos' | 'Sin';

function unary(op: UnaryFloat, x: Value): Value {
  if (op !== 'Neg' && op !== 'Abs') requireDtype(op, x.graph, [x], isFloat, 'float32 or float64');
  return single(x.graph, op, [x], {}, x.dtype, x.shape);
}

export const neg = (x: Value) => unary('Neg', x);
export const abs = (x: Value) => unary('Abs', x);
export const sqrt = (x: Value) => unary('Sqrt', x);
export const reciprocal = (x: Value) => unary('Reciprocal', x);
export const exp = (x: Value) => unary('Exp', x);
export const log = (x: Value) => unary('Log', x);
export const tanh = (x: Value) => unary('Tanh', x);
export const erf = (x: Value) => unary('Erf', x);
export const sigmoid = (x: Value) => unary('Sigmoid', x);
export const relu = (x: Value) => unary('Relu', x);
export const cos = (x: Value) => unary('Cos', x);
export const sin = (x: Value) => unary('Sin', x);

export function identity(x: Value): Value {
  return single(x.graph, 'Identity', [x], {}, x.dtype, x.shape);
}

export function cast(x: Value, to: DType): Value {
  if (x.dtype === to) return x;
  return single(x.graph, 'Cast', [x], { to }, to, x.shape);
}

/** `cond ? a : b`, elementwise with broadcasting. */
export function where_(cond: Value, a: Operand, b: Operand): Value {
  const g = cond.graph;
  requireDtype('Where', g, [cond], (d) => d === 'bool', 'bool');
  const dt = dtypeOf(a, b);
  const x = lift(g, a, dt);
  const y = lift(g, b, dt);
  sameDtype('Where', g, [x, y]);
  return single(g, 'Where', [cond, x, y], {}, dt, broadcastShapes('Where', g, cond.shape, x.shape, y.shape));
}
export { where_ as where };

// ---------------------------------------------------------------------------------------
// Linear algebra

/** Numpy-style matmul: batch dimensions broadcast; 1-D operands are promoted and squeezed back. */
export function matmul(a: Value, b: Value): Value {
  const g = a.graph;
  const op = 'MatMul';
  sameDtype(op, g, [a, b]);
  requireDtype(op, g, [a, b], isFloat, 'float32 or float64');
  if (a.shape.length === 0 || b.shape.length === 0) fail('SHAPE_MISMATCH', `${op}: operands must have rank >= 1`, { where: where(g, op) });
  const as = a.shape.length === 1 ? [1, a.shape[0]] : [...a.shape];
  const bs = b.shape.length === 1 ? [b.shape[0], 1] : [...b.shape];
  const k1 = as[as.length - 1];
  const k2 = bs[bs.length - 2];
  if (k1 !== k2) {
    fail('SHAPE_MISMATCH', `${op}: inner dimensions differ: [${a.shape.join(', ')}] x [${b.shape.join(', ')}] (${k1} vs ${k2})`, {
      where: where(g, op),
    });
  }
  const batch = broadcastShapes(op, g, as.slice(0, -2), bs.slice(0, -2));
  const out = [...batch];
  if (a.shape.length > 1) out.push(as[as.length - 2]);
  if (b.shape.length > 1) out.push(bs[bs.length - 1]);
  return single(g, op, [a, b], {}, a.dtype, out);
}

/** alpha * op(A) @ op(B) + beta * C, for 2-D A and B. */
export function gemm(
  a: Value,
  b: Value,
  c: Value | null,
  opts: Partial<OpAttrs['Gemm']> = {},
): Value {
  const g = a.graph;
  const op = 'Gemm';
  const attrs: OpAttrs['Gemm'] = { transA: false, transB: false, alpha: 1, beta: 1, ...opts };
  if (a.shape.length !== 2 || b.shape.length !== 2) {
    fail('SHAPE_MISMATCH', `${op}: A and B must be 2-D, got [${a.shape}] and [${b.shape}]`, { where: where(g, op) });
  }
  sameDtype(op, g, c ? [a, b, c] : [a, b]);
  const [m, k1] = attrs.transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [k2, n] = attrs.transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (k1 !== k2) fail('SHAPE_MISMATCH', `${op}: inner dimensions differ (${k1} vs ${k2}) for [${a.shape}] and [${b.shape}]`, { where: where(g, op) });
  if (c) {
    const bc = broadcastShapes(op, g, c.shape, [m, n]);
    if (bc[0] !== m || bc[1] !== n) fail('SHAPE_MISMATCH', `${op}: C [${c.shape}] does not broadcast to [${m}, ${n}]`, { where: where(g, op) });
  }
  return single(g, op, c ? [a, b, c] : [a, b], attrs, a.dtype, [m, n]);
}

// ---------------------------------------------------------------------------------------
// Softmax and normalisation

export function softmax(x: Value, axis = -1): Value {
  const a = normAxis(axis, x.shape.length, 'Softmax', x.graph);
  requireDtype('Softmax', x.graph, [x], isFloat, 'float32 or float64');
  return single(x.graph, 'Softmax', [x], { axis: a }, x.dtype, x.shape);
}

export function logSoftmax(x: Value, axis = -1): Value {
  const a = normAxis(axis, x.shape.length, 'LogSoftmax', x.graph);
  requireDtype('LogSoftmax', x.graph, [x], isFloat, 'float32 or float64');
  return single(x.graph, 'LogSoftmax', [x], { axis: a }, x.dtype, x.shape);
}

/**
 * ONNX LayerNormalization over the axes [axis, rank). Returns all three outputs: for
 * float32 the gradient rule reuses Mean and InvStdDev instead of recomputing them.
 */
export function layerNormFull(x: Value, scale: Value, bias: Value | null, axis = -1, epsilon = 1e-5): { y: Value; mean: Value; invStd: Value } {
  const g = x.graph;
  const op = 'LayerNormalization';
  const a = normAxis(axis, x.shape.length, op, g);
  sameDtype(op, g, bias ? [x, scale, bias] : [x, scale]);
  requireDtype(op, g, [x], isFloat, 'float32 or float64');
  const normShape = x.shape.slice(a);
  for (const p of bias ? [scale, bias] : [scale]) {
    const s = broadcastShapes(op, g, p.shape, normShape);
    if (s.length !== normShape.length || s.some((d, i) => d !== normShape[i])) {
      fail('SHAPE_MISMATCH', `${op}: parameter [${p.shape}] does not broadcast to the normalised shape [${normShape}]`, { where: where(g, op) });
    }
  }
  const statShape = x.shape.map((d, i) => (i < a ? d : 1));
  // The statistics are float32 whatever X is (ONNX's default stash_type; ONNX Runtime has
  // no float64 kernel for the float64-statistics variant).
  const n = g.addNode(op, bias ? [x, scale, bias] : [x, scale], { axis: a, epsilon }, [
    { dtype: x.dtype, shape: x.shape },
    { dtype: 'float32', shape: statShape },
    { dtype: 'float32', shape: statShape },
  ]);
  return { y: n.outputs[0], mean: n.outputs[1], invStd: n.outputs[2] };
}

export function layerNorm(x: Value, scale: Value, bias: Value | null, axis = -1, epsilon = 1e-5): Value {
  return layerNormFull(x, scale, bias, axis, epsilon).y;
}

// ---------------------------------------------------------------------------------------
// Reductions

type ReduceOp = 'ReduceSum' | 'ReduceMean' | 'ReduceMax';

function reduce(op: ReduceOp, x: Value, axes: number | readonly number[] | undefined, keepdims: boolean): Value {
  const g = x.graph;
  const rank = x.shape.length;
  const list = axes === undefined ? [...Array(rank).keys()] : typeof axes === 'number' ? [axes] : axes;
  const ax = normAxes(list, rank, op, g);
  const out: number[] = [];
  x.shape.forEach((d, i) => {
    if (!ax.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  if (ax.length === 0) return x;
  return single(g, op, [x], { axes: ax, keepdims }, x.dtype, out);
}

export const reduceSum = (x: Value, axes?: number | readonly number[], keepdims = false) => reduce('ReduceSum', x, axes, keepdims);
export const reduceMean = (x: Value, axes?: number | readonly number[], keepdims = false) => reduce('ReduceMean', x, axes, keepdims);
export const reduceMax = (x: Value, axes?: number | readonly number[], keepdims = false) => reduce('ReduceMax', x, axes, keepdims);

// ---------------------------------------------------------------------------------------
// Indexing

/** ONNX Gather: `out = data.take(indices, axis)`; shape data[:axis] + indices + data[axis+1:]. */
export function gather(data: Value, indices: Value, axis = 0): Value {
  const g = data.graph;
  const a = normAxis(axis, data.shape.length, 'Gather', g);
  requireDtype('Gather', g, [indices], (d) => d === 'int64' || d === 'int32', 'int64 or int32');
  const out = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];
  return single(g, 'Gather', [data, indices], { axis: a }, data.dtype, out);
}

/** ONNX GatherElements: `out[i][j] = data[index[i][j]][j]` along `axis`; shape of indices. */
export function gatherElements(data: Value, indices: Value, axis = 0): Value {
  const g = data.graph;
  const a = normAxis(axis, data.shape.length, 'GatherElements', g);
  requireDtype('GatherElements', g, [indices], (d) => d === 'int64' || d === 'int32', 'int64 or int32');
  if (indices.shape.length !== data.shape.length) {
    fail('SHAPE_MISMATCH', `GatherElements: data [${data.shape}] and indices [${indices.shape}] must have the same rank`, { where: where(g, 'GatherElements') });
  }
  return single(g, 'GatherElements', [data, indices], { axis: a }, data.dtype, indices.shape);
}

/** ONNX GatherND (batch_dims 0): slices of `data` at the index tuples in the last axis of `indices`. */
export function gatherND(data: Value, indices: Value): Value {
  const g = data.graph;
  requireDtype('GatherND', g, [indices], (d) => d === 'int64', 'int64');
  const q = indices.shape.length;
  const k = indices.shape[q - 1];
  if (q < 1 || k > data.shape.length) {
    fail('SHAPE_MISMATCH', `GatherND: indices [${indices.shape}] index more axes than data [${data.shape}] has`, { where: where(g, 'GatherND') });
  }
  return single(g, 'GatherND', [data, indices], {}, data.dtype, [...indices.shape.slice(0, q - 1), ...data.shape.slice(k)]);
}

/** ONNX ScatterND: copy of `data` with slices at `indices` replaced by (or, with 'add', increased by) `updates`. */
export function scatterND(data: Value, indices: Value, updates: Value, reduction: 'none' | 'add' = 'none'): Value {
  const g = data.graph;
  const op = 'ScatterND';
  requireDtype(op, g, [indices], (d) => d === 'int64', 'int64');
  sameDtype(op, g, [data, updates]);
  const q = indices.shape.length;
  const k = indices.shape[q - 1];
  const expected = [...indices.shape.slice(0, q - 1), ...data.shape.slice(k)];
  if (k > data.shape.length || expected.length !== updates.shape.length || expected.some((d, i) => d !== updates.shape[i])) {
    fail('SHAPE_MISMATCH', `${op}: updates [${updates.shape}] must have shape [${expected}] for data [${data.shape}] and indices [${indices.shape}]`, { where: where(g, op) });
  }
  return single(g, op, [data, indices, updates], { reduction }, data.dtype, data.shape);
}

/** ONNX ScatterElements: the inverse of GatherElements. */
export function scatterElements(data: Value, indices: Value, updates: Value, axis = 0, reduction: 'none' | 'add' = 'none'): Value {
  const g = data.graph;
  const op = 'ScatterElements';
  const a = normAxis(axis, data.shape.length, op, g);
  sameDtype(op, g, [data, updates]);
  if (indices.shape.length !== updates.shape.length || indices.shape.some((d, i) => d !== updates.shape[i])) {
    fail('SHAPE_MISMATCH', `${op}: indices [${indices.shape}] and updates [${updates.shape}] must have the same shape`, { where: where(g, op) });
  }
  return single(g, op, [data, indices, updates], { axis: a, reduction }, data.dtype, data.shape);
}

// ---------------------------------------------------------------------------------------
// Shapes

/** Reshape; one dimension may be -1 (inferred) and 0 copies the input's dimension (ONNX rule). */
export function reshape(x: Value, shape: readonly number[]): Value {
  const g = x.graph;
  const op = 'Reshape';
  const out = shape.map((d, i) => (d === 0 ? x.shape[i] : d));
  const unknown = out.filter((d) => d === -1).length;
  const n = sizeOf(x.shape);
  if (unknown > 1) fail('SHAPE_MISMATCH', `${op}: at most one -1 allowed in [${shape}]`, { where: where(g, op) });
  if (unknown === 1) {
    const known = sizeOf(out.filter((d) => d !== -1));
    if (known === 0 || n % known !== 0) fail('SHAPE_MISMATCH', `${op}: cannot reshape [${x.shape}] to [${shape}]`, { where: where(g, op) });
    out[out.indexOf(-1)] = n / known;
  }
  if (sizeOf(out) !== n || out.some((d) => d < 0 || !Number.isInteger(d))) {
    fail('SHAPE_MISMATCH', `${op}: cannot reshape [${x.shape}] (${n} elements) to [${shape}]`, { where: where(g, op) });
  }
  if (out.length === x.shape.length && out.every((d, i) => d === x.shape[i])) return x;
  return single(g, op, [x], { shape: out }, x.dtype, out);
}

export function transpose(x: Value, perm?: readonly number[]): Value {
  const g = x.graph;
  const rank = x.shape.length;
  const p = perm ? [...perm] : [...Array(rank).keys()].reverse();
  const sorted = [...p].sort((a, b) => a - b);
  if (p.length !== rank || sorted.some((d, i) => d !== i)) {
    fail('INVALID_ARGUMENT', `Transpose: [${p}] is not a permutation of the ${rank} axes of [${x.shape}]`, { where: where(g, 'Transpose') });
  }
  if (p.every((d, i) => d === i)) return x;
  return single(g, 'Transpose', [x], { perm: p }, x.dtype, p.map((i) => x.shape[i]));
}

export function unsqueeze(x: Value, axes: number | readonly number[]): Value {
  const g = x.graph;
  const list = typeof axes === 'number' ? [axes] : axes;
  const rank = x.shape.length + list.length;
  const ax = normAxes(list, rank, 'Unsqueeze', g);
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(ax.includes(i) ? 1 : x.shape[j++]);
  return single(g, 'Unsqueeze', [x], { axes: ax }, x.dtype, out);
}

export function squeeze(x: Value, axes: number | readonly number[]): Value {
  const g = x.graph;
  const list = typeof axes === 'number' ? [axes] : axes;
  const ax = normAxes(list, x.shape.length, 'Squeeze', g);
  for (const a of ax) {
    if (x.shape[a] !== 1) fail('SHAPE_MISMATCH', `Squeeze: axis ${a} of [${x.shape}] has size ${x.shape[a]}, not 1`, { where: where(g, 'Squeeze') });
  }
  return single(g, 'Squeeze', [x], { axes: ax }, x.dtype, x.shape.filter((_, i) => !ax.includes(i)));
}

export function concat(xs: Value[], axis: number): Value {
  if (xs.length === 0) fail('INVALID_ARGUMENT', 'Concat: needs at least one input');
  const g = xs[0].graph;
  const a = normAxis(axis, xs[0].shape.length, 'Concat', g);
  sameDtype('Concat', g, xs);
  const out = [...xs[0].shape];
  for (const x of xs.slice(1)) {
    if (x.shape.length !== out.length || x.shape.some((d, i) => i !== a && d !== out[i])) {
      fail('SHAPE_MISMATCH', `Concat: [${xs[0].shape}] and [${x.shape}] differ outside axis ${a}`, { where: where(g, 'Concat') });
    }
    out[a] += x.shape[a];
  }
  if (xs.length === 1) return xs[0];
  return single(g, 'Concat', xs, { axis: a }, xs[0].dtype, out);
}

/**
 * ONNX Slice with static starts/ends/axes/steps, clamped as ONNX clamps them. Negative
 * indices count from the end.
 */
export function slice(x: Value, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): Value {
  const g = x.graph;
  const rank = x.shape.length;
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, rank, 'Slice', g));
  const st = steps ?? starts.map(() => 1);
  if (ends.length !== starts.length || ax.length !== starts.length || st.length !== starts.length) {
    fail('INVALID_ARGUMENT', 'Slice: starts, ends, axes and steps must have the same length', { where: where(g, 'Slice') });
  }
  const out = [...x.shape];
  const nStarts: number[] = [];
  const nEnds: number[] = [];
  for (let i = 0; i < ax.length; i++) {
    const dim = x.shape[ax[i]];
    const step = st[i];
    if (step === 0) fail('INVALID_ARGUMENT', 'Slice: step 0', { where: where(g, 'Slice') });
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let s = starts[i] < 0 ? starts[i] + dim : starts[i];
    let e = ends[i] < 0 ? ends[i] + dim : ends[i];
    if (step > 0) {
      s = clamp(s, 0, dim);
      e = clamp(e, 0, dim);
      out[ax[i]] = Math.max(0, Math.ceil((e - s) / step));
    } else {
      s = clamp(s, 0, dim - 1);
      e = clamp(e, -1, dim - 1);
      out[ax[i]] = Math.max(0, Math.ceil((e - s) / step));
    }
    nStarts.push(s);
    nEnds.push(e);
  }
  return single(g, 'Slice', [x], { starts: nStarts, ends: nEnds, axes: ax, steps: [...st] }, x.dtype, out);
}

/** Split along `axis` into pieces of the given sizes (or `n` equal pieces). */
export function split(x: Value, axis: number, sizes: number | readonly number[]): Value[] {
  const g = x.graph;
  const a = normAxis(axis, x.shape.length, 'Split', g);
  const dim = x.shape[a];
  let parts: number[];
  if (typeof sizes === 'number') {
    if (dim % sizes !== 0) fail('SHAPE_MISMATCH', `Split: axis ${a} of [${x.shape}] does not divide into ${sizes} equal parts`, { where: where(g, 'Split') });
    parts = Array(sizes).fill(dim / sizes);
  } else parts = [...sizes];
  if (parts.reduce((s, d) => s + d, 0) !== dim) {
    fail('SHAPE_MISMATCH', `Split: sizes [${parts}] do not add up to ${dim} (axis ${a} of [${x.shape}])`, { where: where(g, 'Split') });
  }
  const outs = parts.map((d) => ({ dtype: x.dtype, shape: x.shape.map((e, i) => (i === a ? d : e)) }));
  return g.addNode('Split', [x], { axis: a, split: parts }, outs).outputs;
}

/** Broadcast `x` to `shape` (numpy rules; the result has the broadcast of both shapes). */
export function expand(x: Value, shape: readonly number[]): Value {
  const g = x.graph;
  const out = broadcastShapes('Expand', g, x.shape, shape);
  if (out.length === x.shape.length && out.every((d, i) => d === x.shape[i])) return x;
  return single(g, 'Expand', [x], { shape: [...shape] }, x.dtype, out);
}

/** Zero padding: `pads` = [begin_0, ..., begin_{r-1}, end_0, ..., end_{r-1}], non-negative. */
export function pad(x: Value, pads: readonly number[]): Value {
  const g = x.graph;
  const r = x.shape.length;
  if (pads.length !== 2 * r || pads.some((p) => p < 0 || !Number.isInteger(p))) {
    fail('INVALID_ARGUMENT', `Pad: pads [${pads}] must be ${2 * r} non-negative integers for [${x.shape}]`, { where: where(g, 'Pad') });
  }
  return single(g, 'Pad', [x], { pads: [...pads] }, x.dtype, x.shape.map((d, i) => d + pads[i] + pads[i + r]));
}

/** Lower (or upper) triangle of the last two axes; the rest is zeroed. */
export function trilu(x: Value, upper: boolean, k = 0): Value {
  if (x.shape.length < 2) fail('SHAPE_MISMATCH', `Trilu: needs rank >= 2, got [${x.shape}]`, { where: where(x.graph, 'Trilu') });
  return single(x.graph, 'Trilu', [x], { upper, k }, x.dtype, x.shape);
}

// ---------------------------------------------------------------------------------------
// Composites built from the primitives above (their gradients come for free).

/** GELU, exact form: x/2 * (1 + erf(x/sqrt(2))) (Hendrycks & Gimpel 2016; HF `gelu`). */
export function gelu(x: Value): Value {
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}

/** GELU, tanh approximation (HF `gelu_new` / GPT-2): x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function geluTanh(x: Value): Value {
  const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return mul(mul(x, 0.5), add(tanh(inner), 1));
}

/** SiLU / swish: x * sigmoid(x). */
export function silu(x: Value): Value {
  return mul(x, sigmoid(x));
}

/** RMSNorm (Zhang & Sennrich 2019; HF LlamaRMSNorm): x / sqrt(mean(x^2) + eps) * weight. */
export function rmsNorm(x: Value, weight: Value, epsilon = 1e-6): Value {
  const ms = reduceMean(mul(x, x), -1, true);
  return mul(mul(x, reciprocal(sqrt(add(ms, epsilon)))), weight);
}

/** A constant of zeros shaped like `shape`, built as a broadcast scalar (no large constant in the graph). */
export function zeros(g: Graph, dtype: DType, shape: readonly number[]): Value {
  const z = g.scalar(0, dtype);
  return shape.length === 0 ? z : single(g, 'Expand', [z], { shape: [...shape] }, dtype, shape);
}

export function onesLike(x: Value): Value {
  const one = x.graph.scalar(1, x.dtype);
  return x.shape.length === 0 ? one : single(x.graph, 'Expand', [one], { shape: [...x.shape] }, x.dtype, x.shape);
}
