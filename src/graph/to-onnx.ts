/**
 * Graph -> OnnxModel (opset 18). Only the nodes the outputs need are emitted, and only
 * the inputs those nodes read become model inputs, so a graph that stops at layer 3 does
 * not ask for layer 11's weights. Static attributes that ONNX takes as inputs (axes,
 * shapes, slice bounds, split sizes, pads, Trilu's k) become small int64 initializers.
 */
import { fail } from '../errors.js';
import { type AnyTypedArray, type DType } from './dtype.js';
import type { Graph, Node, Value } from './graph.js';
import type { OpAttrs, OpType } from './op-types.js';
import { IR_VERSION, OPSET, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from '../onnx/model.js';

/** For each op: its ONNX attributes, and the static int64 operands appended as inputs. */
/** Static operands: a 1-D int64 list, a 0-D int64 scalar, or null for an omitted optional input. */
type StaticOperand = number[] | { scalar: number } | null;
type Emitter<T extends OpType> = (attrs: OpAttrs[T], node: Node<T>) => { attributes?: OnnxAttribute[]; extraInputs?: StaticOperand[] };

const ints = (name: string, value: number[]): OnnxAttribute => ({ name, type: 'ints', value });
const int = (name: string, value: number): OnnxAttribute => ({ name, type: 'int', value });
const float = (name: string, value: number): OnnxAttribute => ({ name, type: 'float', value });
const str = (name: string, value: string): OnnxAttribute => ({ name, type: 'string', value });
const plain = (): ReturnType<Emitter<OpType>> => ({});

const ONNX_DTYPE_CODE: Record<DType, number> = { float32: 1, int32: 6, int64: 7, bool: 9, float64: 11 };

/** A large negative end index: ONNX reads a clamped end of -1 as "dim - 1", not "before 0". */
const BEFORE_START = -(2 ** 53) + 1;

export const EMITTERS: { [T in OpType]: Emitter<T> } = {
  Add: plain, Sub: plain, Mul: plain, Div: plain, Pow: plain, Max: plain, Min: plain,
  Equal: plain, Less: plain, Greater: plain, And: plain,
  Neg: plain, Abs: plain, Sqrt: plain, Reciprocal: plain, Exp: plain, Log: plain, Tanh: plain, Erf: plain,
  Sigmoid: plain, Relu: plain, Cos: plain, Sin: plain, Identity: plain, Not: plain, Where: plain, MatMul: plain,
  Cast: (a) => ({ attributes: [int('to', ONNX_DTYPE_CODE[a.to])] }),
  Gemm: (a) => ({ attributes: [int('transA', a.transA ? 1 : 0), int('transB', a.transB ? 1 : 0), float('alpha', a.alpha), float('beta', a.beta)] }),
  Softmax: (a) => ({ attributes: [int('axis', a.axis)] }),
  LogSoftmax: (a) => ({ attributes: [int('axis', a.axis)] }),
  LayerNormalization: (a) => ({ attributes: [int('axis', a.axis), float('epsilon', a.epsilon)] }),
  ReduceSum: (a) => ({ attributes: [int('keepdims', a.keepdims ? 1 : 0)], extraInputs: [a.axes] }),
  ReduceMean: (a) => ({ attributes: [int('keepdims', a.keepdims ? 1 : 0)], extraInputs: [a.axes] }),
  ReduceMax: (a) => ({ attributes: [int('keepdims', a.keepdims ? 1 : 0)], extraInputs: [a.axes] }),
  Gather: (a) => ({ attributes: [int('axis', a.axis)] }),
  GatherElements: (a) => ({ attributes: [int('axis', a.axis)] }),
  GatherND: plain,
  ScatterND: (a) => ({ attributes: a.reduction === 'none' ? [] : [str('reduction', a.reduction)] }),
  ScatterElements: (a) => ({ attributes: [int('axis', a.axis), ...(a.reduction === 'none' ? [] : [str('reduction', a.reduction)])] }),
  Reshape: (a) => ({ extraInputs: [a.shape] }),
  Transpose: (a) => ({ attributes: [ints('perm', a.perm)] }),
  Unsqueeze: (a) => ({ extraInputs: [a.axes] }),
  Squeeze: (a) => ({ extraInputs: [a.axes] }),
  Concat: (a) => ({ attributes: [int('axis', a.axis)] }),
  Slice: (a) => ({
    extraInputs: [a.starts, a.ends.map((e, i) => (a.steps[i] < 0 && e < 0 ? BEFORE_START : e)), a.axes, a.steps],
  }),
  Split: (a) => ({ attributes: [int('axis', a.axis)], extraInputs: [a.split] }),
  Expand: (a) => ({ extraInputs: [a.shape] }),
  Pad: (a) => ({ extraInputs: [a.pads] }),
  Trilu: (a) => ({ attributes: [int('upper', a.upper ? 1 : 0)], extraInputs: [{ scalar: a.k }] }),
};

export interface EmittedGraph {
  model: OnnxModel;
  /** Graph inputs the model reads (a subset of `graph.inputs`). */
  inputs: Value[];
  /** Output names, in order. */
  outputs: string[];
}

export function toOnnx(g: Graph): EmittedGraph {
  if (g.outputs.size === 0) fail('INVALID_ARGUMENT', `graph '${g.name}' has no outputs`, { hint: 'Call graph.output(name, value) first' });
  const outputValues = [...g.outputs.values()];
  const order = g.topoOrder(outputValues);

  const nameOf = new Map<Value, string>();
  const used = new Set<Value>();
  for (const n of order) for (const v of n.inputs) if (v) used.add(v);
  for (const v of outputValues) used.add(v);

  // Outputs take the names the user gave them: rename the producing node's output where
  // we can, otherwise (an input, a constant, or a value exported twice) add an Identity.
  const identities: OnnxNode[] = [];
  const reserved = new Set(g.outputs.keys());
  for (const [outName, v] of g.outputs) {
    if (v.producer && !nameOf.has(v)) nameOf.set(v, outName);
    else identities.push({ name: `output_${outName}`, opType: 'Identity', domain: '', inputs: [v.name], outputs: [outName], attributes: [] });
  }
  const name = (v: Value): string => {
    const n = nameOf.get(v);
    if (n !== undefined) return n;
    if (reserved.has(v.name)) fail('INVALID_ARGUMENT', `value name '${v.name}' collides with an output name`);
    return v.name;
  };
  // Identity inputs refer to values by their own names: fix them now that renames are known.
  for (const node of identities) {
    const v = [...g.outputs.entries()].find(([k]) => k === node.outputs[0])![1];
    node.inputs = [name(v)];
  }

  const initializers: OnnxTensor[] = [];
  for (const c of g.constants) if (used.has(c)) initializers.push({ name: c.name, dtype: c.dtype, dims: [...c.shape], data: c.data! });

  const nodes: OnnxNode[] = [];
  for (const n of order) nodes.push(emitNode(n, name, initializers, usedOutputs(n, used)));
  nodes.push(...identities);

  const inputs = g.inputs.filter((v) => used.has(v));
  return {
    model: {
      irVersion: IR_VERSION,
      opsetVersion: OPSET,
      producerName: 'glassbox',
      graphName: g.name,
      inputs: inputs.map((v) => ({ name: v.name, dtype: v.dtype, dims: [...v.shape] })),
      outputs: [...g.outputs.entries()].map(([k, v]) => ({ name: k, dtype: v.dtype, dims: [...v.shape] })),
      nodes,
      initializers,
    },
    inputs,
    outputs: [...g.outputs.keys()],
  };
}

function usedOutputs(n: Node, used: Set<Value>): boolean[] {
  return n.outputs.map((v) => used.has(v));
}

function emitNode(n: Node, name: (v: Value) => string, inits: OnnxTensor[], outUsed: boolean[]): OnnxNode {
  const emitter = EMITTERS[n.op] as Emitter<OpType>;
  const { attributes = [], extraInputs = [] } = emitter(n.attrs, n);
  const inputs = n.inputs.map((v) => (v ? name(v) : ''));
  extraInputs.forEach((vals, i) => {
    if (vals === null) {
      inputs.push('');
      return;
    }
    const list = Array.isArray(vals) ? vals : [vals.scalar];
    const dims = Array.isArray(vals) ? [vals.length] : [];
    const t: OnnxTensor = { name: `${n.name}:static${i}`, dtype: 'int64', dims, data: BigInt64Array.from(list, (x) => BigInt(x)) as AnyTypedArray };
    inits.push(t);
    inputs.push(t.name);
  });
  // Optional trailing outputs nobody reads are omitted (LayerNormalization's Mean/InvStdDev).
  let last = n.outputs.length - 1;
  if (n.op === 'LayerNormalization') while (last > 0 && !outUsed[last]) last--;
  const outputs = n.outputs.slice(0, last + 1).map((v, i) => (outUsed[i] || i === 0 || n.op !== 'LayerNormalization' ? name(v) : ''));
  return { name: n.name, opType: n.op, domain: '', inputs, outputs, attributes };
}
