/**
 * Every gradient rule against central finite differences in float64 (tolerances in
 * helpers/gradcheck.ts), broadcasting cases included. One row per case; a final test
 * checks that the rows cover every differentiable op in the rule table.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NONDIFFERENTIABLE, RULES } from '../../src/autodiff/rules.js';
import type { Value } from '../../src/graph/graph.js';
import { OP_TYPES, type OpType } from '../../src/graph/op-types.js';
import * as op from '../../src/graph/ops.js';
import { type GradCheckOptions, type InputSpec, checkGrad } from '../helpers/gradcheck.js';

interface Case {
  name: string;
  f: (...xs: Value[]) => Value | Value[];
  inputs: InputSpec[];
  opts?: GradCheckOptions;
  /** Ops this case exercises (checked against the table for coverage). */
  covers: OpType[];
}

const idx = (shape: number[], values: number[]): InputSpec => ({ shape, dtype: 'int64', init: values, constant: true });
const positive = (shape: number[]): InputSpec => ({ shape, init: 'positive' });
const unit = (shape: number[]): InputSpec => ({ shape, init: 'unit' });

const CASES: Case[] = [
  { name: 'Add', f: op.add, inputs: [[2, 3], [2, 3]], covers: ['Add'] },
  { name: 'Add broadcast [2,3,4]+[4]', f: op.add, inputs: [[2, 3, 4], [4]], covers: ['Add'] },
  { name: 'Add broadcast [2,1,4]+[3,1]', f: op.add, inputs: [[2, 1, 4], [3, 1]], covers: ['Add'] },
  { name: 'Sub broadcast', f: op.sub, inputs: [[3, 1], [1, 4]], covers: ['Sub'] },
  { name: 'Mul broadcast', f: op.mul, inputs: [[2, 3, 4], [3, 1]], covers: ['Mul'] },
  { name: 'Div broadcast', f: op.div, inputs: [[2, 3], positive([3])], covers: ['Div'] },
  { name: 'Pow', f: op.pow, inputs: [positive([2, 3]), [2, 3]], covers: ['Pow'] },
  { name: 'Pow by scalar', f: (x) => op.pow(x, 3), inputs: [[2, 3]], covers: ['Pow'] },
  { name: 'Max', f: op.max, inputs: [[3, 4], [4]], covers: ['Max'] },
  { name: 'Min', f: op.min, inputs: [[3, 4], [3, 1]], covers: ['Min'] },
  { name: 'Neg', f: op.neg, inputs: [[2, 3]], covers: ['Neg'] },
  { name: 'Abs', f: op.abs, inputs: [[2, 3]], covers: ['Abs'] },
  { name: 'Sqrt', f: op.sqrt, inputs: [positive([2, 3])], covers: ['Sqrt'] },
  { name: 'Reciprocal', f: op.reciprocal, inputs: [positive([2, 3])], covers: ['Reciprocal'] },
  { name: 'Exp', f: op.exp, inputs: [[2, 3]], covers: ['Exp'] },
  { name: 'Log', f: op.log, inputs: [positive([2, 3])], covers: ['Log'] },
  { name: 'Tanh', f: op.tanh, inputs: [[2, 3]], covers: ['Tanh'] },
  // ONNX Runtime has no float64 Erf kernel on the CPU: checked in float32 with h = 1e-2
  // (truncation error ~ h^2 f''' ~ 1e-4, rounding ~ 1e-7/h ~ 1e-5).
  { name: 'Erf (float32)', f: op.erf, inputs: [unit([2, 3])], opts: { dtype: 'float32', h: 1e-2, atol: 1e-3, rtol: 1e-2 }, covers: ['Erf'] },
  { name: 'Sigmoid', f: op.sigmoid, inputs: [[2, 3]], covers: ['Sigmoid'] },
  { name: 'Relu', f: op.relu, inputs: [[3, 4]], covers: ['Relu'] },
  { name: 'Cos', f: op.cos, inputs: [[2, 3]], covers: ['Cos'] },
  { name: 'Sin', f: op.sin, inputs: [[2, 3]], covers: ['Sin'] },
  { name: 'Identity', f: op.identity, inputs: [[2, 3]], covers: ['Identity'] },
  { name: 'Cast float64 -> float32 -> float64', f: (x) => op.mul(op.cast(op.cast(x, 'float32'), 'float64'), 2), inputs: [[2, 3]], opts: { atol: 1e-5, rtol: 1e-4, h: 1e-3 }, covers: ['Cast'] },
  {
    name: 'Where with comparison masks (Less, Greater, Equal, And, Not)',
    f: (a, b) => op.where(op.and(op.not(op.equal(a, b)), op.less(a, b)), op.mul(a, 2), op.where(op.greater(a, 0), b, op.neg(b))),
    inputs: [[3, 4], [4]],
    covers: ['Where'],
  },
  { name: 'MatMul 2-D', f: op.matmul, inputs: [[3, 4], [4, 5]], covers: ['MatMul'] },
  { name: 'MatMul batched x shared weight', f: op.matmul, inputs: [[2, 3, 4], [4, 5]], covers: ['MatMul', 'Gemm'] },
  { name: 'MatMul batched x batched', f: op.matmul, inputs: [[2, 3, 4], [2, 4, 5]], covers: ['MatMul'] },
  { name: 'MatMul broadcast batch [2,1,3,4]x[3,4,2]', f: op.matmul, inputs: [[2, 1, 3, 4], [3, 4, 2]], covers: ['MatMul'] },
  { name: 'MatMul 2-D x batched', f: op.matmul, inputs: [[3, 4], [2, 4, 5]], covers: ['MatMul'] },
  { name: 'MatMul vector x matrix', f: op.matmul, inputs: [[4], [4, 5]], covers: ['MatMul'] },
  { name: 'MatMul matrix x vector', f: op.matmul, inputs: [[3, 4], [4]], covers: ['MatMul'] },
  { name: 'MatMul vector x vector', f: op.matmul, inputs: [[4], [4]], covers: ['MatMul'] },
  { name: 'Gemm', f: (a, b, c) => op.gemm(a, b, c, { alpha: 0.7, beta: 1.3 }), inputs: [[3, 4], [4, 5], [5]], covers: ['Gemm'] },
  { name: 'Gemm transA transB', f: (a, b, c) => op.gemm(a, b, c, { transA: true, transB: true, alpha: 0.5 }), inputs: [[4, 3], [5, 4], [3, 1]], covers: ['Gemm'] },
  { name: 'Gemm transA', f: (a, b) => op.gemm(a, b, null, { transA: true }), inputs: [[4, 3], [4, 5]], covers: ['Gemm'] },
  { name: 'Gemm transB', f: (a, b) => op.gemm(a, b, null, { transB: true }), inputs: [[3, 4], [5, 4]], covers: ['Gemm'] },
  { name: 'Softmax last axis', f: (x) => op.softmax(x, -1), inputs: [[2, 3, 4]], covers: ['Softmax'] },
  { name: 'Softmax middle axis', f: (x) => op.softmax(x, 1), inputs: [[2, 3, 4]], covers: ['Softmax'] },
  { name: 'LogSoftmax', f: (x) => op.logSoftmax(x, -1), inputs: [[2, 5]], covers: ['LogSoftmax'] },
  { name: 'LayerNormalization (x, scale, bias)', f: (x, s, b) => op.layerNorm(x, s, b), inputs: [[2, 3, 5], [5], [5]], covers: ['LayerNormalization'] },
  { name: 'LayerNormalization over two axes', f: (x, s, b) => op.layerNorm(x, s, b, 1, 1e-5), inputs: [[2, 3, 4], [3, 4], [4]], covers: ['LayerNormalization'] },
  { name: 'LayerNormalization without bias', f: (x, s) => op.layerNorm(x, s, null), inputs: [[3, 6], [6]], covers: ['LayerNormalization'] },
  { name: 'ReduceSum keepdims', f: (x) => op.reduceSum(x, [0, 2], true), inputs: [[2, 3, 4]], covers: ['ReduceSum'] },
  { name: 'ReduceSum', f: (x) => op.reduceSum(x, 1), inputs: [[2, 3, 4]], covers: ['ReduceSum'] },
  { name: 'ReduceMean', f: (x) => op.reduceMean(x, [1, 2]), inputs: [[2, 3, 4]], covers: ['ReduceMean'] },
  { name: 'ReduceMax', f: (x) => op.reduceMax(x, -1), inputs: [[3, 5]], covers: ['ReduceMax'] },
  { name: 'ReduceMax keepdims', f: (x) => op.reduceMax(x, 0, true), inputs: [[4, 3]], covers: ['ReduceMax'] },
  { name: 'Gather axis 0 (embedding, repeated ids)', f: (t, i) => op.gather(t, i, 0), inputs: [[5, 3], idx([2, 3], [1, 4, 1, 0, 1, 2])], covers: ['Gather', 'ScatterND'] },
  { name: 'Gather axis 1', f: (t, i) => op.gather(t, i, 1), inputs: [[2, 5, 3], idx([4], [4, 0, 4, 2])], covers: ['Gather'] },
  { name: 'GatherElements', f: (t, i) => op.gatherElements(t, i, 1), inputs: [[3, 4], idx([3, 2], [0, 3, 1, 1, 2, 0])], covers: ['GatherElements', 'ScatterElements'] },
  { name: 'GatherND', f: (t, i) => op.gatherND(t, i), inputs: [[3, 4, 2], idx([2, 2], [0, 1, 2, 3])], covers: ['GatherND'] },
  { name: 'ScatterND (replace)', f: (d, i, u) => op.scatterND(d, i, u), inputs: [[4, 3], idx([2, 1], [3, 1]), [2, 3]], covers: ['ScatterND'] },
  { name: 'ScatterND (add)', f: (d, i, u) => op.scatterND(d, i, u, 'add'), inputs: [[4, 3], idx([3, 1], [3, 1, 3]), [3, 3]], covers: ['ScatterND'] },
  { name: 'ScatterElements (replace)', f: (d, i, u) => op.scatterElements(d, i, u, 1), inputs: [[3, 4], idx([3, 1], [2, 0, 3]), [3, 1]], covers: ['ScatterElements'] },
  { name: 'ScatterElements (add)', f: (d, i, u) => op.scatterElements(d, i, u, 0, 'add'), inputs: [[3, 2], idx([2, 2], [0, 2, 0, 0]), [2, 2]], covers: ['ScatterElements'] },
  { name: 'Reshape', f: (x) => op.reshape(op.mul(x, x), [3, -1]), inputs: [[2, 3, 2]], covers: ['Reshape'] },
  { name: 'Transpose', f: (x) => op.mul(op.transpose(x, [2, 0, 1]), op.transpose(x, [2, 0, 1])), inputs: [[2, 3, 4]], covers: ['Transpose'] },
  { name: 'Unsqueeze / Squeeze', f: (x) => op.squeeze(op.mul(op.unsqueeze(x, [0, 2]), 3), 0), inputs: [[2, 3]], covers: ['Unsqueeze', 'Squeeze'] },
  { name: 'Concat', f: (a, b) => op.concat([a, op.mul(b, b), a], 1), inputs: [[2, 3], [2, 2]], covers: ['Concat', 'Split'] },
  { name: 'Split (one piece unused)', f: (x) => { const [a, , c] = op.split(x, 1, [1, 2, 2]); return op.mul(a, c.shape[1] === 2 ? op.reduceSum(c, 1, true) : c); }, inputs: [[3, 5]], covers: ['Split', 'Concat'] },
  { name: 'Slice unit steps', f: (x) => op.slice(x, [1, 0], [3, -1], [0, 2]), inputs: [[4, 3, 5]], covers: ['Slice', 'Pad'] },
  { name: 'Slice with steps (2 and -1)', f: (x) => op.slice(x, [0, 4], [4, 0], [0, 1], [2, -1]), inputs: [[4, 5]], covers: ['Slice'] },
  { name: 'Expand', f: (x) => op.mul(op.expand(x, [2, 3, 4]), op.expand(x, [2, 3, 4])), inputs: [[3, 1]], covers: ['Expand'] },
  { name: 'Pad', f: (x) => op.pad(x, [1, 0, 2, 3]), inputs: [[2, 3]], covers: ['Pad', 'Slice'] },
  { name: 'Trilu lower', f: (x) => op.trilu(x, false), inputs: [[2, 4, 4]], covers: ['Trilu'] },
  { name: 'Trilu upper k=1', f: (x) => op.trilu(x, true, 1), inputs: [[3, 4]], covers: ['Trilu'] },
  // Composites: their gradients come from the primitives'.
  { name: 'GELU (erf form, float32)', f: op.gelu, inputs: [[2, 5]], opts: { dtype: 'float32', h: 1e-2, atol: 2e-3, rtol: 1e-2 }, covers: [] },
  { name: 'GELU (tanh form)', f: op.geluTanh, inputs: [[2, 5]], covers: [] },
  { name: 'SiLU', f: op.silu, inputs: [[2, 5]], covers: [] },
  { name: 'RMSNorm', f: (x, w) => op.rmsNorm(x, w, 1e-6), inputs: [[2, 3, 4], [4]], covers: [] },
  { name: 'two outputs with their own cotangents', f: (x, y) => [op.mul(x, y), op.exp(x)], inputs: [[2, 3], [3]], covers: [] },
];

describe('gradient rules vs central finite differences', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      await checkGrad(c.f, c.inputs, c.opts);
    });
  }

  it('covers every differentiable op in the rule table', () => {
    const covered = new Set(CASES.flatMap((c) => c.covers));
    const missing = OP_TYPES.filter((t) => RULES[t] !== NONDIFFERENTIABLE && !covered.has(t));
    assert.deepEqual(missing, [], `ops with a rule but no finite-difference case: ${missing.join(', ')}`);
  });
});
