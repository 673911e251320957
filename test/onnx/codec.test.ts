/**
 * Codec tests: round trips over every attribute kind and dtype, ORT loading our bytes, foreign
 * encodings (float_data and friends, unpacked fields, dim_param, unknown fields) built by a
 * separate minimal protobuf writer below, and clean errors for bad input.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel } from '../../src/onnx/codec.js';
import type { OnnxTensor } from '../../src/onnx/model.js';
import { GlassboxError } from '../../src/errors.js';
import { model } from '../helpers/onnx.js';

// --- a tiny, independent protobuf writer for hand-built "foreign" files ----------------------

type Bytes = number[];
function varint(n: bigint | number): Bytes {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: Bytes = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const key = (field: number, wire: number) => varint(field * 8 + wire);
const vint = (field: number, n: bigint | number): Bytes => [...key(field, 0), ...varint(n)];
const len = (field: number, payload: Bytes): Bytes => [...key(field, 2), ...varint(payload.length), ...payload];
const str = (field: number, s: string): Bytes => len(field, [...new TextEncoder().encode(s)]);
const f32 = (field: number, x: number): Bytes => [...key(field, 5), ...new Uint8Array(new Float32Array([x]).buffer)];
const f64 = (field: number, x: number): Bytes => [...key(field, 1), ...new Uint8Array(new Float64Array([x]).buffer)];
const packedF32 = (field: number, xs: number[]): Bytes => len(field, [...new Uint8Array(new Float32Array(xs).buffer)]);
const packedVarints = (field: number, xs: (number | bigint)[]): Bytes => len(field, xs.flatMap((x) => varint(x)));

/** ValueInfoProto with elem type and dims (a string dim becomes dim_param). */
function valueInfo(name: string, elemType: number, dims: (number | string)[]): Bytes {
  const shape = dims.flatMap((d) => len(1, typeof d === 'number' ? vint(1, d) : str(2, d)));
  return [...str(1, name), ...len(2, len(1, [...vint(1, elemType), ...len(2, shape)]))];
}

// --- fixtures ----------------------------------------------------------------------------------


const everyDtype: OnnxTensor[] = [
  { name: 'f32', dtype: 'float32', dims: [2, 2], data: new Float32Array([1.5, -2, 0, 3.25]) },
  { name: 'f64', dtype: 'float64', dims: [3], data: new Float64Array([Math.PI, -1e300, 5e-324]) },
  { name: 'i64', dtype: 'int64', dims: [3], data: new BigInt64Array([-1n, 2n ** 62n + 7n, -(2n ** 63n)]) },
  { name: 'i32', dtype: 'int32', dims: [2], data: new Int32Array([-2147483648, 2147483647]) },
  { name: 'b', dtype: 'bool', dims: [1, 3], data: new Uint8Array([1, 0, 1]) },
  { name: 'scalar', dtype: 'float32', dims: [], data: new Float32Array([7]) },
  { name: 'empty', dtype: 'int64', dims: [0, 4], data: new BigInt64Array(0) },
];

const everyAttribute = model({
  inputs: [{ name: 'x', dtype: 'float32', dims: [-1, 4] }],
  outputs: [{ name: 'y', dtype: 'float32', dims: [-1, 4] }],
  initializers: everyDtype,
  nodes: [
    {
      name: 'n0',
      opType: 'Custom',
      domain: 'com.example',
      inputs: ['x', '', 'f32'],
      outputs: ['y'],
      attributes: [
        { name: 'f', type: 'float', value: -0.5 },
        { name: 'i', type: 'int', value: -1 },
        { name: 'big', type: 'int', value: -(2 ** 40) },
        { name: 'max_safe', type: 'int', value: Number.MAX_SAFE_INTEGER },
        { name: 's', type: 'string', value: 'héllo ✓' },
        { name: 'empty_s', type: 'string', value: '' },
        { name: 't', type: 'tensor', value: { name: '', dtype: 'int64', dims: [2], data: new BigInt64Array([-3n, 4n]) } },
        { name: 'fs', type: 'floats', value: [0.25, -1, 1e10] },
        { name: 'is', type: 'ints', value: [-1, 0, 2 ** 33, -(2 ** 50)] },
        { name: 'no_ints', type: 'ints', value: [] },
      ],
    },
  ],
});

describe('codec round trip', () => {
  test('every attribute kind, negative ints and every dtype survive encode → decode', () => {
    const back = decodeModel(encodeModel(everyAttribute));
    assert.deepStrictEqual(back, everyAttribute);
  });

  test('decoded tensors are aligned copies, not views of the file', () => {
    const bytes = encodeModel(everyAttribute);
    const back = decodeModel(bytes);
    for (const t of back.initializers) {
      assert.notEqual(t.data.buffer, bytes.buffer);
      assert.equal(t.data.byteOffset % t.data.BYTES_PER_ELEMENT, 0);
    }
  });

  test('a negative int attribute is a 10-byte two’s-complement varint', () => {
    const m = model({
      nodes: [{ name: '', opType: 'Softmax', domain: '', inputs: ['x'], outputs: ['y'], attributes: [{ name: 'axis', type: 'int', value: -1 }] }],
    });
    const bytes = encodeModel(m);
    const minusOne = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const hex = (b: ArrayLike<number>) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    assert.ok(hex(bytes).includes('18' + hex(minusOne)), 'AttributeProto.i (tag 0x18) followed by the 10-byte -1');
  });

  test('ints at or beyond ±2^63 clamp to INT64_MAX/MIN instead of wrapping', () => {
    const m = model({
      nodes: [
        {
          name: 'slice',
          opType: 'X',
          domain: '',
          inputs: [],
          outputs: ['y'],
          attributes: [
            { name: 'hi', type: 'int', value: 2 ** 63 },
            { name: 'lo', type: 'ints', value: [-(2 ** 64)] },
          ],
        },
      ],
    });
    const attrs = decodeModel(encodeModel(m)).nodes[0]!.attributes;
    assert.equal(attrs[0]!.value, 2 ** 63); // INT64_MAX read back as a JS number
    assert.deepEqual(attrs[1]!.value, [-(2 ** 63)]);
  });

  test('non-integer int attributes and data that does not fit the dims are refused on encode', () => {
    const badInt = model({
      nodes: [{ name: 'n', opType: 'X', domain: '', inputs: [], outputs: [], attributes: [{ name: 'k', type: 'int', value: 1.5 }] }],
    });
    assert.throws(() => encodeModel(badInt), (e: unknown) => e instanceof GlassboxError && e.code === 'INVALID_ARGUMENT' && /'k'/.test(e.message));
    const badData = model({ initializers: [{ name: 'w', dtype: 'float32', dims: [2, 2], data: new Float32Array(3) }] });
    assert.throws(() => encodeModel(badData), (e: unknown) => e instanceof GlassboxError && e.code === 'SHAPE_MISMATCH' && /'w'/.test(e.message));
  });
});

describe('codec and ONNX Runtime', () => {
  test('ORT runs an encoded MatMul + Add + Softmax(axis=-1) and matches a hand computation (tol 1e-6)', async () => {
    // y = softmax(x @ W + b, axis=-1); x: [2, 3], W: [3, 2], b: [2]
    const W = [1, -1, 0.5, 2, -0.5, 0];
    const b = [0.1, -0.2];
    const m = model({
      inputs: [{ name: 'x', dtype: 'float32', dims: [2, 3] }],
      outputs: [{ name: 'y', dtype: 'float32', dims: [2, 2] }],
      initializers: [
        { name: 'W', dtype: 'float32', dims: [3, 2], data: new Float32Array(W) },
        { name: 'b', dtype: 'float32', dims: [2], data: new Float32Array(b) },
      ],
      nodes: [
        { name: 'mm', opType: 'MatMul', domain: '', inputs: ['x', 'W'], outputs: ['h'], attributes: [] },
        { name: 'add', opType: 'Add', domain: '', inputs: ['h', 'b'], outputs: ['z'], attributes: [] },
        { name: 'sm', opType: 'Softmax', domain: '', inputs: ['z'], outputs: ['y'], attributes: [{ name: 'axis', type: 'int', value: -1 }] },
      ],
    });
    const x = [1, 2, 3, -1, 0, 1];
    const session = await ort.InferenceSession.create(encodeModel(m));
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array(x), [2, 3]) });
    await session.release();
    const expected: number[] = [];
    for (let r = 0; r < 2; r++) {
      const z = [0, 1].map((c) => x[r * 3]! * W[c]! + x[r * 3 + 1]! * W[2 + c]! + x[r * 3 + 2]! * W[4 + c]! + b[c]!);
      const e = z.map((v) => Math.exp(v - Math.max(...z)));
      const s = e[0]! + e[1]!;
      expected.push(e[0]! / s, e[1]! / s);
    }
    const y = out.y!;
    assert.deepEqual(y.dims, [2, 2]);
    for (const [i, v] of (y.data as Float32Array).entries()) assert.ok(Math.abs(v - expected[i]!) < 1e-6, `y[${i}] = ${v}, expected ${expected[i]}`);
  });
});

describe('codec reads foreign encodings', () => {
  // Graph: y = x + W (float32 [?, 3]), plus weights in every non-raw encoding.
  const initW = [...packedVarints(1, [3]), ...vint(2, 1), ...f32(4, 1), ...f32(4, -2), ...f32(4, 0.5), ...str(8, 'W')]; // unpacked float_data
  const initP = [...vint(1, 2), ...vint(1, 2), ...vint(2, 1), ...packedF32(4, [1, 2, 3, 4]), ...str(8, 'P')]; // unpacked dims, packed floats
  const initL = [...packedVarints(1, [3]), ...vint(2, 7), ...vint(7, -5), ...vint(7, 2n ** 62n), ...vint(7, 0), ...str(8, 'L')]; // int64_data
  const initI = [...packedVarints(1, [2]), ...vint(2, 6), ...packedVarints(5, [-7, 8]), ...str(8, 'I')]; // int32_data packed, -7 sign-extended
  const initB = [...packedVarints(1, [2]), ...vint(2, 9), ...vint(5, 1), ...vint(5, 0), ...str(8, 'B')]; // bool in int32_data
  const initD = [...packedVarints(1, [2]), ...vint(2, 11), ...f64(10, 0.1), ...f64(10, -3), ...str(8, 'D')]; // double_data
  const graph = [
    ...len(1, [...str(1, 'x'), ...str(1, 'W'), ...str(2, 'y'), ...str(3, 'add'), ...str(4, 'Add'), ...str(6, 'doc')]),
    ...str(2, 'torch_jit'),
    ...len(5, initW),
    ...len(5, initP),
    ...len(5, initL),
    ...len(5, initI),
    ...len(5, initB),
    ...len(5, initD),
    ...str(10, 'graph doc string'), // unknown to us: skipped
    ...len(11, valueInfo('x', 1, ['batch', 3])),
    ...len(11, valueInfo('W', 1, [3])), // pre-IR-4 style: an initializer listed among the inputs
    ...len(12, valueInfo('y', 1, ['batch', 3])),
    ...len(13, valueInfo('unused', 1, [1])), // value_info: ignored
  ];
  const bytes = new Uint8Array([
    ...vint(1, 7),
    ...str(2, 'pytorch'),
    ...str(3, '2.1'), // producer_version: skipped
    ...[...key(99, 1), 1, 2, 3, 4, 5, 6, 7, 8], // unknown fixed64 field
    ...[...key(98, 5), 1, 2, 3, 4], // unknown fixed32 field
    ...len(7, graph),
    ...len(8, [...str(1, 'com.microsoft'), ...vint(2, 1)]),
    ...len(8, [...str(1, ''), ...vint(2, 17)]),
  ]);

  test('float_data / int64_data / int32_data / double_data, packed or not, dim_param and unknown fields', () => {
    const m = decodeModel(bytes);
    assert.equal(m.irVersion, 7);
    assert.equal(m.opsetVersion, 17);
    assert.equal(m.producerName, 'pytorch');
    assert.equal(m.graphName, 'torch_jit');
    assert.deepEqual(m.inputs, [{ name: 'x', dtype: 'float32', dims: [-1, 3] }]);
    assert.deepEqual(m.outputs, [{ name: 'y', dtype: 'float32', dims: [-1, 3] }]);
    assert.deepEqual(m.nodes, [{ name: 'add', opType: 'Add', domain: '', inputs: ['x', 'W'], outputs: ['y'], attributes: [] }]);
    const byName = Object.fromEntries(m.initializers.map((t) => [t.name, t]));
    assert.deepEqual(byName.W, { name: 'W', dtype: 'float32', dims: [3], data: new Float32Array([1, -2, 0.5]) });
    assert.deepEqual(byName.P, { name: 'P', dtype: 'float32', dims: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
    assert.deepEqual(byName.L, { name: 'L', dtype: 'int64', dims: [3], data: new BigInt64Array([-5n, 2n ** 62n, 0n]) });
    assert.deepEqual(byName.I, { name: 'I', dtype: 'int32', dims: [2], data: new Int32Array([-7, 8]) });
    assert.deepEqual(byName.B, { name: 'B', dtype: 'bool', dims: [2], data: new Uint8Array([1, 0]) });
    assert.deepEqual(byName.D, { name: 'D', dtype: 'float64', dims: [2], data: new Float64Array([0.1, -3]) });
  });

  test('a decoded foreign model re-encodes and runs in ORT', async () => {
    const m = decodeModel(bytes);
    const session = await ort.InferenceSession.create(encodeModel(m));
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([1, 1, 1, 2, 2, 2]), [2, 3]) });
    await session.release();
    assert.deepEqual(Array.from(out.y!.data as Float32Array), [2, -1, 1.5, 3, 0, 2.5]);
  });

  test('unpacked ints and a float attribute without a type field (old files) are read', () => {
    const attrInts = [...str(1, 'perm'), ...vint(8, 1), ...vint(8, 0), ...vint(8, -1)];
    const attrF = [...str(1, 'alpha'), ...f32(2, 0.25)];
    const node = [...str(1, 'x'), ...str(2, 'y'), ...str(4, 'Transpose'), ...str(7, 'ai.onnx'), ...len(5, attrInts), ...len(5, attrF)];
    const m = decodeModel(new Uint8Array([...vint(1, 8), ...len(7, len(1, node)), ...len(8, [...str(1, 'ai.onnx'), ...vint(2, 13)])]));
    assert.equal(m.opsetVersion, 13);
    assert.deepEqual(m.nodes[0]!.domain, '');
    assert.deepEqual(m.nodes[0]!.attributes, [
      { name: 'perm', type: 'ints', value: [1, 0, -1] },
      { name: 'alpha', type: 'float', value: 0.25 },
    ]);
  });
});

describe('codec errors', () => {
  const isDecodeError = (pattern?: RegExp) => (e: unknown) =>
    e instanceof GlassboxError && e.code === 'ONNX_DECODE' && (pattern === undefined || pattern.test(e.message));

  const oneInitializer = (tensor: Bytes) =>
    new Uint8Array([...vint(1, 8), ...len(7, len(5, tensor)), ...len(8, [...str(1, ''), ...vint(2, 18)])]);

  test('every truncation of a valid model fails with ONNX_DECODE, never a RangeError', () => {
    const bytes = encodeModel(everyAttribute);
    for (let n = 0; n < bytes.length; n++) {
      assert.throws(() => decodeModel(bytes.subarray(0, n)), isDecodeError(), `prefix of ${n} bytes`);
    }
  });

  test('a truncated length names the byte offset', () => {
    const bytes = encodeModel(everyAttribute);
    assert.throws(() => decodeModel(bytes.subarray(0, 40)), isDecodeError(/byte offset \d+/));
  });

  test('random corruption either decodes or fails with ONNX_DECODE', () => {
    const bytes = encodeModel(everyAttribute);
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 2000; trial++) {
      const copy = bytes.slice();
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) copy[Math.floor(rand() * copy.length)] = Math.floor(rand() * 256);
      try {
        decodeModel(copy);
      } catch (e) {
        assert.ok(e instanceof GlassboxError && e.code === 'ONNX_DECODE', `trial ${trial}: ${String(e)}`);
      }
    }
  });

  test('external data is refused, naming the tensor', () => {
    const ext = [...packedVarints(1, [4]), ...vint(2, 1), ...str(8, 'encoder.weight'), ...len(13, [...str(1, 'location'), ...str(2, 'w.bin')]), ...vint(14, 1)];
    assert.throws(() => decodeModel(oneInitializer(ext)), isDecodeError(/'encoder\.weight'.*external data is not supported yet/));
  });

  test('an unsupported element type names the tensor and the type code', () => {
    const half = [...packedVarints(1, [2]), ...vint(2, 10), ...str(8, 'h'), ...len(9, [0, 0x3c, 0, 0x3c])];
    assert.throws(() => decodeModel(oneInitializer(half)), isDecodeError(/'h'.*element type 10 \(float16\)/));
  });

  test('raw_data of the wrong length names the tensor', () => {
    const short = [...packedVarints(1, [2]), ...vint(2, 1), ...str(8, 'w'), ...len(9, [0, 0, 0, 0])];
    assert.throws(() => decodeModel(oneInitializer(short)), isDecodeError(/'w'.*raw_data has 4 bytes/));
  });

  test('a graph attribute (If/Loop bodies) is refused, naming node and attribute', () => {
    const attr = [...str(1, 'then_branch'), ...vint(20, 5), ...len(6, [])];
    const node = [...str(3, 'if0'), ...str(4, 'If'), ...len(5, attr)];
    const bytes = new Uint8Array([...len(7, len(1, node)), ...len(8, vint(2, 18))]);
    assert.throws(() => decodeModel(bytes), isDecodeError(/attribute 'then_branch' of node 'if0' \(op: If.*GRAPH/));
  });

  test('no default-domain opset is an error', () => {
    const bytes = new Uint8Array([...len(7, str(2, 'g')), ...len(8, [...str(1, 'com.microsoft'), ...vint(2, 1)])]);
    assert.throws(() => decodeModel(bytes), isDecodeError(/default-domain/));
  });
});
