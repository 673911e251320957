/**
 * The closed set of ops a glassbox graph may contain, with their attributes typed once.
 * The builder (`ops.ts`), the ONNX emitter (`to-onnx.ts`), the importer and the gradient
 * rules (`autodiff/rules.ts`) all read these types, so adding an op without a gradient
 * rule, or without an emitter, does not compile.
 *
 * Static operands that ONNX passes as inputs since opset 13/18 (Reduce* axes, Reshape's
 * shape, Slice's starts/ends, Split sizes, Expand's shape, Trilu's k) are attributes here:
 * shapes are concrete, so they are always known at build time. The emitter turns them into
 * int64 initializers; the importer folds constant inputs back into attributes.
 */
import type { DType } from './dtype.js';

type None = Record<string, never>;

export interface OpAttrs {
  // Elementwise, binary with numpy broadcasting.
  Add: None;
  Sub: None;
  Mul: None;
  Div: None;
  Pow: None;
  Max: None;
  Min: None;
  Equal: None;
  Less: None;
  Greater: None;
  And: None;
  // Elementwise, unary.
  Neg: None;
  Abs: None;
  Sqrt: None;
  Reciprocal: None;
  Exp: None;
  Log: None;
  Tanh: None;
  Erf: None;
  Sigmoid: None;
  Relu: None;
  Cos: None;
  Sin: None;
  Identity: None;
  Not: None;
  Cast: { to: DType };
  Where: None;
  // Linear algebra.
  MatMul: None;
  Gemm: { transA: boolean; transB: boolean; alpha: number; beta: number };
  // Normalisation and softmax.
  Softmax: { axis: number };
  LogSoftmax: { axis: number };
  /** Outputs: Y, Mean, InvStdDev (the last two shaped like X with the normalised axes set to 1). */
  LayerNormalization: { axis: number; epsilon: number };
  // Reductions (axes normalised to non-negative, sorted).
  ReduceSum: { axes: number[]; keepdims: boolean };
  ReduceMean: { axes: number[]; keepdims: boolean };
  ReduceMax: { axes: number[]; keepdims: boolean };
  // Indexing and shapes.
  Gather: { axis: number };
  GatherElements: { axis: number };
  GatherND: None;
  ScatterND: { reduction: 'none' | 'add' };
  ScatterElements: { axis: number; reduction: 'none' | 'add' };
  Reshape: { shape: number[] };
  Transpose: { perm: number[] };
  Unsqueeze: { axes: number[] };
  Squeeze: { axes: number[] };
  Concat: { axis: number };
  Slice: { starts: number[]; ends: number[]; axes: number[]; steps: number[] };
  Split: { axis: number; split: number[] };
  Expand: { shape: number[] };
  Pad: { pads: number[] };
  Trilu: { upper: boolean; k: number };
}

export type OpType = keyof OpAttrs;

export const OP_TYPES = [
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Equal', 'Less', 'Greater', 'And',
  'Neg', 'Abs', 'Sqrt', 'Reciprocal', 'Exp', 'Log', 'Tanh', 'Erf', 'Sigmoid', 'Relu', 'Cos', 'Sin',
  'Identity', 'Not', 'Cast', 'Where',
  'MatMul', 'Gemm',
  'Softmax', 'LogSoftmax', 'LayerNormalization',
  'ReduceSum', 'ReduceMean', 'ReduceMax',
  'Gather', 'GatherElements', 'GatherND', 'ScatterND', 'ScatterElements', 'Reshape', 'Transpose', 'Unsqueeze', 'Squeeze',
  'Concat', 'Slice', 'Split', 'Expand', 'Pad', 'Trilu',
] as const satisfies readonly OpType[];

// Compile-time check that OP_TYPES lists every op.
type Missing = Exclude<OpType, (typeof OP_TYPES)[number]>;
const _exhaustive: Missing extends never ? true : Missing = true;
void _exhaustive;
