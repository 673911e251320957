/**
 * ONNX ModelProto <-> OnnxModel, by hand: a small protobuf writer and reader that know only
 * the fields glassbox uses (field numbers from onnx/onnx.proto). No dependency, no generated
 * code, runs unchanged in Node and the browser.
 *
 * Decisions:
 * - We always write tensor payloads as little-endian `raw_data` and repeated ints packed.
 *   When reading we also accept what other exporters write (float_data / int32_data /
 *   int64_data / double_data, packed or not), skip unknown fields by wire type and ignore
 *   value_info.
 * - int64 fields are varints; a negative value is its 64-bit two's complement (10 bytes).
 *   OnnxModel holds them as JS numbers: values beyond ±2^53 lose precision and values at or
 *   beyond ±2^63 (INT64_MAX is a common "to the end" sentinel) are clamped to INT64_MAX/MIN on
 *   write, so that a decode → encode round trip never flips the sign.
 * - Every decode failure is a GlassboxError('ONNX_DECODE') naming the byte offset and the
 *   place in the model (`graph.node[3].attribute 'axis'`); nothing escapes as a RangeError.
 * - Hosts are assumed little-endian (true of every platform JS runs on in practice).
 */
import { GlassboxError } from '../errors.js';
import {
  BYTES_PER_ELEMENT,
  DTYPE_FROM_ONNX,
  ONNX_DTYPE,
  dtypeOfArray,
  sizeOf,
  type AnyTypedArray,
  type DType,
} from '../graph/dtype.js';
import type { OnnxAttribute, OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo } from './model.js';

// ---------------------------------------------------------------------------------------------
// Field numbers (onnx.proto)
// ---------------------------------------------------------------------------------------------

const MODEL = { irVersion: 1, producerName: 2, graph: 7, opsetImport: 8 } as const;
const OPSET_ID = { domain: 1, version: 2 } as const;
const GRAPH = { node: 1, name: 2, initializer: 5, input: 11, output: 12, valueInfo: 13 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const ATTR = { name: 1, f: 2, i: 3, s: 4, t: 5, floats: 7, ints: 8, type: 20 } as const;
const TENSOR = {
  dims: 1,
  dataType: 2,
  floatData: 4,
  int32Data: 5,
  int64Data: 7,
  name: 8,
  rawData: 9,
  doubleData: 10,
  externalData: 13,
  dataLocation: 14,
} as const;
const VALUE_INFO = { name: 1, type: 2 } as const;
const TYPE = { tensorType: 1 } as const;
const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;
const SHAPE = { dim: 1 } as const;
const DIM = { value: 1, param: 2 } as const;

/** AttributeProto.AttributeType codes for the attribute kinds OnnxAttribute can hold. */
const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;
const ATTR_TYPE_NAME: Record<number, string> = {
  0: 'UNDEFINED',
  5: 'GRAPH',
  8: 'STRINGS',
  9: 'TENSORS',
  10: 'GRAPHS',
  11: 'SPARSE_TENSOR',
  12: 'SPARSE_TENSORS',
  13: 'TYPE_PROTO',
  14: 'TYPE_PROTOS',
};

/** TensorProto.DataType names, for error messages about types glassbox cannot hold. */
const ONNX_TYPE_NAME: Record<number, string> = {
  0: 'UNDEFINED',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  8: 'string',
  10: 'float16',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
  17: 'float8e4m3fn',
  18: 'float8e4m3fnuz',
  19: 'float8e5m2',
  20: 'float8e5m2fnuz',
  21: 'uint4',
  22: 'int4',
  23: 'float4e2m1',
};

const DATA_LOCATION_EXTERNAL = 1;

const WIRE = { varint: 0, i64: 1, len: 2, startGroup: 3, endGroup: 4, i32: 5 } as const;

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

/** Byte payloads at least this long are kept by reference until `finish` instead of copied twice. */
const BIG_CHUNK = 1024;

/**
 * Accumulates protobuf bytes. Nested messages are written into a child writer whose chunks are
 * spliced into the parent after the length prefix, so large tensor payloads are copied exactly
 * once, into the final buffer.
 */
class Writer {
  private chunks: Uint8Array[] = [];
  private flushed = 0;
  private buf = new Uint8Array(256);
  private pos = 0;

  get length(): number {
    return this.flushed + this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  private flush(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.buf.subarray(0, this.pos));
    this.flushed += this.pos;
    this.buf = new Uint8Array(256);
    this.pos = 0;
  }

  /** Unsigned varint of a non-negative safe integer. */
  private uvarint(n: number): void {
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  /** Varint of an int64 given as a JS integer: negatives as 10-byte two's complement. */
  private int64varint(n: number): void {
    if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) {
      this.uvarint(n);
      return;
    }
    let v = BigInt(n);
    if (v > INT64_MAX) v = INT64_MAX;
    if (v < INT64_MIN) v = INT64_MIN;
    v = BigInt.asUintN(64, v);
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  private tag(field: number, wire: number): void {
    this.uvarint(field * 8 + wire);
  }

  int64(field: number, n: number): void {
    this.tag(field, WIRE.varint);
    this.int64varint(n);
  }

  float32(field: number, x: number): void {
    this.tag(field, WIRE.i32);
    this.ensure(4);
    new DataView(this.buf.buffer).setFloat32(this.pos, x, true);
    this.pos += 4;
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, WIRE.len);
    this.uvarint(data.length);
    this.append(data);
  }

  string(field: number, s: string): void {
    this.bytes(field, textEncoder.encode(s));
  }

  packedInt64(field: number, values: readonly number[]): void {
    if (values.length === 0) return;
    const inner = new Writer();
    for (const v of values) inner.int64varint(v);
    this.tag(field, WIRE.len);
    this.uvarint(inner.length);
    this.splice(inner);
  }

  packedFloat32(field: number, values: readonly number[]): void {
    if (values.length === 0) return;
    const data = new Float32Array(values);
    this.bytes(field, new Uint8Array(data.buffer));
  }

  message(field: number, write: (w: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    this.tag(field, WIRE.len);
    this.uvarint(inner.length);
    this.splice(inner);
  }

  private append(data: Uint8Array): void {
    if (data.length >= BIG_CHUNK) {
      this.flush();
      this.chunks.push(data);
      this.flushed += data.length;
    } else {
      this.ensure(data.length);
      this.buf.set(data, this.pos);
      this.pos += data.length;
    }
  }

  private splice(inner: Writer): void {
    inner.flush();
    this.flush();
    this.chunks.push(...inner.chunks);
    this.flushed += inner.flushed;
  }

  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.flushed);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: false });

// ---------------------------------------------------------------------------------------------
// Encode
// ---------------------------------------------------------------------------------------------

/** Serialise a model to ModelProto bytes (tensors as raw_data, repeated ints packed). */
export function encodeModel(m: OnnxModel): Uint8Array {
  const w = new Writer();
  w.int64(MODEL.irVersion, checkInt(m.irVersion, 'irVersion'));
  if (m.producerName) w.string(MODEL.producerName, m.producerName);
  w.message(MODEL.graph, (g) => writeGraph(g, m));
  w.message(MODEL.opsetImport, (o) => {
    o.string(OPSET_ID.domain, '');
    o.int64(OPSET_ID.version, checkInt(m.opsetVersion, 'opsetVersion'));
  });
  return w.finish();
}

function writeGraph(w: Writer, m: OnnxModel): void {
  m.nodes.forEach((n, i) => w.message(GRAPH.node, (nw) => writeNode(nw, n, `node[${i}] '${n.name}'`)));
  w.string(GRAPH.name, m.graphName);
  for (const t of m.initializers) w.message(GRAPH.initializer, (tw) => writeTensor(tw, t, `initializer '${t.name}'`));
  for (const v of m.inputs) w.message(GRAPH.input, (vw) => writeValueInfo(vw, v));
  for (const v of m.outputs) w.message(GRAPH.output, (vw) => writeValueInfo(vw, v));
}

function writeNode(w: Writer, n: OnnxNode, where: string): void {
  for (const s of n.inputs) w.string(NODE.input, s);
  for (const s of n.outputs) w.string(NODE.output, s);
  if (n.name) w.string(NODE.name, n.name);
  w.string(NODE.opType, n.opType);
  for (const a of n.attributes) w.message(NODE.attribute, (aw) => writeAttribute(aw, a, `${where} attribute '${a.name}'`));
  if (n.domain) w.string(NODE.domain, n.domain);
}

function writeAttribute(w: Writer, a: OnnxAttribute, where: string): void {
  w.string(ATTR.name, a.name);
  switch (a.type) {
    case 'float':
      w.float32(ATTR.f, a.value);
      break;
    case 'int':
      w.int64(ATTR.i, checkInt(a.value, where));
      break;
    case 'string':
      w.string(ATTR.s, a.value);
      break;
    case 'tensor':
      w.message(ATTR.t, (tw) => writeTensor(tw, a.value, where));
      break;
    case 'floats':
      w.packedFloat32(ATTR.floats, a.value);
      break;
    case 'ints':
      a.value.forEach((v, i) => checkInt(v, `${where}[${i}]`));
      w.packedInt64(ATTR.ints, a.value);
      break;
  }
  w.int64(ATTR.type, ATTR_TYPE[a.type]);
}

function writeTensor(w: Writer, t: OnnxTensor, where: string): void {
  const n = sizeOf(t.dims);
  if (dtypeOfArray(t.data) !== t.dtype) {
    throw new GlassboxError('DTYPE_MISMATCH', `tensor is declared ${t.dtype} but holds ${t.data.constructor.name}`, {
      where,
    });
  }
  if (t.data.length !== n) {
    throw new GlassboxError(
      'SHAPE_MISMATCH',
      `tensor has dims [${t.dims.join(', ')}] (${n} elements) but ${t.data.length} values`,
      { where },
    );
  }
  w.packedInt64(TENSOR.dims, t.dims.map((d, i) => checkInt(d, `${where} dims[${i}]`)));
  w.int64(TENSOR.dataType, ONNX_DTYPE[t.dtype]);
  if (t.name) w.string(TENSOR.name, t.name);
  w.bytes(TENSOR.rawData, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function writeValueInfo(w: Writer, v: OnnxValueInfo): void {
  w.string(VALUE_INFO.name, v.name);
  w.message(VALUE_INFO.type, (tw) =>
    tw.message(TYPE.tensorType, (tt) => {
      tt.int64(TENSOR_TYPE.elemType, ONNX_DTYPE[v.dtype]);
      tt.message(TENSOR_TYPE.shape, (sw) => {
        // An unknown dim (-1) is written as a Dimension with neither value nor param.
        for (const d of v.dims) {
          sw.message(SHAPE.dim, (dw) => {
            if (d >= 0) dw.int64(DIM.value, d);
          });
        }
      });
    }),
  );
}

function checkInt(n: number, where: string): number {
  if (!Number.isInteger(n)) {
    throw new GlassboxError('INVALID_ARGUMENT', `expected an integer, got ${n}`, { where });
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

/** A cursor over protobuf bytes; every read is bounds-checked against `end`. */
class Reader {
  pos = 0;
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(message: string, where: string, at = this.pos): never {
    throw new GlassboxError('ONNX_DECODE', `${message} at byte offset ${at}`, { where });
  }

  /** A varint holding an int64, as a JS number (exact up to 2^53). */
  int64(end: number, where: string): number {
    const start = this.pos;
    // Fast path: up to 4 bytes (< 2^28) is exact in 32-bit arithmetic.
    let result = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= end) this.fail('truncated varint', where, start);
      const b = this.bytes[this.pos++]!;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result;
    }
    this.pos = start;
    return Number(this.int64Big(end, where));
  }

  /** A varint holding an int64, exactly, as a BigInt (negatives are 10-byte two's complement). */
  int64Big(end: number, where: string): bigint {
    const start = this.pos;
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (shift > 63n) this.fail('varint longer than 10 bytes', where, start);
      if (this.pos >= end) this.fail('truncated varint', where, start);
      const b = this.bytes[this.pos++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, v);
    }
  }

  /** A length prefix; checks that the payload fits before `end`. Returns the payload end. */
  length(end: number, where: string): number {
    const at = this.pos;
    const n = this.int64(end, where);
    if (n < 0 || this.pos + n > end) {
      this.fail(`length ${n} runs past the end of its message (${end - this.pos} bytes left)`, where, at);
    }
    return this.pos + n;
  }

  float32(end: number, where: string): number {
    if (this.pos + 4 > end) this.fail('truncated 32-bit value', where);
    const x = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return x;
  }

  float64(end: number, where: string): number {
    if (this.pos + 8 > end) this.fail('truncated 64-bit value', where);
    const x = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return x;
  }

  bytesField(end: number, where: string): Uint8Array {
    const stop = this.length(end, where);
    const out = this.bytes.subarray(this.pos, stop);
    this.pos = stop;
    return out;
  }

  string(end: number, where: string): string {
    return textDecoder.decode(this.bytesField(end, where));
  }

  /** Reads a tag; returns [field, wireType]. */
  tag(end: number, where: string): [number, number] {
    const at = this.pos;
    const t = this.int64(end, where);
    const field = Math.floor(t / 8);
    const wire = t % 8;
    if (t < 0 || field === 0) this.fail(`invalid field tag ${t}`, where, at);
    return [field, wire];
  }

  /** Skips a field we do not read, by its wire type. */
  skip(field: number, wire: number, end: number, where: string): void {
    const at = this.pos;
    switch (wire) {
      case WIRE.varint:
        this.int64(end, where);
        return;
      case WIRE.i64:
        if (this.pos + 8 > end) this.fail('truncated 64-bit value', where);
        this.pos += 8;
        return;
      case WIRE.len:
        this.pos = this.length(end, where);
        return;
      case WIRE.i32:
        if (this.pos + 4 > end) this.fail('truncated 32-bit value', where);
        this.pos += 4;
        return;
      case WIRE.startGroup:
        // Deprecated groups: skip fields until the matching end-group tag.
        for (;;) {
          if (this.pos >= end) this.fail(`unterminated group (field ${field})`, where, at);
          const [f, w] = this.tag(end, where);
          if (w === WIRE.endGroup) {
            if (f !== field) this.fail(`end-group for field ${f} closes group ${field}`, where);
            return;
          }
          this.skip(f, w, end, where);
        }
      default:
        this.fail(`unexpected wire type ${wire} for field ${field}`, where, at);
    }
  }

  /** Requires a field to have the wire type its schema says. */
  expect(field: number, wire: number, wanted: number, where: string): void {
    if (wire !== wanted) {
      this.fail(`field ${field} has wire type ${wire}, expected ${wanted}`, where);
    }
  }

  /** A repeated int64 field, packed (wire 2) or one element per tag (wire 0). */
  repeatedInt64(out: number[], wire: number, field: number, end: number, where: string): void {
    if (wire === WIRE.len) {
      const stop = this.length(end, where);
      while (this.pos < stop) out.push(this.int64(stop, where));
    } else {
      this.expect(field, wire, WIRE.varint, where);
      out.push(this.int64(end, where));
    }
  }

  /** Like repeatedInt64 but exact, for int64 tensor payloads. */
  repeatedInt64Big(out: bigint[], wire: number, field: number, end: number, where: string): void {
    if (wire === WIRE.len) {
      const stop = this.length(end, where);
      while (this.pos < stop) out.push(this.int64Big(stop, where));
    } else {
      this.expect(field, wire, WIRE.varint, where);
      out.push(this.int64Big(end, where));
    }
  }

  /** A repeated float field, packed (wire 2) or one element per tag (wire 5). */
  repeatedFloat32(out: number[], wire: number, field: number, end: number, where: string): void {
    if (wire === WIRE.len) {
      const stop = this.length(end, where);
      if ((stop - this.pos) % 4 !== 0) this.fail(`packed float field of ${stop - this.pos} bytes`, where);
      while (this.pos < stop) out.push(this.float32(stop, where));
    } else {
      this.expect(field, wire, WIRE.i32, where);
      out.push(this.float32(end, where));
    }
  }

  /** A repeated double field, packed (wire 2) or one element per tag (wire 1). */
  repeatedFloat64(out: number[], wire: number, field: number, end: number, where: string): void {
    if (wire === WIRE.len) {
      const stop = this.length(end, where);
      if ((stop - this.pos) % 8 !== 0) this.fail(`packed double field of ${stop - this.pos} bytes`, where);
      while (this.pos < stop) out.push(this.float64(stop, where));
    } else {
      this.expect(field, wire, WIRE.i64, where);
      out.push(this.float64(end, where));
    }
  }
}

/**
 * Walks the fields of one message from the reader's position to `end`, calling `onField` for
 * each; `onField` returns false for a field it does not read, which is then skipped.
 */
function readFields(
  r: Reader,
  end: number,
  where: string,
  onField: (field: number, wire: number) => boolean,
): void {
  while (r.pos < end) {
    const [field, wire] = r.tag(end, where);
    if (wire === WIRE.endGroup) r.fail(`stray end-group tag for field ${field}`, where);
    if (!onField(field, wire)) r.skip(field, wire, end, where);
  }
}

/** Reads a length-delimited sub-message with `read`, which gets the sub-message end. */
function readMessage<T>(r: Reader, field: number, wire: number, end: number, where: string, read: (end: number) => T): T {
  r.expect(field, wire, WIRE.len, where);
  const stop = r.length(end, where);
  const out = read(stop);
  r.pos = stop;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decode
// ---------------------------------------------------------------------------------------------

/**
 * Parse ModelProto bytes. Throws GlassboxError('ONNX_DECODE') for malformed bytes, external
 * data, element types glassbox cannot hold and attribute kinds it does not model.
 */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  const r = new Reader(bytes);
  const end = bytes.length;
  let irVersion = 0;
  let producerName = '';
  let graph: GraphParts | undefined;
  const opsets: { domain: string; version: number }[] = [];
  readFields(r, end, 'model', (field, wire) => {
    switch (field) {
      case MODEL.irVersion:
        r.expect(field, wire, WIRE.varint, 'model.ir_version');
        irVersion = r.int64(end, 'model.ir_version');
        return true;
      case MODEL.producerName:
        r.expect(field, wire, WIRE.len, 'model.producer_name');
        producerName = r.string(end, 'model.producer_name');
        return true;
      case MODEL.graph:
        graph = readMessage(r, field, wire, end, 'graph', (stop) => readGraph(r, stop));
        return true;
      case MODEL.opsetImport:
        opsets.push(readMessage(r, field, wire, end, 'model.opset_import', (stop) => readOpset(r, stop)));
        return true;
      default:
        return false;
    }
  });
  if (!graph) throw new GlassboxError('ONNX_DECODE', 'model has no graph', { where: 'model' });
  const opset = opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!opset) {
    const found = opsets.map((o) => `'${o.domain}' v${o.version}`).join(', ') || 'none';
    throw new GlassboxError('ONNX_DECODE', `model imports no default-domain ('' / 'ai.onnx') opset (found: ${found})`, {
      where: 'model.opset_import',
    });
  }
  return { irVersion, opsetVersion: opset.version, producerName, ...graph };
}

function readOpset(r: Reader, end: number): { domain: string; version: number } {
  const where = 'model.opset_import';
  let domain = '';
  let version = 0;
  readFields(r, end, where, (field, wire) => {
    if (field === OPSET_ID.domain) {
      r.expect(field, wire, WIRE.len, where);
      domain = r.string(end, where);
    } else if (field === OPSET_ID.version) {
      r.expect(field, wire, WIRE.varint, where);
      version = r.int64(end, where);
    } else return false;
    return true;
  });
  return { domain, version };
}

type GraphParts = Pick<OnnxModel, 'graphName' | 'inputs' | 'outputs' | 'nodes' | 'initializers'>;

function readGraph(r: Reader, end: number): GraphParts {
  const g: GraphParts = { graphName: '', inputs: [], outputs: [], nodes: [], initializers: [] };
  readFields(r, end, 'graph', (field, wire) => {
    switch (field) {
      case GRAPH.node: {
        const where = `graph.node[${g.nodes.length}]`;
        g.nodes.push(readMessage(r, field, wire, end, where, (stop) => readNode(r, stop, where)));
        return true;
      }
      case GRAPH.name:
        r.expect(field, wire, WIRE.len, 'graph.name');
        g.graphName = r.string(end, 'graph.name');
        return true;
      case GRAPH.initializer: {
        const where = `graph.initializer[${g.initializers.length}]`;
        g.initializers.push(readMessage(r, field, wire, end, where, (stop) => readTensor(r, stop, where)));
        return true;
      }
      case GRAPH.input: {
        const where = `graph.input[${g.inputs.length}]`;
        g.inputs.push(readMessage(r, field, wire, end, where, (stop) => readValueInfo(r, stop, where)));
        return true;
      }
      case GRAPH.output: {
        const where = `graph.output[${g.outputs.length}]`;
        g.outputs.push(readMessage(r, field, wire, end, where, (stop) => readValueInfo(r, stop, where)));
        return true;
      }
      case GRAPH.valueInfo:
        // Intermediate shape annotations: not part of OnnxModel.
        return false;
      default:
        return false;
    }
  });
  // Pre-IR-4 files list initializers among the inputs too; they are weights, not feeds.
  const weights = new Set(g.initializers.map((t) => t.name));
  g.inputs = g.inputs.filter((v) => !weights.has(v.name));
  return g;
}

function readNode(r: Reader, end: number, where: string): OnnxNode {
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [] };
  const attrEnds: number[] = [];
  readFields(r, end, where, (field, wire) => {
    switch (field) {
      case NODE.input:
        r.expect(field, wire, WIRE.len, where);
        n.inputs.push(r.string(end, where));
        return true;
      case NODE.output:
        r.expect(field, wire, WIRE.len, where);
        n.outputs.push(r.string(end, where));
        return true;
      case NODE.name:
        r.expect(field, wire, WIRE.len, where);
        n.name = r.string(end, where);
        return true;
      case NODE.opType:
        r.expect(field, wire, WIRE.len, where);
        n.opType = r.string(end, where);
        return true;
      case NODE.domain:
        r.expect(field, wire, WIRE.len, where);
        n.domain = r.string(end, where);
        return true;
      case NODE.attribute: {
        // Attributes are read after the node so their errors can name the node and op.
        r.expect(field, wire, WIRE.len, where);
        const stop = r.length(end, where);
        attrEnds.push(r.pos, stop);
        r.pos = stop;
        return true;
      }
      default:
        return false;
    }
  });
  if (n.domain === 'ai.onnx') n.domain = '';
  const label = `node '${n.name}' (op: ${n.opType}, ${where})`;
  for (let i = 0; i < attrEnds.length; i += 2) {
    r.pos = attrEnds[i]!;
    n.attributes.push(readAttribute(r, attrEnds[i + 1]!, label));
  }
  r.pos = end;
  return n;
}

function readAttribute(r: Reader, end: number, nodeLabel: string): OnnxAttribute {
  let where = `${nodeLabel} attribute`;
  let name = '';
  let type = 0;
  let f: number | undefined;
  let i: number | undefined;
  let s: Uint8Array | undefined;
  let t: OnnxTensor | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  let sawFloats = false;
  let sawInts = false;
  readFields(r, end, where, (field, wire) => {
    switch (field) {
      case ATTR.name:
        r.expect(field, wire, WIRE.len, where);
        name = r.string(end, where);
        where = `${nodeLabel} attribute '${name}'`;
        return true;
      case ATTR.type:
        r.expect(field, wire, WIRE.varint, where);
        type = r.int64(end, where);
        return true;
      case ATTR.f:
        r.expect(field, wire, WIRE.i32, where);
        f = r.float32(end, where);
        return true;
      case ATTR.i:
        r.expect(field, wire, WIRE.varint, where);
        i = r.int64(end, where);
        return true;
      case ATTR.s:
        r.expect(field, wire, WIRE.len, where);
        s = r.bytesField(end, where);
        return true;
      case ATTR.t:
        t = readMessage(r, field, wire, end, where, (stop) => readTensor(r, stop, where));
        return true;
      case ATTR.floats:
        sawFloats = true;
        r.repeatedFloat32(floats, wire, field, end, where);
        return true;
      case ATTR.ints:
        sawInts = true;
        r.repeatedInt64(ints, wire, field, end, where);
        return true;
      default:
        return false;
    }
  });
  // Very old files omit `type`; infer it from the one value field that is set.
  if (type === 0) {
    if (f !== undefined) type = ATTR_TYPE.float;
    else if (i !== undefined) type = ATTR_TYPE.int;
    else if (s !== undefined) type = ATTR_TYPE.string;
    else if (t !== undefined) type = ATTR_TYPE.tensor;
    else if (sawFloats) type = ATTR_TYPE.floats;
    else if (sawInts) type = ATTR_TYPE.ints;
  }
  switch (type) {
    case ATTR_TYPE.float:
      return { name, type: 'float', value: f ?? 0 };
    case ATTR_TYPE.int:
      return { name, type: 'int', value: i ?? 0 };
    case ATTR_TYPE.string:
      return { name, type: 'string', value: s ? textDecoder.decode(s) : '' };
    case ATTR_TYPE.tensor:
      if (!t) throw new GlassboxError('ONNX_DECODE', `attribute '${name}' of ${nodeLabel} has type TENSOR but no tensor`);
      return { name, type: 'tensor', value: t };
    case ATTR_TYPE.floats:
      return { name, type: 'floats', value: floats };
    case ATTR_TYPE.ints:
      return { name, type: 'ints', value: ints };
    default:
      throw new GlassboxError(
        'ONNX_DECODE',
        `attribute '${name}' of ${nodeLabel} has type ${type} (${ATTR_TYPE_NAME[type] ?? 'unknown'}), which is not supported`,
        { hint: 'glassbox reads float, int, string, tensor, floats and ints attributes' },
      );
  }
}

function readTensor(r: Reader, end: number, where: string): OnnxTensor {
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let raw: Uint8Array | undefined;
  let location = 0;
  let hasExternal = false;
  const floatData: number[] = [];
  const int32Data: number[] = [];
  const int64Data: bigint[] = [];
  const doubleData: number[] = [];
  readFields(r, end, where, (field, wire) => {
    switch (field) {
      case TENSOR.dims:
        r.repeatedInt64(dims, wire, field, end, where);
        return true;
      case TENSOR.dataType:
        r.expect(field, wire, WIRE.varint, where);
        dataType = r.int64(end, where);
        return true;
      case TENSOR.name:
        r.expect(field, wire, WIRE.len, where);
        name = r.string(end, where);
        return true;
      case TENSOR.rawData:
        r.expect(field, wire, WIRE.len, where);
        raw = r.bytesField(end, where);
        return true;
      case TENSOR.floatData:
        r.repeatedFloat32(floatData, wire, field, end, where);
        return true;
      case TENSOR.int32Data: {
        // int32_data is a plain int32 varint field: negatives are sign-extended to 10 bytes.
        const vals: number[] = [];
        r.repeatedInt64(vals, wire, field, end, where);
        for (const v of vals) int32Data.push(v | 0);
        return true;
      }
      case TENSOR.int64Data:
        r.repeatedInt64Big(int64Data, wire, field, end, where);
        return true;
      case TENSOR.doubleData:
        r.repeatedFloat64(doubleData, wire, field, end, where);
        return true;
      case TENSOR.externalData:
        hasExternal = true;
        return false;
      case TENSOR.dataLocation:
        r.expect(field, wire, WIRE.varint, where);
        location = r.int64(end, where);
        return true;
      default:
        return false;
    }
  });
  const label = name ? `tensor '${name}'` : 'tensor';
  if (location === DATA_LOCATION_EXTERNAL || hasExternal) {
    throw new GlassboxError('ONNX_DECODE', `${label} keeps its data in an external file; external data is not supported yet`, {
      where,
      hint: 'Re-save the model with all tensors inside the .onnx file (onnx.save_model(..., save_as_external_data=False))',
    });
  }
  const dtype = DTYPE_FROM_ONNX[dataType];
  if (!dtype) {
    throw new GlassboxError(
      'ONNX_DECODE',
      `${label} has element type ${dataType} (${ONNX_TYPE_NAME[dataType] ?? 'unknown'}), which glassbox does not support`,
      { where, hint: 'Supported element types: float32, float64, int64, int32, bool' },
    );
  }
  for (const [i, d] of dims.entries()) {
    if (d < 0) throw new GlassboxError('ONNX_DECODE', `${label} has negative dim ${d} at axis ${i}`, { where });
  }
  const n = sizeOf(dims);
  const data = tensorData(dtype, n, { raw, floatData, int32Data, int64Data, doubleData }, label, where);
  return { name, dtype, dims, data };
}

interface TensorFields {
  raw: Uint8Array | undefined;
  floatData: number[];
  int32Data: number[];
  int64Data: bigint[];
  doubleData: number[];
}

/** Builds the typed array for `n` elements of `dtype` from whichever data field was set. */
function tensorData(dtype: DType, n: number, f: TensorFields, label: string, where: string): AnyTypedArray {
  const count = (got: number, field: string): void => {
    if (got !== n) {
      throw new GlassboxError('ONNX_DECODE', `${label}: ${field} holds ${got} values but the dims need ${n}`, { where });
    }
  };
  if (f.raw) {
    const want = n * BYTES_PER_ELEMENT[dtype];
    if (f.raw.length !== want) {
      throw new GlassboxError(
        'ONNX_DECODE',
        `${label}: raw_data has ${f.raw.length} bytes but ${n} ${dtype} elements need ${want}`,
        { where },
      );
    }
    // slice() copies into a fresh, aligned ArrayBuffer; raw_data in the file is rarely aligned.
    const buf = f.raw.slice().buffer;
    switch (dtype) {
      case 'float32':
        return new Float32Array(buf);
      case 'float64':
        return new Float64Array(buf);
      case 'int64':
        return new BigInt64Array(buf);
      case 'int32':
        return new Int32Array(buf);
      case 'bool':
        return new Uint8Array(buf);
    }
  }
  const wrongField = (field: string, len: number): void => {
    if (len > 0) throw new GlassboxError('ONNX_DECODE', `${label} is ${dtype} but stores its values in ${field}`, { where });
  };
  switch (dtype) {
    case 'float32':
      wrongField('int32_data', f.int32Data.length);
      wrongField('int64_data', f.int64Data.length);
      wrongField('double_data', f.doubleData.length);
      count(f.floatData.length, 'float_data');
      return Float32Array.from(f.floatData);
    case 'float64':
      wrongField('float_data', f.floatData.length);
      wrongField('int32_data', f.int32Data.length);
      wrongField('int64_data', f.int64Data.length);
      count(f.doubleData.length, 'double_data');
      return Float64Array.from(f.doubleData);
    case 'int64':
      wrongField('float_data', f.floatData.length);
      wrongField('int32_data', f.int32Data.length);
      wrongField('double_data', f.doubleData.length);
      count(f.int64Data.length, 'int64_data');
      return BigInt64Array.from(f.int64Data);
    case 'int32':
    case 'bool':
      // ONNX stores int32, bool (and the small int types) in int32_data.
      wrongField('float_data', f.floatData.length);
      wrongField('int64_data', f.int64Data.length);
      wrongField('double_data', f.doubleData.length);
      count(f.int32Data.length, 'int32_data');
      return dtype === 'int32' ? Int32Array.from(f.int32Data) : Uint8Array.from(f.int32Data, (v) => (v ? 1 : 0));
  }
}

interface TensorTypeParts {
  elemType?: number;
  /** Undefined when the shape is absent (unknown rank). */
  dims?: number[];
}

function readValueInfo(r: Reader, end: number, where: string): OnnxValueInfo {
  let name = '';
  let type: TensorTypeParts | undefined;
  readFields(r, end, where, (field, wire) => {
    if (field === VALUE_INFO.name) {
      r.expect(field, wire, WIRE.len, where);
      name = r.string(end, where);
    } else if (field === VALUE_INFO.type) {
      type = readMessage(r, field, wire, end, where, (stop) => readTypeProto(r, stop, where));
    } else return false;
    return true;
  });
  const label = `value '${name}'`;
  if (!type) {
    throw new GlassboxError('ONNX_DECODE', `${label} is not a tensor (sequence, map and optional types are not supported)`, {
      where,
    });
  }
  const code = type.elemType ?? 0;
  const dtype = DTYPE_FROM_ONNX[code];
  if (!dtype) {
    throw new GlassboxError(
      'ONNX_DECODE',
      `${label} has element type ${code} (${ONNX_TYPE_NAME[code] ?? 'unknown'}), which glassbox does not support`,
      { where, hint: 'Supported element types: float32, float64, int64, int32, bool' },
    );
  }
  if (!type.dims) {
    throw new GlassboxError('ONNX_DECODE', `${label} has no shape (unknown rank is not supported)`, {
      where,
      hint: 'Run ONNX shape inference on the model before loading it',
    });
  }
  return { name, dtype, dims: type.dims };
}

/** TypeProto: only its tensor_type arm; undefined for sequence, map and optional types. */
function readTypeProto(r: Reader, end: number, where: string): TensorTypeParts | undefined {
  let out: TensorTypeParts | undefined;
  readFields(r, end, where, (field, wire) => {
    if (field !== TYPE.tensorType) return false;
    out = readMessage(r, field, wire, end, where, (stop) => readTensorType(r, stop, where));
    return true;
  });
  return out;
}

function readTensorType(r: Reader, end: number, where: string): TensorTypeParts {
  const out: TensorTypeParts = {};
  readFields(r, end, where, (field, wire) => {
    if (field === TENSOR_TYPE.elemType) {
      r.expect(field, wire, WIRE.varint, where);
      out.elemType = r.int64(end, where);
    } else if (field === TENSOR_TYPE.shape) {
      out.dims = readMessage(r, field, wire, end, where, (stop) => readShape(r, stop, where));
    } else return false;
    return true;
  });
  return out;
}

function readShape(r: Reader, end: number, where: string): number[] {
  const dims: number[] = [];
  readFields(r, end, where, (field, wire) => {
    if (field !== SHAPE.dim) return false;
    dims.push(readMessage(r, field, wire, end, where, (stop) => readDim(r, stop, where)));
    return true;
  });
  return dims;
}

/** A Dimension: its dim_value, or -1 for a dim_param (symbolic) or an unset dimension. */
function readDim(r: Reader, end: number, where: string): number {
  let d = -1;
  readFields(r, end, where, (field, wire) => {
    if (field !== DIM.value) return false; // dim_param, denotation
    r.expect(field, wire, WIRE.varint, where);
    d = r.int64(end, where);
    return true;
  });
  return d;
}
