/**
 * One vector-Jacobian rule per op, in one exhaustive table: an op without an entry does not
 * compile. A rule receives the node, the cotangents of its outputs and which inputs need a
 * gradient, and builds the input cotangents from ordinary graph ops, so the backward pass
 * is plain ONNX that runs in the same session as the forward pass.
 *
 * Notation in the derivations: y = op(x, ...), dy = dL/dy (the incoming cotangent),
 * dx = dL/dx. `unbroadcast` sums a cotangent over the axes numpy broadcasting added or
 * stretched, so dx always has x's shape.
 *
 * Ops whose inputs are integers, booleans or shapes only (comparisons, And, Not) are
 * declared NONDIFFERENTIABLE explicitly rather than left out.
 */
import { fail } from '../errors.js';
import { isFloat, sizeOf } from '../graph/dtype.js';
import type { Node, Value } from '../graph/graph.js';
import type { OpType } from '../graph/op-types.js';
import * as op from '../graph/ops.js';

export interface RuleContext<T extends OpType> {
  node: Node<T>;
  /** Inputs of the node (non-null where present). */
  x: Value[];
  /** Outputs of the node. */
  y: Value[];
  /** Cotangent per output; null where no gradient flows into that output. */
  dy: (Value | null)[];
  /** Which inputs need a cotangent. A rule may skip work for the others. */
  needs: boolean[];
}

export type GradRule<T extends OpType> = (ctx: RuleContext<T>) => (Value | null)[];
export const NONDIFFERENTIABLE = 'nondifferentiable' as const;

// ---------------------------------------------------------------------------------------
// Helpers

/** Sum `dy` down to `shape`: over leading axes broadcasting added and axes it stretched from 1. */
export function unbroadcast(dy: Value, shape: readonly number[]): Value {
  const lead = dy.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < dy.shape.length; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && dy.shape[i] !== 1) axes.push(i);
  }
  const summed = axes.length ? op.reduceSum(dy, axes, true) : dy;
  return op.reshape(summed, shape);
}

/** The cotangent of a single-output node (rules are only called when some dy is non-null). */
function d0(ctx: RuleContext<OpType>): Value {
  return ctx.dy[0]!;
}

/** Turn a reduced tensor back to `x`'s rank by putting size-1 axes where `axes` were removed. */
function keepDims(v: Value, axes: readonly number[], keepdims: boolean, rank: number): Value {
  if (keepdims) return v;
  const shape: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : v.shape[j++]);
  return op.reshape(v, shape);
}

/** Swap the last two axes. */
function mT(v: Value): Value {
  const r = v.shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return op.transpose(v, perm);
}

const unaryRule =
  <T extends OpType>(f: (x: Value, y: Value, dy: Value) => Value): GradRule<T> =>
  (ctx) => [f(ctx.x[0], ctx.y[0], d0(ctx as RuleContext<OpType>))];

// ---------------------------------------------------------------------------------------
// The table

export const RULES: { [T in OpType]: GradRule<T> | typeof NONDIFFERENTIABLE } = {
  // d(a+b) = da + db
  Add: ({ x, dy, needs }) => [needs[0] ? unbroadcast(dy[0]!, x[0].shape) : null, needs[1] ? unbroadcast(dy[0]!, x[1].shape) : null],
  // d(a-b) = da - db
  Sub: ({ x, dy, needs }) => [needs[0] ? unbroadcast(dy[0]!, x[0].shape) : null, needs[1] ? unbroadcast(op.neg(dy[0]!), x[1].shape) : null],
  // d(ab) = b da + a db
  Mul: ({ x: [a, b], dy, needs }) => [
    needs[0] ? unbroadcast(op.mul(dy[0]!, b), a.shape) : null,
    needs[1] ? unbroadcast(op.mul(dy[0]!, a), b.shape) : null,
  ],
  // d(a/b) = da/b - (a/b^2) db = (da - y db)/b
  Div: ({ x: [a, b], y: [y], dy, needs }) => {
    const g = op.div(dy[0]!, b);
    return [needs[0] ? unbroadcast(g, a.shape) : null, needs[1] ? unbroadcast(op.neg(op.mul(g, y)), b.shape) : null];
  },
  // d(a^b) = b a^(b-1) da + a^b ln(a) db; ln(a) taken as 0 where a <= 0 (the derivative in b
  // is undefined there, and PyTorch returns 0 at a == 0 for the common x^2 case).
  Pow: ({ x: [a, b], y: [y], dy, needs }) => {
    const da = needs[0] ? unbroadcast(op.mul(dy[0]!, op.mul(b, op.pow(a, op.sub(b, 1)))), a.shape) : null;
    let db: Value | null = null;
    if (needs[1]) {
      const positive = op.greater(a, 0);
      const lnA = op.where(positive, op.log(op.where(positive, a, 1)), 0);
      db = unbroadcast(op.mul(dy[0]!, op.mul(y, lnA)), b.shape);
    }
    return [da, db];
  },
  // max(a, b): the cotangent goes to the larger operand; ties split it evenly (as PyTorch's maximum).
  Max: ({ x: [a, b], dy, needs }) => {
    const wa = op.add(op.cast(op.greater(a, b), a.dtype), op.mul(op.cast(op.equal(a, b), a.dtype), 0.5));
    return [needs[0] ? unbroadcast(op.mul(dy[0]!, wa), a.shape) : null, needs[1] ? unbroadcast(op.mul(dy[0]!, op.sub(1, wa)), b.shape) : null];
  },
  Min: ({ x: [a, b], dy, needs }) => {
    const wa = op.add(op.cast(op.less(a, b), a.dtype), op.mul(op.cast(op.equal(a, b), a.dtype), 0.5));
    return [needs[0] ? unbroadcast(op.mul(dy[0]!, wa), a.shape) : null, needs[1] ? unbroadcast(op.mul(dy[0]!, op.sub(1, wa)), b.shape) : null];
  },
  Equal: NONDIFFERENTIABLE,
  Less: NONDIFFERENTIABLE,
  Greater: NONDIFFERENTIABLE,
  And: NONDIFFERENTIABLE,
  Not: NONDIFFERENTIABLE,

  Neg: unaryRule((_x, _y, dy) => op.neg(dy)),
  // d|x| = sign(x) dx, with sign(0) = 0 (as PyTorch).
  Abs: unaryRule((x, _y, dy) => op.mul(dy, op.sub(op.cast(op.greater(x, 0), x.dtype), op.cast(op.less(x, 0), x.dtype)))),
  // d sqrt(x) = dx / (2 sqrt(x))
  Sqrt: unaryRule((_x, y, dy) => op.div(op.mul(dy, 0.5), y)),
  // d(1/x) = -dx / x^2 = -y^2 dx
  Reciprocal: unaryRule((_x, y, dy) => op.neg(op.mul(dy, op.mul(y, y)))),
  // d exp(x) = exp(x) dx
  Exp: unaryRule((_x, y, dy) => op.mul(dy, y)),
  // d ln(x) = dx / x
  Log: unaryRule((x, _y, dy) => op.div(dy, x)),
  // d tanh(x) = (1 - tanh^2 x) dx
  Tanh: unaryRule((_x, y, dy) => op.mul(dy, op.sub(1, op.mul(y, y)))),
  // d erf(x) = 2/sqrt(pi) exp(-x^2) dx
  Erf: unaryRule((x, _y, dy) => op.mul(dy, op.mul(op.exp(op.neg(op.mul(x, x))), 2 / Math.sqrt(Math.PI)))),
  // d sigmoid(x) = s (1 - s) dx
  Sigmoid: unaryRule((_x, y, dy) => op.mul(dy, op.mul(y, op.sub(1, y)))),
  // d relu(x) = [x > 0] dx (subgradient 0 at 0, as PyTorch)
  Relu: unaryRule((x, _y, dy) => op.where(op.greater(x, 0), dy, 0)),
  // d cos(x) = -sin(x) dx;  d sin(x) = cos(x) dx
  Cos: unaryRule((x, _y, dy) => op.neg(op.mul(dy, op.sin(x)))),
  Sin: unaryRule((x, _y, dy) => op.mul(dy, op.cos(x))),
  Identity: unaryRule((_x, _y, dy) => dy),
  // Casts between float types carry the cotangent back in the source precision; casts from
  // integers or booleans have none.
  Cast: ({ x: [x], dy }) => [isFloat(x.dtype) && isFloat(dy[0]!.dtype) ? op.cast(dy[0]!, x.dtype) : null],
  // y = c ? a : b  =>  da = [c] dy, db = [!c] dy
  Where: ({ x: [c, a, b], dy, needs }) => [
    null,
    needs[1] ? unbroadcast(op.where(c, dy[0]!, 0), a.shape) : null,
    needs[2] ? unbroadcast(op.where(c, 0, dy[0]!), b.shape) : null,
  ],

  // Y = A B  =>  dA = dY B^T,  dB = A^T dY (summed over broadcast batch axes).
  MatMul: ({ x: [a, b], dy, needs }) => matmulGrad(a, b, dy[0]!, needs),
  // Y = alpha op(A) op(B) + beta C. With op(A) = A:  dA = alpha dY op(B)^T; with op(A) = A^T:
  // dA = alpha op(B) dY^T. Symmetrically for B; dC = beta dY summed to C's shape.
  Gemm: ({ node, x: [a, b, c], dy, needs }) => {
    const { transA, transB, alpha, beta } = node.attrs;
    const g = dy[0]!;
    const da = !needs[0] ? null : transA ? op.gemm(b, g, null, { transA: transB, transB: true, alpha }) : op.gemm(g, b, null, { transB: !transB, alpha });
    const db = !needs[1] ? null : transB ? op.gemm(g, a, null, { transA: true, transB: transA, alpha }) : op.gemm(a, g, null, { transA: !transA, alpha });
    const dc = c && needs[2] ? unbroadcast(beta === 1 ? g : op.mul(g, beta), c.shape) : null;
    return c ? [da, db, dc] : [da, db];
  },

  // y = softmax(x)  =>  dx = y * (dy - sum(dy * y))   (sums along the softmax axis)
  Softmax: ({ node, y: [y], dy }) => {
    const s = op.reduceSum(op.mul(dy[0]!, y), node.attrs.axis, true);
    return [op.mul(y, op.sub(dy[0]!, s))];
  },
  // y = x - logsumexp(x)  =>  dx = dy - exp(y) * sum(dy)
  LogSoftmax: ({ node, y: [y], dy }) => [op.sub(dy[0]!, op.mul(op.exp(y), op.reduceSum(dy[0]!, node.attrs.axis, true)))],
  // xh = (x - mean) * r with r = 1/sqrt(var + eps);  y = xh * scale + bias.
  // With g = dy * scale and means over the normalised axes (Ba et al. 2016; the standard
  // derivation, e.g. PyTorch's layer_norm_backward):
  //   dx = r * (g - mean(g) - xh * mean(g * xh)),  dscale = sum(dy * xh),  dbias = sum(dy).
  // Gradients flowing into the Mean / InvStdDev outputs themselves are not supported.
  LayerNormalization: ({ node, x: [x, scale, bias], y: [, mean, invStd], dy, needs }) => {
    if (dy[1] || dy[2]) fail('NO_GRADIENT', 'LayerNormalization: gradients through the Mean/InvStdDev outputs are not supported', { where: node.name });
    const g0 = dy[0]!;
    const axes = [...Array(x.shape.length - node.attrs.axis).keys()].map((i) => i + node.attrs.axis);
    // Reuse the forward pass's statistics where they have X's precision (float32); in
    // float64 recompute them, since ONNX keeps them in float32.
    let xh: Value;
    let r: Value;
    if (mean.dtype === x.dtype) {
      r = invStd;
      xh = op.mul(op.sub(x, mean), invStd);
    } else {
      const centered = op.sub(x, op.reduceMean(x, axes, true));
      r = op.reciprocal(op.sqrt(op.add(op.reduceMean(op.mul(centered, centered), axes, true), node.attrs.epsilon)));
      xh = op.mul(centered, r);
    }
    let dx: Value | null = null;
    if (needs[0]) {
      const g = op.mul(g0, scale);
      const mg = op.reduceMean(g, axes, true);
      const mgx = op.reduceMean(op.mul(g, xh), axes, true);
      dx = op.mul(r, op.sub(op.sub(g, mg), op.mul(xh, mgx)));
    }
    const dscale = needs[1] ? unbroadcast(op.mul(g0, xh), scale.shape) : null;
    const dbias = bias && needs[2] ? unbroadcast(g0, bias.shape) : null;
    return bias ? [dx, dscale, dbias] : [dx, dscale];
  },

  // y = sum(x, axes)  =>  dx = dy broadcast back over the reduced axes.
  ReduceSum: ({ node, x: [x], dy }) => [op.expand(keepDims(dy[0]!, node.attrs.axes, node.attrs.keepdims, x.shape.length), x.shape)],
  // y = mean(x, axes)  =>  dx = dy / n broadcast back.
  ReduceMean: ({ node, x: [x], dy }) => {
    const n = node.attrs.axes.reduce((p, a) => p * x.shape[a], 1);
    return [op.expand(op.div(keepDims(dy[0]!, node.attrs.axes, node.attrs.keepdims, x.shape.length), n), x.shape)];
  },
  // y = max(x, axes)  =>  the cotangent goes to the maximal elements, split evenly among ties.
  ReduceMax: ({ node, x: [x], y: [y], dy }) => {
    const { axes, keepdims } = node.attrs;
    const r = x.shape.length;
    const mask = op.cast(op.equal(x, keepDims(y, axes, keepdims, r)), x.dtype);
    const count = op.reduceSum(mask, axes, true);
    return [op.mul(mask, op.div(keepDims(dy[0]!, axes, keepdims, r), count))];
  },

  // out = data.take(idx, axis)  =>  d data = scatter-add of dy at idx (repeated indices add up).
  Gather: ({ node, x: [data, idx], dy }) => [gatherGrad(data, idx, dy[0]!, node.attrs.axis), null],
  // out[..i..] = data[..idx[..i..]..] along axis  =>  d data = ScatterElements-add of dy.
  GatherElements: ({ node, x: [data, idx], dy }) => [
    op.scatterElements(op.zeros(data.graph, data.dtype, data.shape), idx, dy[0]!, node.attrs.axis, 'add'),
    null,
  ],
  // out = data[idx]  (tuples of the last axis)  =>  d data = ScatterND-add of dy.
  GatherND: ({ x: [data, idx], dy }) => [op.scatterND(op.zeros(data.graph, data.dtype, data.shape), idx, dy[0]!, 'add'), null],
  // 'none': the scattered slices of data are overwritten, so their cotangent is 0 and the
  // updates receive dy gathered there. 'add': data passes dy through unchanged.
  ScatterND: ({ node, x: [data, idx, upd], dy, needs }) => [
    needs[0] ? (node.attrs.reduction === 'add' ? dy[0]! : op.scatterND(dy[0]!, idx, op.zeros(data.graph, data.dtype, upd.shape))) : null,
    null,
    needs[2] ? op.gatherND(dy[0]!, idx) : null,
  ],
  ScatterElements: ({ node, x: [data, idx, upd], dy, needs }) => [
    needs[0] ? (node.attrs.reduction === 'add' ? dy[0]! : op.scatterElements(dy[0]!, idx, op.zeros(data.graph, data.dtype, upd.shape), node.attrs.axis)) : null,
    null,
    needs[2] ? op.gatherElements(dy[0]!, idx, node.attrs.axis) : null,
  ],

  // Shape ops move elements without changing them: the cotangent moves back.
  Reshape: ({ x: [x], dy }) => [op.reshape(dy[0]!, x.shape)],
  Unsqueeze: ({ x: [x], dy }) => [op.reshape(dy[0]!, x.shape)],
  Squeeze: ({ x: [x], dy }) => [op.reshape(dy[0]!, x.shape)],
  Transpose: ({ node, dy }) => {
    const inv: number[] = [];
    node.attrs.perm.forEach((p, i) => (inv[p] = i));
    return [op.transpose(dy[0]!, inv)];
  },
  // y = concat(x_i)  =>  dx_i = the matching piece of dy.
  Concat: ({ node, x, dy }) => op.split(dy[0]!, node.attrs.axis, x.map((v) => v.shape[node.attrs.axis])),
  // y = split(x)  =>  dx = concat(dy_i), zeros for pieces with no cotangent.
  Split: ({ node, x: [x], y, dy }) => [op.concat(y.map((v, i) => dy[i] ?? op.zeros(x.graph, x.dtype, v.shape)), node.attrs.axis)],
  // y = x[s:e:k]  =>  dx = dy placed back at those positions, zeros elsewhere.
  Slice: ({ node, x: [x], dy }) => [sliceGrad(x, dy[0]!, node.attrs)],
  // y = broadcast(x)  =>  dx = dy summed over the broadcast axes.
  Expand: ({ x: [x], dy }) => [unbroadcast(dy[0]!, x.shape)],
  // y = zero-pad(x)  =>  dx = the un-padded window of dy.
  Pad: ({ node, x: [x], dy }) => {
    const r = x.shape.length;
    const starts = node.attrs.pads.slice(0, r);
    return [op.slice(dy[0]!, starts, starts.map((s, i) => s + x.shape[i]), [...Array(r).keys()])];
  },
  // y = mask * x for a fixed triangular mask  =>  dx = mask * dy.
  Trilu: ({ node, dy }) => [op.trilu(dy[0]!, node.attrs.upper, node.attrs.k)],
};

// ---------------------------------------------------------------------------------------
// Longer rules

/**
 * MatMul with numpy semantics. 1-D operands are promoted ([K] -> [1, K] for A,
 * [K] -> [K, 1] for B), the rule applied, and the result reshaped back. When B is a 2-D
 * weight shared across a batch of A's, dB = A^T dY is done as one [K, M*] x [M*, N] Gemm
 * instead of a batched product followed by a sum.
 */
function matmulGrad(a: Value, b: Value, dy: Value, needs: boolean[]): (Value | null)[] {
  const a2 = a.shape.length === 1 ? op.reshape(a, [1, a.shape[0]]) : a;
  const b2 = b.shape.length === 1 ? op.reshape(b, [b.shape[0], 1]) : b;
  const outShape = [...dy.shape];
  if (a.shape.length === 1) outShape.splice(outShape.length - (b.shape.length === 1 ? 0 : 1), 0, 1);
  if (b.shape.length === 1) outShape.push(1);
  const g = op.reshape(dy, outShape);

  let da: Value | null = null;
  let db: Value | null = null;
  if (needs[0]) {
    da = b2.shape.length === 2 && a2.shape.length > 2 ? op.matmul(g, op.transpose(b2, [1, 0])) : unbroadcast(op.matmul(g, mT(b2)), a2.shape);
    da = op.reshape(da, a.shape);
  }
  if (needs[1]) {
    if (b2.shape.length === 2) {
      const k = a2.shape[a2.shape.length - 1];
      const n = g.shape[g.shape.length - 1];
      const rows = sizeOf(a2.shape) / k;
      const aFlat = op.reshape(a2, [rows, k]);
      const gFlat = op.reshape(g, [rows, n]);
      db = op.gemm(aFlat, gFlat, null, { transA: true });
    } else {
      db = unbroadcast(op.matmul(mT(a2.shape.length === 2 ? op.expand(a2, [...g.shape.slice(0, -2), ...a2.shape]) : a2), g), b2.shape);
    }
    db = op.reshape(db, b.shape);
  }
  return [da, db];
}

/** Scatter-add `dy` back into a zero tensor of `data`'s shape along `axis`. */
function gatherGrad(data: Value, idx: Value, dy: Value, axis: number): Value {
  const g = data.graph;
  const q = idx.shape.length;
  const r = data.shape.length;
  const idx64 = op.cast(idx, 'int64');
  if (axis === 0) {
    return op.scatterND(op.zeros(g, data.dtype, data.shape), op.unsqueeze(idx64, -1), dy, 'add');
  }
  // Move the gathered axis to the front: dy is data[:a] + idx + data[a+1:]; permute it to
  // idx + data[:a] + data[a+1:], scatter into [data[a]] + data[:a] + data[a+1:], move back.
  const dyPerm = [
    ...[...Array(q).keys()].map((i) => axis + i),
    ...[...Array(axis).keys()],
    ...[...Array(r - axis - 1).keys()].map((i) => axis + q + i),
  ];
  const moved = op.transpose(dy, dyPerm);
  const frontShape = [data.shape[axis], ...data.shape.slice(0, axis), ...data.shape.slice(axis + 1)];
  const scattered = op.scatterND(op.zeros(g, data.dtype, frontShape), op.unsqueeze(idx64, -1), moved, 'add');
  const back = [...Array(r).keys()].map((i) => (i < axis ? i + 1 : i === axis ? 0 : i));
  return op.transpose(scattered, back);
}

/** Put `dy` back where the slice took it from. Unit steps: zero padding. Other steps: a scatter. */
function sliceGrad(x: Value, dy: Value, a: { starts: number[]; ends: number[]; axes: number[]; steps: number[] }): Value {
  const r = x.shape.length;
  if (a.steps.every((s) => s === 1)) {
    const pads = Array(2 * r).fill(0);
    a.axes.forEach((ax, i) => {
      pads[ax] = a.starts[i];
      pads[ax + r] = x.shape[ax] - a.starts[i] - dy.shape[ax];
    });
    return op.pad(dy, pads);
  }
  // General steps: the index tuple of every element of dy in x, as an int64 constant.
  const n = sizeOf(dy.shape);
  const idx = new BigInt64Array(n * r);
  const coord = Array(r).fill(0);
  for (let e = 0; e < n; e++) {
    for (let d = 0; d < r; d++) {
      const k = a.axes.indexOf(d);
      idx[e * r + d] = BigInt(k < 0 ? coord[d] : a.starts[k] + coord[d] * a.steps[k]);
    }
    for (let d = r - 1; d >= 0; d--) {
      if (++coord[d] < dy.shape[d]) break;
      coord[d] = 0;
    }
  }
  const indices = x.graph.constant(idx, [...dy.shape, r]);
  return op.scatterND(op.zeros(x.graph, x.dtype, x.shape), indices, dy, 'add');
}
