/**
 * Importer tests: hand-built ONNX models are imported, run through glassbox (compile +
 * runProgram on onnxruntime-node) and compared with ONNX Runtime running the original model
 * bytes directly. Tolerance: max abs diff <= 1e-6 (the same kernels run on both sides; the
 * difference is only in how composites such as Gelu are spelled). Error cases check the code
 * and that the message names the node, input or domain at fault.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { compile, runProgram } from '../../src/engine/program.js';
import { GlassboxError, type ErrorCode } from '../../src/errors.js';
import type { DType } from '../../src/graph/dtype.js';
import { type FromOnnxOptions, fromOnnx, importOnnx } from '../../src/graph/from-onnx.js';
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { toOnnx } from '../../src/graph/to-onnx.js';
import { encodeModel } from '../../src/onnx/codec.js';
import type { OnnxAttribute, OnnxModel, OnnxNode, OnnxTensor } from '../../src/onnx/model.js';
import { defaultExecutor, type HostTensor } from '../../src/runtime/index.js';
import { model, randoms } from '../helpers/onnx.js';

const TOL = 1e-6;

after(async () => {
  await defaultExecutor().dispose();
});

// --- model building --------------------------------------------------------------------------


function node(opType: string, inputs: string[], outputs: string[], attributes: OnnxAttribute[] = [], name = outputs[0], domain = ''): OnnxNode {
  return { name, opType, domain, inputs, outputs, attributes };
}

const int = (name: string, value: number): OnnxAttribute => ({ name, type: 'int', value });
const ints = (name: string, value: number[]): OnnxAttribute => ({ name, type: 'ints', value });
const float = (name: string, value: number): OnnxAttribute => ({ name, type: 'float', value });
const floats = (name: string, value: number[]): OnnxAttribute => ({ name, type: 'floats', value });
const str = (name: string, value: string): OnnxAttribute => ({ name, type: 'string', value });

const f32 = (name: string, dims: number[], data: Float32Array | number[]): OnnxTensor => ({ name, dtype: 'float32', dims, data: Float32Array.from(data) });
const i64 = (name: string, dims: number[], data: (number | bigint)[]): OnnxTensor => ({
  name,
  dtype: 'int64',
  dims,
  data: BigInt64Array.from(data, (x) => BigInt(x)),
});


const sizeOf = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const randomTensor = (dims: number[], seed: number, scale = 1): HostTensor => ({
  dtype: 'float32',
  dims,
  data: randoms(sizeOf(dims), seed).map((x) => x * scale),
});

// --- running -----------------------------------------------------------------------------------

/** The reference: ONNX Runtime on the original model's bytes. */
async function runOriginal(m: OnnxModel, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const session = await ort.InferenceSession.create(encodeModel(m));
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor(t.dtype === 'bool' ? 'bool' : t.dtype, t.data, t.dims);
    const out = await session.run(ortFeeds);
    const res: Record<string, HostTensor> = {};
    for (const [k, t] of Object.entries(out)) res[k] = { dtype: t.type as DType, dims: [...t.dims], data: t.data as HostTensor['data'] };
    return res;
  } finally {
    await session.release();
  }
}

/** Import, compile and run through glassbox, weights fed as inputs. */
async function runImported(m: OnnxModel, feeds: Record<string, HostTensor>, opts: FromOnnxOptions = {}) {
  const { graph, weights } = fromOnnx(m, opts);
  return runProgram(defaultExecutor(), compile(graph), { ...feeds, ...weights });
}

function maxAbsDiff(a: HostTensor, b: HostTensor): number {
  assert.deepEqual(a.dims, b.dims, 'dims');
  assert.equal(a.dtype, b.dtype, 'dtype');
  let d = 0;
  for (let i = 0; i < a.data.length; i++) d = Math.max(d, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return d;
}

/** Runs both ways and checks every output agrees within TOL. */
async function expectParity(m: OnnxModel, feeds: Record<string, HostTensor>, opts: FromOnnxOptions = {}) {
  const ortFeeds = { ...feeds };
  const expected = await runOriginal(m, ortFeeds);
  const actual = await runImported(m, feeds, opts);
  for (const o of m.outputs) {
    assert.ok(actual[o.name], `output '${o.name}' missing`);
    const d = maxAbsDiff(actual[o.name], expected[o.name]);
    assert.ok(d <= TOL, `output '${o.name}': max abs diff ${d} > ${TOL}`);
  }
  return actual;
}

function throwsWith(fn: () => unknown, code: ErrorCode, ...patterns: RegExp[]) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof GlassboxError, `expected GlassboxError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

// --- models ------------------------------------------------------------------------------------

/** x [2, 8] -> Gemm(W1ᵀ, b1) -> Relu -> Gemm(W2, b2, alpha 0.5, beta 2) -> Softmax (default axis). */
const mlp = model({
  inputs: [{ name: 'x', dtype: 'float32', dims: [2, 8] }],
  outputs: [{ name: 'y', dtype: 'float32', dims: [2, 4] }],
  initializers: [
    f32('W1', [16, 8], randoms(128, 11)), // 128 elements: a weight
    f32('b1', [16], randoms(16, 12)), // 16: a constant
    f32('W2', [16, 4], randoms(64, 13)),
    f32('b2', [4], randoms(4, 14)),
  ],
  nodes: [
    node('Gemm', ['x', 'W1', 'b1'], ['h1'], [int('transB', 1)], 'fc1'),
    node('Relu', ['h1'], ['h'], [], 'act'),
    node('Gemm', ['h', 'W2', 'b2'], ['z'], [float('alpha', 0.5), float('beta', 2)], 'fc2'),
    node('Softmax', ['z'], ['y'], [], 'softmax'),
  ],
});

/**
 * A hand-written normalisation with reductions, in the opset-13 spelling (ReduceMean and
 * ReduceMax axes as attributes, ReduceSum axes as an input) or the opset-18 one (all inputs).
 *   y = (x - mean) / sqrt(var + eps); s = sum over axis 1; m = max over axes 0 and 2
 */
function reductions(opset: 13 | 18): OnnxModel {
  const axes = (name: string, values: number[], input: string): { inputs: string[]; attrs: OnnxAttribute[] } =>
    opset >= 18 ? { inputs: [input, name], attrs: [] } : { inputs: [input], attrs: [ints('axes', values)] };
  const mean = axes('axes_last', [-1], 'x');
  const variance = axes('axes_last', [-1], 'dd');
  const max = axes('axes_max', [0, 2], 'x');
  return model({
    opsetVersion: opset,
    inputs: [{ name: 'x', dtype: 'float32', dims: [2, 3, 5] }],
    outputs: [
      { name: 'y', dtype: 'float32', dims: [2, 3, 5] },
      { name: 's', dtype: 'float32', dims: [2, 5] },
      { name: 'm', dtype: 'float32', dims: [3] },
      ...(opset >= 18 ? [{ name: 'all', dtype: 'float32' as const, dims: [1, 1, 1] }] : []),
    ],
    initializers: [
      ...(opset >= 18 ? [i64('axes_last', [1], [-1]), i64('axes_max', [2], [0, 2])] : []),
      i64('axes_sum', [1], [1]),
      f32('eps', [], [1e-5]),
    ],
    nodes: [
      node('ReduceMean', mean.inputs, ['mean'], mean.attrs),
      node('Sub', ['x', 'mean'], ['d']),
      node('Mul', ['d', 'd'], ['dd']),
      node('ReduceMean', variance.inputs, ['var'], variance.attrs),
      node('Add', ['var', 'eps'], ['ve']),
      node('Sqrt', ['ve'], ['std']),
      node('Div', ['d', 'std'], ['y']),
      node('ReduceSum', ['x', 'axes_sum'], ['s'], [int('keepdims', 0)]),
      node('ReduceMax', max.inputs, ['m'], [...max.attrs, int('keepdims', 0)]),
      ...(opset >= 18 ? [node('ReduceSum', ['x'], ['all'])] : []),
    ],
  });
}

/**
 * Reshape x [B, 3, 4] to [B, 12] with the shape computed the way exporters do:
 * Shape -> Gather(0) -> Unsqueeze, Shape -> Slice[1:3] -> Gather x2 -> Mul -> Unsqueeze, Concat, Cast.
 */
const reshapeChain = model({
  inputs: [{ name: 'x', dtype: 'float32', dims: [-1, 3, 4] }],
  outputs: [{ name: 'r', dtype: 'float32', dims: [-1, 12] }],
  initializers: [
    i64('zero', [], [0]),
    i64('one', [], [1]),
    i64('axes0', [1], [0]),
    i64('starts', [1], [1]),
    i64('ends', [1], [3]),
  ],
  nodes: [
    node('Shape', ['x'], ['shape']),
    node('Gather', ['shape', 'zero'], ['batch'], [int('axis', 0)]),
    node('Unsqueeze', ['batch', 'axes0'], ['batch1']),
    node('Slice', ['shape', 'starts', 'ends'], ['rest']),
    node('Gather', ['rest', 'zero'], ['d1']),
    node('Gather', ['rest', 'one'], ['d2']),
    node('Mul', ['d1', 'd2'], ['d']),
    node('Unsqueeze', ['d', 'axes0'], ['d_1']),
    node('Concat', ['batch1', 'd_1'], ['target0'], [int('axis', 0)]),
    node('Cast', ['target0'], ['target'], [int('to', 7)]),
    node('Reshape', ['x', 'target'], ['r'], [], 'reshape'),
  ],
});

/** Split x [2, 6] by a 'split' input (opset 13), and x [2, 7] by num_outputs=3 (opset 18: 3, 3, 1). */
const split13 = model({
  opsetVersion: 13,
  inputs: [{ name: 'x', dtype: 'float32', dims: [2, 6] }],
  outputs: [
    { name: 'a', dtype: 'float32', dims: [2, 2] },
    { name: 'b', dtype: 'float32', dims: [2, 4] },
  ],
  initializers: [i64('sizes', [2], [2, 4])],
  nodes: [node('Split', ['x', 'sizes'], ['a', 'b'], [int('axis', 1)], 'split')],
});
const split18 = model({
  opsetVersion: 18,
  inputs: [{ name: 'x', dtype: 'float32', dims: [2, 7] }],
  outputs: [
    { name: 'a', dtype: 'float32', dims: [2, 3] },
    { name: 'b', dtype: 'float32', dims: [2, 3] },
    { name: 'c', dtype: 'float32', dims: [2, 1] },
  ],
  nodes: [node('Split', ['x'], ['a', 'b', 'c'], [int('axis', -1), int('num_outputs', 3)], 'split')],
});

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Slices of x [4, 6]: strided with INT64 sentinels and a negative step; axes omitted; a negative axis. */
const slices = model({
  inputs: [{ name: 'x', dtype: 'float32', dims: [4, 6] }],
  outputs: [
    { name: 'strided', dtype: 'float32', dims: [2, 3] },
    { name: 'plain', dtype: 'float32', dims: [3, 4] },
    { name: 'last', dtype: 'float32', dims: [4, 2] },
  ],
  initializers: [
    i64('s1', [2], [1, -1]),
    i64('e1', [2], [INT64_MAX, INT64_MIN]),
    i64('a1', [2], [0, 1]),
    i64('st1', [2], [2, -2]),
    i64('s2', [2], [0, 2]),
    i64('e2', [2], [-1, 100]),
    i64('s3', [1], [-2]),
    i64('e3', [1], [INT64_MAX]),
    i64('a3', [1], [-1]),
  ],
  nodes: [
    node('Slice', ['x', 's1', 'e1', 'a1', 'st1'], ['strided']),
    node('Slice', ['x', 's2', 'e2'], ['plain']),
    node('Slice', ['x', 's3', 'e3', 'a3'], ['last']),
  ],
});

/** Constant nodes of every attribute kind: value (tensor), value_float(s), value_int(s). */
const constants = model({
  inputs: [{ name: 'x', dtype: 'float32', dims: [2, 4] }],
  outputs: [
    { name: 'y', dtype: 'float32', dims: [4, 2] },
    { name: 'z', dtype: 'float32', dims: [2] },
  ],
  nodes: [
    node('Constant', [], ['c'], [{ name: 'value', type: 'tensor', value: f32('', [4], [1, 2, 3, 4]) }]),
    node('Mul', ['x', 'c'], ['m']),
    node('Constant', [], ['half'], [float('value_float', 0.5)]),
    node('Add', ['m', 'half'], ['a']),
    node('Constant', [], ['shape'], [ints('value_ints', [4, 2])]),
    node('Reshape', ['a', 'shape'], ['y']),
    node('Constant', [], ['row'], [int('value_int', 1)]),
    node('Gather', ['y', 'row'], ['yr'], [int('axis', 0)]),
    node('Constant', [], ['offs'], [floats('value_floats', [10, 20])]),
    node('Add', ['yr', 'offs'], ['z']),
  ],
});

/** One of most other mapped ops, on x [2, 3, 4] (opset 20 for Gelu). */
const assorted = model({
  opsetVersion: 20,
  inputs: [{ name: 'x', dtype: 'float32', dims: [2, 3, 4] }],
  outputs: [
    { name: 'transposed', dtype: 'float32', dims: [4, 3, 2] },
    { name: 'squeezed', dtype: 'float32', dims: [2, 3, 4] },
    { name: 'gathered', dtype: 'float32', dims: [2, 2, 4] },
    { name: 'gelu', dtype: 'float32', dims: [2, 3, 4] },
    { name: 'gelu_tanh', dtype: 'float32', dims: [2, 3, 4] },
    { name: 'ln', dtype: 'float32', dims: [2, 3, 4] },
    { name: 'flat', dtype: 'float32', dims: [6, 4] },
    { name: 'clipped', dtype: 'float32', dims: [2, 3, 4] },
    { name: 'clipped_hi', dtype: 'float32', dims: [2, 3, 4] },
    { name: 'dropped', dtype: 'float32', dims: [2, 3, 4] },
    { name: 'padded', dtype: 'float32', dims: [2, 4, 6] },
    { name: 'lower', dtype: 'float32', dims: [2, 3, 4] },
    { name: 'lsm', dtype: 'float32', dims: [2, 3, 4] },
    { name: 'where', dtype: 'float32', dims: [2, 3, 4] },
    { name: 'expanded', dtype: 'float32', dims: [2, 3, 4] },
    { name: 'ranged', dtype: 'float32', dims: [2, 3, 4] },
    { name: 'filled', dtype: 'float32', dims: [2, 3, 4] },
    { name: 'squared', dtype: 'float32', dims: [2, 3, 4] },
    { name: 'l2', dtype: 'float32', dims: [2, 3, 1] },
    { name: 'maxed', dtype: 'float32', dims: [2, 3, 4] },
  ],
  initializers: [
    i64('axes1', [1], [1]),
    i64('idx', [2], [-1, 0]),
    f32('scale', [4], [1, 0.5, 2, -1]),
    f32('bias', [4], [0, 0.1, -0.2, 0.3]),
    f32('lo', [], [-0.5]),
    f32('hi', [], [0.3]),
    i64('pads', [6], [0, 1, 0, 0, 0, 2]),
    i64('k', [], [1]),
    f32('zero', [], [0]),
    f32('minus', [], [-0.25]),
    i64('zero_1d', [1], [0]),
    i64('two_1d', [1], [2]),
    i64('four', [1], [4]),
    i64('r0', [], [0]),
    i64('r4', [], [4]),
    i64('r1', [], [1]),
    i64('full', [3], [2, 3, 4]),
    i64('exp2', [], [2]),
    i64('axes_last', [1], [-1]),
  ],
  nodes: [
    node('Transpose', ['x'], ['transposed']),
    node('Unsqueeze', ['x', 'axes1'], ['unsq']),
    node('Squeeze', ['unsq'], ['squeezed']),
    node('Gather', ['x', 'idx'], ['gathered'], [int('axis', 1)]),
    node('Gelu', ['x'], ['gelu']),
    node('Gelu', ['x'], ['gelu_tanh'], [str('approximate', 'tanh')]),
    node('LayerNormalization', ['x', 'scale', 'bias'], ['ln'], [float('epsilon', 1e-3)]),
    node('Flatten', ['x'], ['flat'], [int('axis', 2)]),
    node('Clip', ['x', 'lo', 'hi'], ['clipped']),
    node('Clip', ['x', '', 'hi'], ['clipped_hi']),
    node('Dropout', ['x'], ['dropped']),
    node('Pad', ['x', 'pads'], ['padded']),
    node('Trilu', ['x', 'k'], ['lower'], [int('upper', 0)]),
    node('LogSoftmax', ['x'], ['lsm'], [int('axis', 1)]),
    node('Greater', ['x', 'zero'], ['positive']),
    node('Where', ['positive', 'x', 'minus'], ['where']),
    node('Shape', ['x'], ['shape']),
    node('Slice', ['shape', 'zero_1d', 'two_1d'], ['lead'], [], 'lead'),
    node('Concat', ['lead', 'four'], ['target'], [int('axis', 0)]),
    node('Expand', ['bias', 'target'], ['expanded']),
    node('Range', ['r0', 'r4', 'r1'], ['range']),
    node('Cast', ['range'], ['rangef'], [int('to', 1)]),
    node('Add', ['x', 'rangef'], ['ranged']),
    node('ConstantOfShape', ['full'], ['twos'], [{ name: 'value', type: 'tensor', value: f32('', [1], [2]) }]),
    node('Mul', ['x', 'twos'], ['filled']),
    node('Pow', ['x', 'exp2'], ['squared']),
    node('ReduceL2', ['x', 'axes_last'], ['l2']),
    node('Max', ['x', 'zero', 'minus'], ['maxed']),
  ],
});

/** Opset-12 spellings: Unsqueeze/Squeeze/Split with attributes, Softmax over the flattened trailing dims. */
const legacy = model({
  opsetVersion: 12,
  inputs: [{ name: 'x', dtype: 'float32', dims: [2, 3, 4] }],
  outputs: [
    { name: 'sm', dtype: 'float32', dims: [2, 3, 4] },
    { name: 'p', dtype: 'float32', dims: [2, 1, 4] },
    { name: 'q', dtype: 'float32', dims: [2, 2, 4] },
  ],
  nodes: [
    node('Unsqueeze', ['x'], ['u'], [ints('axes', [0])]),
    node('Squeeze', ['u'], ['s'], [ints('axes', [0])]),
    node('Softmax', ['s'], ['sm'], [int('axis', 1)]),
    node('Split', ['x'], ['p', 'q'], [int('axis', 1), ints('split', [1, 2])]),
  ],
});

// --- tests -------------------------------------------------------------------------------------

describe('fromOnnx matches ONNX Runtime on the original model (max abs diff <= 1e-6)', () => {
  const x28 = { x: randomTensor([2, 8], 1) };

  test('MLP: Gemm + Relu + Gemm + Softmax, large float initializers as weights', async () => {
    const { graph, weights } = fromOnnx(mlp);
    assert.deepEqual(Object.keys(weights).sort(), ['W1', 'W2']);
    assert.deepEqual(
      graph.inputs.map((v) => `${v.name}:${v.role}`),
      ['x:input', 'W1:weight', 'W2:weight'],
    );
    assert.deepEqual(graph.getTap('h').shape, [2, 16]);
    await expectParity(mlp, x28);
  });

  test('MLP from bytes (importOnnx), and with weights baked in as constants', async () => {
    const fromBytes = importOnnx(encodeModel(mlp));
    const expected = await runOriginal(mlp, x28);
    const a = await runProgram(defaultExecutor(), compile(fromBytes.graph), { ...x28, ...fromBytes.weights });
    assert.ok(maxAbsDiff(a.y, expected.y) <= TOL);
    const baked = fromOnnx(mlp, { weights: 'constants' });
    assert.deepEqual(baked.weights, {});
    assert.deepEqual(baked.graph.inputs.map((v) => v.name), ['x']);
    await expectParity(mlp, x28, { weights: 'constants' });
  });

  test('reductions: opset-13 axes attributes and opset-18 axes inputs agree', async () => {
    const feeds = { x: randomTensor([2, 3, 5], 2) };
    const old = await expectParity(reductions(13), feeds);
    const cur = await expectParity(reductions(18), feeds);
    for (const k of ['y', 's', 'm']) assert.ok(maxAbsDiff(old[k], cur[k]) === 0, k);
  });

  test('Reshape whose shape comes from Shape -> Gather -> Unsqueeze -> Concat folds away', async () => {
    const { graph } = fromOnnx(reshapeChain, { shapes: { x: [2, 3, 4] } });
    assert.deepEqual(graph.nodes.map((n) => n.op), ['Reshape']);
    assert.deepEqual(graph.outputs.get('r')!.shape, [2, 12]);
    await expectParity(reshapeChain, { x: randomTensor([2, 3, 4], 3) }, { shapes: { x: [2, 3, 4] } });
  });

  test('Split by split input (opset 13) and by num_outputs (opset 18)', async () => {
    await expectParity(split13, { x: randomTensor([2, 6], 4) });
    await expectParity(split18, { x: randomTensor([2, 7], 5) });
  });

  test('Slice with steps, negative steps, INT64 sentinels, omitted and negative axes', async () => {
    await expectParity(slices, { x: randomTensor([4, 6], 6) });
  });

  test('Constant nodes: value, value_float, value_floats, value_int, value_ints', async () => {
    await expectParity(constants, { x: randomTensor([2, 4], 7) });
  });

  test('opset 12: axes and split as attributes, legacy Softmax', async () => {
    await expectParity(legacy, { x: randomTensor([2, 3, 4], 12) });
  });

  test('assorted ops: Transpose, Squeeze, Gather, Gelu, LayerNorm, Flatten, Clip, Pad, Trilu, Where, Expand, Range, ...', async () => {
    await expectParity(assorted, { x: randomTensor([2, 3, 4], 8) });
  });
});

describe('round trip', () => {
  test('graph built with ops.ts -> toOnnx -> fromOnnx gives the same outputs', async () => {
    const g = new Graph('rt');
    const x = g.input('x', 'float32', [2, 3, 4]); // [batch, pos, d]
    const w = g.weight('w', 'float32', [4, 6]);
    const scale = g.weight('scale', 'float32', [4]);
    const h = op.matmul(op.layerNorm(x, scale, null), w); // [2, 3, 6]
    const [q, k] = op.split(h, -1, [2, 4]);
    const att = op.softmax(op.trilu(op.matmul(q, op.transpose(op.slice(k, [0], [2], [2]), [0, 2, 1])), false), -1); // [2, 3, 3]
    const mixed = op.concat([op.gelu(op.reshape(att, [2, 9])), op.reduceMean(op.pad(h, [0, 0, 1, 0, 0, 0]), 1)], 1); // [2, 15]
    const picked = op.gather(mixed, g.constant(new BigInt64Array([3n, 0n]), [2]), 1);
    g.output('mixed', mixed);
    g.output('picked', op.where(op.greater(picked, 0), picked, op.neg(picked)));

    const feeds = { x: randomTensor([2, 3, 4], 9), w: randomTensor([4, 6], 10), scale: randomTensor([4], 11) };
    const expected = await runProgram(defaultExecutor(), compile(g), feeds);
    const { graph, weights } = fromOnnx(toOnnx(g).model);
    assert.deepEqual(weights, {}); // toOnnx emits weights as model inputs already
    const actual = await runProgram(defaultExecutor(), compile(graph), feeds);
    for (const name of ['mixed', 'picked']) assert.ok(maxAbsDiff(actual[name], expected[name]) <= TOL, name);
  });
});

describe('fromOnnx errors', () => {
  const x23 = [{ name: 'x', dtype: 'float32' as const, dims: [2, 3] }];
  const y23 = [{ name: 'y', dtype: 'float32' as const, dims: [2, 3] }];

  test('an unknown op names the node and op and lists the supported ops', () => {
    const m = model({ inputs: x23, outputs: y23, nodes: [node('FancyOp', ['x'], ['y'], [], 'my_fancy_node')] });
    throwsWith(() => fromOnnx(m), 'UNSUPPORTED_OP', /my_fancy_node/, /FancyOp/, /Supported op types: .*MatMul/);
  });

  test('a Reshape shape computed at run time names the node and the input', () => {
    const m = model({
      inputs: [...x23, { name: 'target', dtype: 'int64', dims: [2] }],
      outputs: [{ name: 'y', dtype: 'float32', dims: [3, 2] }],
      nodes: [node('Reshape', ['x', 'target'], ['y'], [], 'reshape_dyn')],
    });
    throwsWith(() => fromOnnx(m), 'UNSUPPORTED_OP', /reshape_dyn/, /'shape'/, /'target'/, /must be a constant/);
  });

  test('a symbolic input dim without shapes names the input and dim and says to pass shapes', () => {
    const m = model({
      inputs: [{ name: 'tokens', dtype: 'float32', dims: [1, -1] }],
      outputs: [{ name: 'y', dtype: 'float32', dims: [1, -1] }],
      nodes: [node('Relu', ['tokens'], ['y'])],
    });
    throwsWith(() => fromOnnx(m), 'INVALID_ARGUMENT', /'tokens'/, /dim 1/, /shapes/);
    assert.deepEqual(fromOnnx(m, { shapes: { tokens: [1, 5] } }).graph.outputs.get('y')!.shape, [1, 5]);
    throwsWith(() => fromOnnx(m, { shapes: { tokens: [2, 5] } }), 'INVALID_ARGUMENT', /does not fit/);
    throwsWith(() => fromOnnx(m, { shapes: { toks: [1, 5] } }), 'INVALID_ARGUMENT', /'toks'/, /not a graph input/);
  });

  test('a com.microsoft node names the domain', () => {
    const m = model({ inputs: x23, outputs: y23, nodes: [node('FastGelu', ['x'], ['y'], [], 'fused_gelu', 'com.microsoft')] });
    throwsWith(() => fromOnnx(m), 'UNSUPPORTED_OP', /com\.microsoft/, /fused_gelu/);
  });

  test('Pad in reflect mode or with a non-zero constant names the node and the mode', () => {
    const pad = (attrs: OnnxAttribute[], inputs: string[]) =>
      model({
        inputs: x23,
        outputs: [{ name: 'y', dtype: 'float32', dims: [2, 5] }],
        initializers: [i64('pads', [4], [0, 1, 0, 1]), f32('one', [], [1])],
        nodes: [node('Pad', inputs, ['y'], attrs, 'the_pad')],
      });
    throwsWith(() => fromOnnx(pad([str('mode', 'reflect')], ['x', 'pads'])), 'UNSUPPORTED_OP', /the_pad/, /'reflect'/);
    throwsWith(() => fromOnnx(pad([], ['x', 'pads', 'one'])), 'UNSUPPORTED_OP', /the_pad/, /constant_value 1/, /'constant'/);
  });

  test('Reshape allowzero=1 with a zero in the shape', () => {
    const m = model({
      inputs: x23,
      outputs: [{ name: 'y', dtype: 'float32', dims: [2, 3] }],
      initializers: [i64('s', [2], [0, 3])],
      nodes: [node('Reshape', ['x', 's'], ['y'], [int('allowzero', 1)], 'rz')],
    });
    throwsWith(() => fromOnnx(m), 'UNSUPPORTED_OP', /rz/, /allowzero/);
  });

  test('a shape mismatch found while rebuilding names the ONNX node', () => {
    const m = model({ inputs: x23, outputs: y23, nodes: [node('MatMul', ['x', 'x'], ['y'], [], 'bad_matmul')] });
    throwsWith(() => fromOnnx(m), 'SHAPE_MISMATCH', /bad_matmul/, /\[2, 3\] x \[2, 3\]/);
  });

  test('an opset outside 11..21 is refused', () => {
    throwsWith(() => fromOnnx(model({ opsetVersion: 9 })), 'UNSUPPORTED_OP', /opset 9/);
  });
});
