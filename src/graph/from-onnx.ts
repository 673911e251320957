/**
 * OnnxModel -> Graph: import a model exported by another tool (PyTorch, Optimum, tf2onnx;
 * default domain, opsets 11 to 21) so that glassbox can tap, patch and differentiate it.
 * The reverse of `to-onnx.ts`.
 *
 * Decisions:
 * - Every node is rebuilt through the builders in `ops.ts`, inside a scope named after the
 *   ONNX node, so shapes are inferred and checked exactly as in hand-built graphs and a
 *   mismatch names the node it came from.
 * - Shapes are concrete (see `graph.ts`): a symbolic input dim must be fixed by the caller
 *   (`shapes`), after which every Shape node is a constant. Operands that glassbox keeps as
 *   attributes (Reduce* axes, Reshape/Expand shapes, Slice bounds, Split sizes, pads, Trilu's
 *   k) are read from constants: initializers, Constant nodes, or what folds from them — the
 *   Shape -> Gather -> Unsqueeze -> Concat chains exporters emit for Reshape fold away here
 *   and leave no trace in the graph.
 * - Weights are inputs, not initializers: float initializers of more than
 *   `WEIGHT_MIN_ELEMENTS` elements become `g.weight`s named as in the file, and their data is
 *   returned beside the graph, to be fed at run time. Integer and small float initializers
 *   are constants.
 * - Every value a node computes at run time is tapped under its ONNX name, so hooks address
 *   any activation of an imported model by the name Netron shows.
 *
 * Attribute defaults follow the ONNX operator specification (https://onnx.ai/onnx/operators/).
 */
import { GlassboxError, fail } from '../errors.js';
import { decodeModel } from '../onnx/codec.js';
import type { OnnxAttribute, OnnxModel, OnnxNode, OnnxValueInfo } from '../onnx/model.js';
import type { HostTensor } from '../runtime/tensor.js';
import { type DType, DTYPE_FROM_ONNX, allocate, isFloat, sizeOf } from './dtype.js';
import { Graph, type Value } from './graph.js';
import * as op from './ops.js';

export interface FromOnnxOptions {
  /**
   * 'inputs' (default): float initializers of more than 16 elements become weights, fed at
   * run time from the returned `weights`. 'constants': every initializer is baked in.
   */
  weights?: 'inputs' | 'constants';
  /** Concrete shapes for inputs with symbolic or unknown dims, e.g. `{ input_ids: [1, 16] }`. */
  shapes?: Record<string, readonly number[]>;
}

export interface ImportedGraph {
  graph: Graph;
  /** Weight data by graph input name: feed it with the inputs, `{ ...inputs, ...weights }`. */
  weights: Record<string, HostTensor>;
}

/** Float initializers with more elements than this become weights (unless `weights: 'constants'`). */
export const WEIGHT_MIN_ELEMENTS = 16;

/** The default-domain opsets whose operator semantics this importer implements. */
export const MIN_OPSET = 11;
export const MAX_OPSET = 21;

/**
 * Import ONNX model bytes: `decodeModel` then `fromOnnx`.
 *
 * @example
 * const { graph, weights } = importOnnx(readFileSync('model.onnx'), { shapes: { input_ids: [1, 16] } });
 * const out = await runProgram(defaultExecutor(), compile(graph), { input_ids, ...weights });
 */
export function importOnnx(bytes: Uint8Array, opts: FromOnnxOptions = {}): ImportedGraph {
  return fromOnnx(decodeModel(bytes), opts);
}

/**
 * Rebuild `model` as a glassbox graph with concrete shapes.
 *
 * @example
 * const { graph, weights } = fromOnnx(model, { shapes: { x: [2, 8] } });
 * graph.getTap('/mlp/Relu_output_0'); // any ONNX value computed at run time
 */
export function fromOnnx(model: OnnxModel, opts: FromOnnxOptions = {}): ImportedGraph {
  const opset = model.opsetVersion;
  if (!(opset >= MIN_OPSET && opset <= MAX_OPSET)) {
    fail('UNSUPPORTED_OP', `model uses default-domain opset ${opset}; glassbox imports opsets ${MIN_OPSET} to ${MAX_OPSET}`, {
      where: `graph '${model.graphName}'`,
      hint: 'Convert it first, e.g. onnx.version_converter.convert_version(model, 18)',
    });
  }
  const g = new Graph(model.graphName || 'onnx');
  const slots = new Map<string, Slot>();
  const weights: Record<string, HostTensor> = {};
  const initialized = new Set(model.initializers.map((t) => t.name));

  // Graph inputs (an input that is also an initializer is an initializer, as in decodeModel).
  const inputs = model.inputs.filter((v) => !initialized.has(v.name));
  checkShapeOptions(inputs, opts.shapes ?? {});
  for (const v of inputs) slots.set(v.name, { value: g.input(v.name, v.dtype, inputShape(v, opts.shapes ?? {})) });

  // Initializers: large float ones are weights, the rest host constants (baked in when used).
  for (const t of model.initializers) {
    const host: HostTensor = { dtype: t.dtype, dims: [...t.dims], data: t.data };
    if (opts.weights !== 'constants' && isFloat(t.dtype) && t.data.length > WEIGHT_MIN_ELEMENTS) {
      slots.set(t.name, { value: g.weight(t.name, t.dtype, t.dims) });
      weights[t.name] = host;
    } else {
      slots.set(t.name, { constant: host, name: t.name });
    }
  }

  // Reserve the output names, so that no value generated below takes one of them.
  for (const o of model.outputs) g.uniqueName(o.name);

  model.nodes.forEach((node, index) => importNode({ g, opset, slots, node, index }));

  for (const o of model.outputs) {
    const slot = slots.get(o.name);
    if (!slot) fail('INVALID_ARGUMENT', `graph output '${o.name}' is not computed by any node, input or initializer`, { where: `graph '${model.graphName}'` });
    const v = valueOf(g, slot, o.name);
    checkDeclared(o, v);
    g.output(o.name, v);
  }
  return { graph: g, weights };
}

// ---------------------------------------------------------------------------------------
// Values while importing

/** An ONNX value being imported: a graph value, a host constant, or both (a constant once used at run time). */
interface Slot {
  value?: Value;
  constant?: HostTensor;
  /** ONNX name, used to name the graph constant if the host constant is used at run time. */
  name?: string;
}

/** What a node produces: graph values, or host tensors when it was folded. */
type Out = Value | HostTensor;

const isValue = (x: Out): x is Value => 'graph' in x;

/** Constants whose elements are all equal and that are larger than this are built as an Expand of a scalar. */
const DENSE_CONSTANT_MAX = 16;

/** The graph value of a slot; a host constant becomes a graph constant on first use. */
function valueOf(g: Graph, slot: Slot, name: string): Value {
  if (slot.value) return slot.value;
  const t = slot.constant!;
  const n = t.data.length;
  const first = n > 0 ? elem(t, 0) : 0;
  let uniform = n > 0 && (t.dims.length === 0 || n > DENSE_CONSTANT_MAX) && (typeof first === 'number' || isSafe(first));
  for (let i = 1; uniform && i < n; i++) uniform = Object.is(elem(t, i), first);
  let v: Value;
  if (uniform) {
    const s = g.scalar(Number(first), t.dtype);
    v = t.dims.length === 0 ? s : op.expand(s, t.dims);
  } else {
    v = g.constant(t.data, t.dims, g.uniqueName(slot.name ?? name));
  }
  slot.value = v;
  return v;
}

const isSafe = (x: bigint) => x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= BigInt(Number.MIN_SAFE_INTEGER);

function dimsOf(slot: Slot): readonly number[] {
  return slot.value ? slot.value.shape : slot.constant!.dims;
}

function dtypeOfSlot(slot: Slot): DType {
  return slot.value ? slot.value.dtype : slot.constant!.dtype;
}

// ---------------------------------------------------------------------------------------
// Graph inputs and outputs

function checkShapeOptions(inputs: OnnxValueInfo[], shapes: Record<string, readonly number[]>): void {
  for (const name of Object.keys(shapes)) {
    if (!inputs.some((v) => v.name === name)) {
      const valid = inputs.map((v) => `'${v.name}'`).join(', ') || '(none)';
      fail('INVALID_ARGUMENT', `shapes names '${name}', which is not a graph input; the inputs are ${valid}`, { where: 'fromOnnx options' });
    }
  }
}

function inputShape(v: OnnxValueInfo, shapes: Record<string, readonly number[]>): number[] {
  const given = shapes[v.name];
  const declared = `[${v.dims.map((d) => (d < 0 ? '?' : d)).join(', ')}]`;
  if (!given) {
    const dim = v.dims.findIndex((d) => d < 0);
    if (dim >= 0) {
      const example = v.dims.map((d) => (d < 0 ? 'N' : d)).join(', ');
      fail('INVALID_ARGUMENT', `input '${v.name}' has a symbolic or unknown dim ${dim} (shape ${declared})`, {
        where: `input '${v.name}'`,
        hint: `glassbox graphs have concrete shapes: pass shapes, e.g. fromOnnx(model, { shapes: { '${v.name}': [${example}] } })`,
      });
    }
    return [...v.dims];
  }
  const fits =
    given.length === v.dims.length && given.every((d, i) => Number.isInteger(d) && d >= 0 && (v.dims[i] < 0 || v.dims[i] === d));
  if (!fits) {
    fail('INVALID_ARGUMENT', `shapes gives input '${v.name}' the shape [${given.join(', ')}], which does not fit its declared shape ${declared}`, {
      where: `input '${v.name}'`,
    });
  }
  return [...given];
}

/** A declared output type that disagrees with the imported graph is a bug here or in the file: say so. */
function checkDeclared(o: OnnxValueInfo, v: Value): void {
  if (o.dtype !== v.dtype) fail('DTYPE_MISMATCH', `graph output '${o.name}' is declared ${o.dtype} but computes ${v.dtype}`, { where: `output '${o.name}'` });
  const fits = o.dims.length === v.shape.length && o.dims.every((d, i) => d < 0 || d === v.shape[i]);
  if (!fits) {
    fail('SHAPE_MISMATCH', `graph output '${o.name}' is declared [${o.dims.map((d) => (d < 0 ? '?' : d)).join(', ')}] but computes [${v.shape.join(', ')}]`, {
      where: `output '${o.name}'`,
    });
  }
}

// ---------------------------------------------------------------------------------------
// Nodes

interface ImportState {
  g: Graph;
  opset: number;
  slots: Map<string, Slot>;
  node: OnnxNode;
  index: number;
}

/** Above this many elements a foldable node with a run-time form is built, not folded. */
const FOLD_MAX = 4096;

function importNode(s: ImportState): void {
  const { g, node } = s;
  const n = nodeReader(s);
  if (node.domain !== '' && node.domain !== 'ai.onnx') {
    n.unsupported(`operator domain '${node.domain}' is not supported; glassbox imports default-domain ('ai.onnx') operators only`, {
      hint: 'Export without contrib ops (e.g. no ORT transformer optimisations or fused com.microsoft operators)',
    });
  }
  const folder = FOLDERS[node.opType];
  const converter = CONVERTERS[node.opType];
  if (!folder && !converter) n.unsupported(`op type '${node.opType}' is not supported`, { hint: `Supported op types: ${SUPPORTED_OPS.join(', ')}` });

  let folded: Out[] | null = null;
  if (folder && (!converter || n.allConstant())) {
    folded = folder(n);
    if (folded && converter && folded.some((t) => !isValue(t) && t.data.length > FOLD_MAX)) folded = null;
  }
  const outs = folded ?? g.scope(n.label, () => converter!(n));

  node.outputs.forEach((name, i) => {
    if (name === '') return;
    const o = outs[i];
    if (!o) n.unsupported(`output ${i} ('${name}') is not supported`);
    if (isValue(o)) {
      s.slots.set(name, { value: o });
      if (!g.taps.has(name)) g.tap(name, o);
    } else {
      s.slots.set(name, { constant: o, name });
    }
  });
}

/** Access to one node's inputs and attributes, with errors that name the node. */
interface NodeReader {
  readonly node: OnnxNode;
  readonly opset: number;
  readonly g: Graph;
  /** The node's name (or `OpType_#index` when unnamed), used as the scope of what it builds. */
  readonly label: string;
  present(i: number): boolean;
  /** Input i is present and a host constant. */
  isConstant(i: number): boolean;
  count(): number;
  allConstant(): boolean;
  value(i: number, role: string): Value;
  optValue(i: number, role: string): Value | null;
  constant(i: number, role: string): HostTensor;
  optConstant(i: number, role: string): HostTensor | null;
  /** A constant integer input as numbers. */
  ints(i: number, role: string): number[];
  dims(i: number, role: string): readonly number[];
  dtype(i: number, role: string): DType;
  attr(name: string): OnnxAttribute | undefined;
  int(name: string, dflt?: number): number;
  float(name: string, dflt: number): number;
  intList(name: string): number[] | undefined;
  string(name: string, dflt: string): string;
  unsupported(message: string, opts?: { hint?: string }): never;
}

function nodeReader(s: ImportState): NodeReader {
  const { g, node, opset, slots } = s;
  const label = node.name || `${node.opType}_#${s.index}`;
  const where = `node '${label}' (${node.opType})`;
  const slot = (i: number, role: string): Slot => {
    const name = node.inputs[i] ?? '';
    if (name === '') fail('INVALID_ARGUMENT', `${node.opType} input ${i} ('${role}') is required`, { where });
    const found = slots.get(name);
    if (!found) fail('INVALID_ARGUMENT', `input ${i} ('${role}') reads '${name}', which no earlier node, graph input or initializer defines`, { where });
    return found;
  };
  const present = (i: number) => (node.inputs[i] ?? '') !== '';
  const attr = (name: string) => node.attributes.find((a) => a.name === name);
  const r: NodeReader = {
    node,
    opset,
    g,
    label,
    present,
    isConstant: (i) => present(i) && slots.get(node.inputs[i])?.constant !== undefined,
    count: () => node.inputs.length,
    allConstant: () => node.inputs.every((name) => name === '' || slots.get(name)?.constant !== undefined),
    value: (i, role) => valueOf(g, slot(i, role), node.inputs[i]),
    optValue: (i, role) => (present(i) ? r.value(i, role) : null),
    constant: (i, role) => {
      const sl = slot(i, role);
      if (sl.constant) return sl.constant;
      return r.unsupported(`input ${i} ('${role}', value '${node.inputs[i]}') must be a constant`, {
        hint:
          'glassbox builds graphs with concrete shapes, so this operand must be an initializer, a Constant node, ' +
          'or computable from them and static shapes; re-export with static shapes or constant-fold the model (e.g. onnxsim)',
      });
    },
    optConstant: (i, role) => (present(i) ? r.constant(i, role) : null),
    ints: (i, role) => {
      const t = r.constant(i, role);
      if (isFloat(t.dtype)) fail('DTYPE_MISMATCH', `input ${i} ('${role}') must be an integer tensor, got ${t.dtype}`, { where });
      return Array.from({ length: t.data.length }, (_, k) => Number(elem(t, k)));
    },
    dims: (i, role) => dimsOf(slot(i, role)),
    dtype: (i, role) => dtypeOfSlot(slot(i, role)),
    attr,
    int: (name, dflt) => {
      const a = attr(name);
      if (a && (a.type === 'int' || a.type === 'float')) return a.value;
      if (dflt === undefined) fail('INVALID_ARGUMENT', `attribute '${name}' (int) is required`, { where });
      return dflt;
    },
    float: (name, dflt) => {
      const a = attr(name);
      return a && (a.type === 'float' || a.type === 'int') ? a.value : dflt;
    },
    intList: (name) => {
      const a = attr(name);
      return a && (a.type === 'ints' || a.type === 'floats') ? [...a.value] : undefined;
    },
    string: (name, dflt) => {
      const a = attr(name);
      return a && a.type === 'string' ? a.value : dflt;
    },
    unsupported: (message, opts = {}) => {
      throw new GlassboxError('UNSUPPORTED_OP', message, { where, hint: opts.hint });
    },
  };
  return r;
}

// ---------------------------------------------------------------------------------------
// Host tensor helpers (for folding; these tensors are small: shapes, indices, masks)

type Elem = number | bigint;

function elem(t: HostTensor, i: number): Elem {
  return (t.data as ArrayLike<Elem>)[i];
}

/** Element `x` stored as `dtype`: floats round, ints truncate and wrap (int64 saturates from floats), bool is x != 0. */
function store(dtype: DType, x: Elem | boolean): Elem {
  if (typeof x === 'boolean') x = x ? 1 : 0;
  switch (dtype) {
    case 'float32':
    case 'float64':
      return Number(x);
    case 'int32':
      return typeof x === 'bigint' ? Number(BigInt.asIntN(32, x)) : Math.trunc(x) | 0;
    case 'int64':
      if (typeof x === 'bigint') return BigInt.asIntN(64, x);
      if (Number.isNaN(x)) return 0n;
      if (x >= 2 ** 63) return 2n ** 63n - 1n;
      if (x <= -(2 ** 63)) return -(2n ** 63n);
      return BigInt(Math.trunc(x));
    case 'bool':
      return x !== 0 && x !== 0n ? 1 : 0;
  }
}

function host(dtype: DType, dims: readonly number[], xs: ArrayLike<Elem | boolean>): HostTensor {
  const data = allocate(dtype, xs.length);
  const out = data as unknown as Elem[];
  for (let i = 0; i < xs.length; i++) out[i] = store(dtype, xs[i]);
  return { dtype, dims: [...dims], data };
}

const int64s = (xs: readonly number[], dims: readonly number[] = [xs.length]) => host('int64', dims, xs);

/** A tensor of `dims` whose element i is `t`'s element `src(i)` (data movement: exact for every dtype). */
function pick(t: HostTensor, dims: readonly number[], src: (i: number) => number): HostTensor {
  const n = sizeOf(dims);
  const data = allocate(t.dtype, n);
  const out = data as unknown as Elem[];
  for (let i = 0; i < n; i++) out[i] = elem(t, src(i));
  return { dtype: t.dtype, dims: [...dims], data };
}

function stridesOf(dims: readonly number[]): number[] {
  const s = Array<number>(dims.length).fill(1);
  for (let d = dims.length - 2; d >= 0; d--) s[d] = s[d + 1] * dims[d + 1];
  return s;
}

/** Maps a flat index of `outDims` to the flat index of the `inDims` element broadcast there. */
function broadcastIndex(inDims: readonly number[], outDims: readonly number[]): (i: number) => number {
  const off = outDims.length - inDims.length;
  const st = stridesOf(inDims);
  return (i) => {
    let src = 0;
    for (let d = outDims.length - 1; d >= 0; d--) {
      const k = i % outDims[d];
      i = (i - k) / outDims[d];
      const e = d - off;
      if (e >= 0 && inDims[e] !== 1) src += k * st[e];
    }
    return src;
  };
}

/** Elementwise over broadcast inputs; the result dtype is `dtype`. */
function mapElems(g: Graph, what: string, ts: HostTensor[], dtype: DType, f: (...xs: Elem[]) => Elem | boolean): HostTensor {
  const dims = op.broadcastShapes(what, g, ...ts.map((t) => t.dims));
  const idx = ts.map((t) => broadcastIndex(t.dims, dims));
  const n = sizeOf(dims);
  const xs: (Elem | boolean)[] = [];
  for (let i = 0; i < n; i++) xs.push(f(...ts.map((t, k) => elem(t, idx[k](i)))));
  return host(dtype, dims, xs);
}

function normAxis(n: NodeReader, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!(a >= 0 && a < rank)) fail('INVALID_ARGUMENT', `axis ${axis} is out of range for rank ${rank}`, { where: `node '${n.label}' (${n.node.opType})` });
  return a;
}

// ---------------------------------------------------------------------------------------
// Static operands shared by folders and converters

/** Axes of Squeeze/Unsqueeze: an attribute before opset 13, input 1 since. */
function axesOperand(n: NodeReader): number[] | undefined {
  return n.intList('axes') ?? (n.present(1) ? n.ints(1, 'axes') : undefined);
}

/** Reshape's target with ONNX semantics: 0 copies the input dim (unless allowzero), one -1 is inferred. */
function reshapeTarget(n: NodeReader, dims: readonly number[], shape: number[]): number[] {
  if (n.int('allowzero', 0) === 1 && shape.includes(0)) {
    n.unsupported(`allowzero=1 with a 0 in the shape [${shape.join(', ')}] is not supported`, { hint: 'glassbox reads 0 as "copy the input dim"' });
  }
  const out = shape.map((d, i) => (d === 0 ? dims[i] : d));
  const k = out.indexOf(-1);
  if (k >= 0) out[k] = sizeOf(dims) / sizeOf(out.filter((d) => d !== -1));
  if (!out.every((d) => Number.isInteger(d) && d >= 0) || sizeOf(out) !== sizeOf(dims)) {
    fail('SHAPE_MISMATCH', `cannot reshape [${dims.join(', ')}] to [${shape.join(', ')}]`, { where: `node '${n.label}' (Reshape)` });
  }
  return out;
}

/** Flatten's 2-D shape: [prod(dims[:axis]), prod(dims[axis:])]. */
function flattenTarget(n: NodeReader, dims: readonly number[]): number[] {
  const axis = n.int('axis', 1);
  const a = axis < 0 ? axis + dims.length : axis;
  if (!(a >= 0 && a <= dims.length)) {
    fail('INVALID_ARGUMENT', `Flatten axis ${axis} is out of range for rank ${dims.length}`, { where: `node '${n.label}' (Flatten)` });
  }
  return [sizeOf(dims.slice(0, a)), sizeOf(dims.slice(a))];
}

/** Unsqueeze's output dims. */
function unsqueezeDims(n: NodeReader, dims: readonly number[], axes: number[]): number[] {
  const rank = dims.length + axes.length;
  const ax = axes.map((a) => normAxis(n, a, rank));
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(ax.includes(i) ? 1 : dims[j++]);
  return out;
}

/** Squeeze's axes: the given ones, or every size-1 axis when none are given. */
function squeezeAxes(n: NodeReader, dims: readonly number[], axes: number[] | undefined): number[] {
  if (axes === undefined || axes.length === 0) return dims.flatMap((d, i) => (d === 1 ? [i] : []));
  return axes.map((a) => normAxis(n, a, dims.length));
}

/** Split sizes: the 'split' input (opset 13+) or attribute, else num_outputs (opset 18) or one per output. */
function splitSizes(n: NodeReader, dim: number): number[] {
  const given = n.intList('split') ?? (n.present(1) ? n.ints(1, 'split') : undefined);
  if (given) return given;
  const parts = n.int('num_outputs', n.node.outputs.length);
  // Opset 18: when dim does not divide evenly, the last chunk is the smaller one.
  const chunk = Math.ceil(dim / parts);
  return Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
}

/** Slice bounds as op.slice expects them (it normalises and clamps). */
function sliceBounds(n: NodeReader): { starts: number[]; ends: number[]; axes?: number[]; steps?: number[] } {
  const starts = n.intList('starts') ?? n.ints(1, 'starts');
  const ends = n.intList('ends') ?? n.ints(2, 'ends');
  const axes = n.intList('axes') ?? (n.present(3) ? n.ints(3, 'axes') : undefined);
  const steps = n.present(4) ? n.ints(4, 'steps') : undefined;
  return { starts, ends, axes, steps };
}

/** ONNX Cast's 'to' as a glassbox dtype. */
function castTarget(n: NodeReader): DType {
  const code = n.int('to');
  const dtype = DTYPE_FROM_ONNX[code];
  if (!dtype) n.unsupported(`Cast to ONNX element type ${code} is not supported`, { hint: 'glassbox holds float32, float64, int64, int32 and bool' });
  return dtype;
}

// ---------------------------------------------------------------------------------------
// Folding: nodes whose inputs are all constant become host constants. Shape, Size,
// ConstantOfShape and Range always fold (they have no run-time form here). A folder returns
// null when it declines (float arithmetic is left to the runtime, to keep its rounding).

type Folder = (n: NodeReader) => Out[] | null;

const isIntDtype = (d: DType) => d === 'int64' || d === 'int32';

/** Integer arithmetic: BigInt for int64 (exact), wrapping 32-bit for int32. */
function intArith(f64: (a: bigint, b: bigint) => bigint, f32: (a: number, b: number) => number): Folder {
  return (n) => {
    const a = n.constant(0, 'A');
    const b = n.constant(1, 'B');
    if (!isIntDtype(a.dtype) || a.dtype !== b.dtype) return null;
    return [mapElems(n.g, n.node.opType, [a, b], a.dtype, (x, y) => (typeof x === 'bigint' ? f64(x, y as bigint) : f32(x, y as number)))];
  };
}

function compareFold(f: (a: Elem, b: Elem) => boolean): Folder {
  return (n) => [mapElems(n.g, n.node.opType, [n.constant(0, 'A'), n.constant(1, 'B')], 'bool', f)];
}

function constantAttr(n: NodeReader): HostTensor {
  for (const a of n.node.attributes) {
    if (a.name === 'value' && a.type === 'tensor') return { dtype: a.value.dtype, dims: [...a.value.dims], data: a.value.data };
    if (a.name === 'value_float' && (a.type === 'float' || a.type === 'int')) return host('float32', [], [a.value]);
    if (a.name === 'value_floats' && (a.type === 'floats' || a.type === 'ints')) return host('float32', [a.value.length], a.value);
    if (a.name === 'value_int' && (a.type === 'int' || a.type === 'float')) return int64s([a.value], []);
    if (a.name === 'value_ints' && (a.type === 'ints' || a.type === 'floats')) return int64s(a.value);
  }
  const kinds = n.node.attributes.map((a) => a.name).join(', ') || 'none';
  return n.unsupported(`Constant needs a value, value_float(s) or value_int(s) attribute (found: ${kinds})`);
}

const FOLDERS: Partial<Record<string, Folder>> = {
  Constant: (n) => [constantAttr(n)],
  Identity: (n) => [n.constant(0, 'input')],
  Shape: (n) => {
    const dims = n.dims(0, 'data');
    const r = dims.length;
    const clampAxis = (x: number) => Math.min(Math.max(x < 0 ? x + r : x, 0), r);
    return [int64s(dims.slice(clampAxis(n.int('start', 0)), clampAxis(n.int('end', r))))];
  },
  Size: (n) => [int64s([sizeOf(n.dims(0, 'data'))], [])],
  ConstantOfShape: (n) => {
    const dims = n.ints(0, 'input');
    const a = n.attr('value');
    const value: HostTensor = a && a.type === 'tensor' ? a.value : host('float32', [1], [0]);
    return [host(value.dtype, dims, Array<Elem>(sizeOf(dims)).fill(elem(value, 0)))];
  },
  Range: (n) => {
    const [start, limit, delta] = (['start', 'limit', 'delta'] as const).map((role, i) => {
      const t = n.constant(i, role);
      if (t.data.length !== 1) fail('SHAPE_MISMATCH', `Range ${role} must be a scalar, got [${t.dims.join(', ')}]`, { where: `node '${n.label}' (Range)` });
      return t;
    });
    const [s, l, d] = [start, limit, delta].map((t) => Number(elem(t, 0)));
    const count = Math.max(Math.ceil((l - s) / d), 0);
    return [host(start.dtype, [count], Array.from({ length: count }, (_, i) => s + i * d))];
  },
  Cast: (n) => {
    const t = n.constant(0, 'input');
    const to = castTarget(n);
    return [host(to, t.dims, Array.from({ length: t.data.length }, (_, i) => elem(t, i)))];
  },
  Reshape: (n) => {
    const t = n.constant(0, 'data');
    return [{ ...t, dims: reshapeTarget(n, t.dims, n.ints(1, 'shape')) }];
  },
  Flatten: (n) => {
    const t = n.constant(0, 'input');
    return [{ ...t, dims: flattenTarget(n, t.dims) }];
  },
  Unsqueeze: (n) => {
    const t = n.constant(0, 'data');
    const axes = axesOperand(n);
    if (!axes) return n.unsupported('Unsqueeze needs axes');
    return [{ ...t, dims: unsqueezeDims(n, t.dims, axes) }];
  },
  Squeeze: (n) => {
    const t = n.constant(0, 'data');
    const ax = squeezeAxes(n, t.dims, axesOperand(n));
    return [{ ...t, dims: t.dims.filter((_, i) => !ax.includes(i)) }];
  },
  Gather: (n) => {
    const data = n.constant(0, 'data');
    const ind = n.constant(1, 'indices');
    const a = normAxis(n, n.int('axis', 0), data.dims.length);
    const dim = data.dims[a];
    const inner = sizeOf(data.dims.slice(a + 1));
    const k = ind.data.length;
    const idx = Array.from({ length: k }, (_, i) => {
      const j = Number(elem(ind, i));
      return j < 0 ? j + dim : j;
    });
    const dims = [...data.dims.slice(0, a), ...ind.dims, ...data.dims.slice(a + 1)];
    return [pick(data, dims, (i) => {
      const r = i % inner;
      const q = (i - r) / inner;
      const p = q % k;
      const o = (q - p) / k;
      return (o * dim + idx[p]) * inner + r;
    })];
  },
  Concat: (n) => {
    const ts = n.node.inputs.map((_, i) => n.constant(i, `inputs[${i}]`));
    const a = normAxis(n, n.int('axis'), ts[0].dims.length);
    const dims = [...ts[0].dims];
    dims[a] = ts.reduce((s, t) => s + t.dims[a], 0);
    const outer = sizeOf(dims.slice(0, a));
    const xs: Elem[] = [];
    for (let o = 0; o < outer; o++) {
      for (const t of ts) {
        const chunk = sizeOf(t.dims.slice(a));
        for (let i = 0; i < chunk; i++) xs.push(elem(t, o * chunk + i));
      }
    }
    const data = allocate(ts[0].dtype, xs.length);
    xs.forEach((x, i) => ((data as unknown as Elem[])[i] = x));
    return [{ dtype: ts[0].dtype, dims, data }];
  },
  Slice: (n) => {
    const t = n.constant(0, 'data');
    const { starts, ends, axes, steps } = sliceBounds(n);
    // Build the slice once on a scratch graph: op.slice owns ONNX's clamping rules.
    const scratch = new Graph('fold');
    const node = op.slice(scratch.input('x', t.dtype, t.dims), starts, ends, axes, steps).producer!;
    const attrs = node.attrs as { starts: number[]; axes: number[]; steps: number[] };
    const dims = node.outputs[0].shape;
    const start = t.dims.map(() => 0);
    const step = t.dims.map(() => 1);
    attrs.axes.forEach((ax, i) => {
      start[ax] = attrs.starts[i];
      step[ax] = attrs.steps[i];
    });
    const st = stridesOf(t.dims);
    return [pick(t, dims, (i) => {
      let src = 0;
      for (let d = dims.length - 1; d >= 0; d--) {
        const k = i % dims[d];
        i = (i - k) / dims[d];
        src += (start[d] + k * step[d]) * st[d];
      }
      return src;
    })];
  },
  Expand: (n) => {
    const t = n.constant(0, 'input');
    const dims = op.broadcastShapes('Expand', n.g, t.dims, n.ints(1, 'shape'));
    return [pick(t, dims, broadcastIndex(t.dims, dims))];
  },
  Where: (n) => {
    const [c, x, y] = [n.constant(0, 'condition'), n.constant(1, 'X'), n.constant(2, 'Y')];
    return [mapElems(n.g, 'Where', [c, x, y], x.dtype, (cc, a, b) => (cc ? a : b))];
  },
  Add: intArith((a, b) => a + b, (a, b) => a + b),
  Sub: intArith((a, b) => a - b, (a, b) => a - b),
  Mul: intArith((a, b) => a * b, (a, b) => Math.imul(a, b)),
  // Integer Div truncates toward zero (C semantics, as ONNX Runtime computes it).
  Div: intArith((a, b) => a / b, (a, b) => Math.trunc(a / b)),
  Max: (n) => (n.count() === 2 ? intArith((a, b) => (a > b ? a : b), Math.max)(n) : null),
  Min: (n) => (n.count() === 2 ? intArith((a, b) => (a < b ? a : b), Math.min)(n) : null),
  Neg: (n) => {
    const t = n.constant(0, 'X');
    return isIntDtype(t.dtype) ? [mapElems(n.g, 'Neg', [t], t.dtype, (x) => (typeof x === 'bigint' ? -x : -x))] : null;
  },
  Equal: compareFold((a, b) => a === b),
  Less: compareFold((a, b) => a < b),
  Greater: compareFold((a, b) => a > b),
  LessOrEqual: compareFold((a, b) => a <= b),
  GreaterOrEqual: compareFold((a, b) => a >= b),
  Not: (n) => [mapElems(n.g, 'Not', [n.constant(0, 'X')], 'bool', (x) => !x)],
  And: (n) => [mapElems(n.g, 'And', [n.constant(0, 'A'), n.constant(1, 'B')], 'bool', (a, b) => !!a && !!b)],
  Or: (n) => [mapElems(n.g, 'Or', [n.constant(0, 'A'), n.constant(1, 'B')], 'bool', (a, b) => !!a || !!b)],
};

// ---------------------------------------------------------------------------------------
// Converters: one row per ONNX op type, each rebuilding the node with the builders.

type Converter = (n: NodeReader) => Out[];

const unary = (f: (x: Value) => Value): Converter => (n) => [f(n.value(0, 'X'))];
const binary = (f: (a: Value, b: Value) => Value): Converter => (n) => [f(n.value(0, 'A'), n.value(1, 'B'))];
/** Variadic ops (Sum, Max, Min) as a left fold of the binary builder. */
const variadic = (f: (a: Value, b: Value) => Value): Converter => (n) => [
  n.node.inputs.map((_, i) => n.value(i, `data_${i}`)).reduce((a, b) => f(a, b)),
];

type ReduceFn = (x: Value, axes: readonly number[] | undefined, keepdims: boolean) => Value;

/**
 * Reduce*: axes from the attribute (before opset 13 for ReduceSum, 18 for the others) or
 * input 1; no axes means all of them, or nothing at all with noop_with_empty_axes=1.
 */
const reduction = (f: ReduceFn): Converter => (n) => {
  const x = n.value(0, 'data');
  const axes = n.intList('axes') ?? (n.present(1) ? n.ints(1, 'axes') : undefined);
  const keepdims = n.int('keepdims', 1) === 1;
  if (!axes || axes.length === 0) return [n.int('noop_with_empty_axes', 0) === 1 ? x : f(x, undefined, keepdims)];
  return [f(x, axes, keepdims)];
};

/**
 * Softmax and LogSoftmax. Since opset 13 they normalise along `axis` (default -1); before,
 * over the flattened dims [axis, rank) (default axis 1), built here as reshape, softmax, reshape.
 */
const softmaxLike = (f: (x: Value, axis: number) => Value): Converter => (n) => {
  const x = n.value(0, 'input');
  const rank = x.shape.length;
  if (n.opset >= 13) return [f(x, n.int('axis', -1))];
  const a = normAxis(n, n.int('axis', 1), rank);
  if (a === rank - 1) return [f(x, a)];
  const flat = op.reshape(x, [sizeOf(x.shape.slice(0, a)), sizeOf(x.shape.slice(a))]);
  return [op.reshape(f(flat, 1), x.shape)];
};

const CONVERTERS: Partial<Record<string, Converter>> = {
  // Elementwise
  Add: binary(op.add),
  Sub: binary(op.sub),
  Mul: binary(op.mul),
  Div: binary(op.div),
  Pow: (n) => {
    // ONNX lets the exponent have another type; a constant exponent is converted to the base's.
    const x = n.value(0, 'X');
    const e = n.isConstant(1) ? n.constant(1, 'Y') : null;
    if (e && e.dtype !== x.dtype) {
      const converted = host(x.dtype, e.dims, Array.from({ length: e.data.length }, (_, i) => elem(e, i)));
      return [op.pow(x, valueOf(n.g, { constant: converted }, `${n.label}:exponent`))];
    }
    return [op.pow(x, n.value(1, 'Y'))];
  },
  Max: variadic(op.max),
  Min: variadic(op.min),
  Sum: variadic(op.add),
  Equal: binary(op.equal),
  Less: binary(op.less),
  Greater: binary(op.greater),
  // a <= b as not(a > b): equal but for NaN operands, where ONNX gives false and this true.
  LessOrEqual: binary((a, b) => op.not(op.greater(a, b))),
  GreaterOrEqual: binary((a, b) => op.not(op.less(a, b))),
  And: binary(op.and),
  Or: binary((a, b) => op.not(op.and(op.not(a), op.not(b)))),
  Not: unary(op.not),
  Neg: unary(op.neg),
  Abs: unary(op.abs),
  Sqrt: unary(op.sqrt),
  Reciprocal: unary(op.reciprocal),
  Exp: unary(op.exp),
  Log: unary(op.log),
  Tanh: unary(op.tanh),
  Erf: unary(op.erf),
  Sigmoid: unary(op.sigmoid),
  Relu: unary(op.relu),
  Cos: unary(op.cos),
  Sin: unary(op.sin),
  Identity: (n) => [n.value(0, 'input')],
  // Inference: Dropout passes its input through, and its mask is all true.
  Dropout: (n) => {
    const x = n.value(0, 'data');
    return [x, host('bool', x.shape, Array<number>(sizeOf(x.shape)).fill(1))];
  },
  Cast: (n) => [op.cast(n.value(0, 'input'), castTarget(n))],
  CastLike: (n) => [op.cast(n.value(0, 'input'), n.dtype(1, 'target_type'))],
  Where: (n) => [op.where(n.value(0, 'condition'), n.value(1, 'X'), n.value(2, 'Y'))],
  // Clip(x, min, max) = min(max(x, lo), hi); either bound may be omitted.
  Clip: (n) => {
    let y = n.value(0, 'input');
    const lo = n.optValue(1, 'min');
    const hi = n.optValue(2, 'max');
    if (lo) y = op.max(y, lo);
    if (hi) y = op.min(y, hi);
    return [y];
  },
  Gelu: (n) => {
    const approximate = n.string('approximate', 'none');
    if (approximate !== 'none' && approximate !== 'tanh') n.unsupported(`Gelu approximate='${approximate}' is not supported`);
    const x = n.value(0, 'X');
    return [approximate === 'tanh' ? op.geluTanh(x) : op.gelu(x)];
  },

  // Linear algebra
  MatMul: binary(op.matmul),
  Gemm: (n) => [
    op.gemm(n.value(0, 'A'), n.value(1, 'B'), n.optValue(2, 'C'), {
      transA: n.int('transA', 0) === 1,
      transB: n.int('transB', 0) === 1,
      alpha: n.float('alpha', 1),
      beta: n.float('beta', 1),
    }),
  ],

  // Normalisation
  Softmax: softmaxLike(op.softmax),
  LogSoftmax: softmaxLike(op.logSoftmax),
  LayerNormalization: (n) => {
    const { y, mean, invStd } = op.layerNormFull(n.value(0, 'X'), n.value(1, 'Scale'), n.optValue(2, 'B'), n.int('axis', -1), n.float('epsilon', 1e-5));
    return [y, mean, invStd];
  },

  // Reductions
  ReduceSum: reduction(op.reduceSum),
  ReduceMean: reduction(op.reduceMean),
  ReduceMax: reduction(op.reduceMax),
  // min(x) = -max(-x)
  ReduceMin: reduction((x, axes, keep) => op.neg(op.reduceMax(op.neg(x), axes, keep))),
  ReduceSumSquare: reduction((x, axes, keep) => op.reduceSum(op.mul(x, x), axes, keep)),
  ReduceL2: reduction((x, axes, keep) => op.sqrt(op.reduceSum(op.mul(x, x), axes, keep))),

  // Indexing
  Gather: (n) => {
    const data = n.value(0, 'data');
    const axis = n.int('axis', 0);
    if (!n.isConstant(1)) return [op.gather(data, n.value(1, 'indices'), axis)];
    // Constant indices: negative ones are made positive here, so no rule downstream sees them.
    const t = n.constant(1, 'indices');
    const dim = data.shape[normAxis(n, axis, data.shape.length)];
    const fixed = host(t.dtype, t.dims, Array.from({ length: t.data.length }, (_, i) => {
      const j = elem(t, i);
      return j < 0 ? (typeof j === 'bigint' ? j + BigInt(dim) : j + dim) : j;
    }));
    return [op.gather(data, valueOf(n.g, { constant: fixed, name: n.node.inputs[1] }, n.node.inputs[1]), axis)];
  },
  GatherElements: (n) => [op.gatherElements(n.value(0, 'data'), n.value(1, 'indices'), n.int('axis', 0))],
  GatherND: (n) => {
    if (n.int('batch_dims', 0) !== 0) n.unsupported(`GatherND with batch_dims=${n.int('batch_dims')} is not supported (only 0)`);
    return [op.gatherND(n.value(0, 'data'), n.value(1, 'indices'))];
  },
  ScatterND: (n) => [op.scatterND(n.value(0, 'data'), n.value(1, 'indices'), n.value(2, 'updates'), scatterReduction(n))],
  ScatterElements: (n) => [
    op.scatterElements(n.value(0, 'data'), n.value(1, 'indices'), n.value(2, 'updates'), n.int('axis', 0), scatterReduction(n)),
  ],

  // Shapes
  Reshape: (n) => {
    const x = n.value(0, 'data');
    return [op.reshape(x, reshapeTarget(n, x.shape, n.ints(1, 'shape')))];
  },
  Flatten: (n) => {
    const x = n.value(0, 'input');
    return [op.reshape(x, flattenTarget(n, x.shape))];
  },
  Transpose: (n) => [op.transpose(n.value(0, 'data'), n.intList('perm'))],
  Unsqueeze: (n) => {
    const axes = axesOperand(n);
    if (!axes) return n.unsupported('Unsqueeze needs axes');
    return [op.unsqueeze(n.value(0, 'data'), axes)];
  },
  Squeeze: (n) => {
    const x = n.value(0, 'data');
    const axes = squeezeAxes(n, x.shape, axesOperand(n));
    return [axes.length ? op.squeeze(x, axes) : x];
  },
  Concat: (n) => [op.concat(n.node.inputs.map((_, i) => n.value(i, `inputs[${i}]`)), n.int('axis'))],
  Slice: (n) => {
    const { starts, ends, axes, steps } = sliceBounds(n);
    return [op.slice(n.value(0, 'data'), starts, ends, axes, steps)];
  },
  Split: (n) => {
    const x = n.value(0, 'input');
    const axis = n.int('axis', 0);
    return op.split(x, axis, splitSizes(n, x.shape[normAxis(n, axis, x.shape.length)]));
  },
  Expand: (n) => [op.expand(n.value(0, 'input'), n.ints(1, 'shape'))],
  Pad: (n) => {
    const x = n.value(0, 'data');
    const mode = n.string('mode', 'constant');
    if (mode !== 'constant') n.unsupported(`Pad mode '${mode}' is not supported (only constant zero padding)`);
    const value = n.optConstant(2, 'constant_value');
    const fill = value && value.data.length ? Number(elem(value, 0)) : n.float('value', 0);
    if (fill !== 0) n.unsupported(`Pad with constant_value ${fill} in mode '${mode}' is not supported (only zero padding)`);
    const r = x.shape.length;
    const given = n.intList('pads') ?? n.ints(1, 'pads');
    // Opset 18's optional axes input: pads then cover only those axes.
    const axes = n.present(3) ? n.ints(3, 'axes').map((a) => normAxis(n, a, r)) : [...Array(r).keys()];
    if (given.length !== 2 * axes.length) n.unsupported(`Pad needs ${2 * axes.length} pads, got [${given.join(', ')}]`);
    const pads = Array<number>(2 * r).fill(0);
    axes.forEach((a, i) => {
      pads[a] = given[i];
      pads[a + r] = given[i + axes.length];
    });
    // Negative pads crop: pad by the positive part, then slice off the negative part.
    const grown = pads.some((p) => p > 0) ? op.pad(x, pads.map((p) => Math.max(p, 0))) : x;
    if (!pads.some((p) => p < 0)) return [grown];
    const starts = [...Array(r).keys()].map((i) => Math.max(-pads[i], 0));
    const ends = [...Array(r).keys()].map((i) => grown.shape[i] - Math.max(-pads[i + r], 0));
    return [op.slice(grown, starts, ends)];
  },
  Trilu: (n) => {
    const k = n.optConstant(1, 'k');
    return [op.trilu(n.value(0, 'input'), n.int('upper', 1) === 1, k ? Number(elem(k, 0)) : 0)];
  },
};

function scatterReduction(n: NodeReader): 'none' | 'add' {
  const r = n.string('reduction', 'none');
  if (r !== 'none' && r !== 'add') n.unsupported(`${n.node.opType} reduction '${r}' is not supported (only 'none' and 'add')`);
  return r;
}

/** Every op type the importer reads, for error messages and docs. */
export const SUPPORTED_OPS: readonly string[] = [...new Set([...Object.keys(CONVERTERS), ...Object.keys(FOLDERS)])].sort();
