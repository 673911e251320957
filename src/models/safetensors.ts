/**
 * Safetensors files: the weights format of the Hugging Face Hub.
 *
 * Layout (https://github.com/huggingface/safetensors#format): an 8-byte little-endian u64 N, N
 * bytes of UTF-8 JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`,
 * then the data area; offsets count from the start of the data area.
 *
 * The decision this module embodies: memory. A file is read into ONE ArrayBuffer and every
 * F32/F64/I64/I32/BOOL tensor is a view over it (a copy only when a writer left it unaligned), so
 * loading a checkpoint costs about its file size and nothing per tensor. F16/BF16 are widened to
 * float32, the only float type the engine computes in (new arrays, so they cost 2x their bytes).
 * The whole header is validated before any tensor is handed out: a bad file is a
 * GlassboxError('BAD_WEIGHTS') that names the file and the tensor, never a RangeError or garbage.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { GlassboxError } from '../errors.js';
import { dtypeOfArray, sizeOf, type DType } from '../graph/dtype.js';
import { tensor, type HostTensor } from '../runtime/tensor.js';

/** Element types a safetensors header may name. */
export type SafetensorsDType =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL'
  | 'F8_E4M3'
  | 'F8_E5M2';

/** Bytes per element of each safetensors dtype. */
const ELEMENT_BYTES: Record<SafetensorsDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

/** The glassbox dtype each loadable safetensors dtype becomes; the others are refused by name. */
const LOADS_AS: Partial<Record<SafetensorsDType, DType>> = {
  F32: 'float32',
  F16: 'float32',
  BF16: 'float32',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  BOOL: 'bool',
};

/** What glassbox writes, per dtype. */
const WRITES_AS: Record<DType, SafetensorsDType> = {
  float32: 'F32',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  bool: 'BOOL',
};

/** The safetensors reference implementation refuses headers above this size, and so do we. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** [begin, end) in the file's data area. */
  dataOffsets: [number, number];
  /**
   * The tensor as a HostTensor: a zero-copy view over the file buffer for aligned
   * F32/F64/I64/I32/BOOL, a new float32 array for F16/BF16. Each call converts afresh.
   */
  tensor(): HostTensor;
}

export interface SafetensorsFile {
  path: string;
  /** Size of the file in bytes. */
  size: number;
  metadata: Record<string, string>;
  /** Header order. With `names`, only the named tensors that the file holds. */
  tensors: Map<string, SafetensorsEntry>;
  /** The bytes that were read: the whole file, or with `names` only the selected tensors. */
  buffer: ArrayBuffer;
}

export interface ReadSafetensorsOptions {
  /**
   * Load only these tensors (reading just their bytes); names the file lacks are left out of
   * `tensors` without error, so the caller decides whether that is a problem.
   */
  names?: ReadonlySet<string>;
}

/**
 * Reads and validates a safetensors file.
 *
 * @example
 * const file = await readSafetensors('gpt2/model.safetensors');
 * const wte = file.tensors.get('transformer.wte.weight')!.tensor(); // float32[50257, 768]
 */
export async function readSafetensors(path: string, opts: ReadSafetensorsOptions = {}): Promise<SafetensorsFile> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new GlassboxError('MISSING_FILE', `safetensors file not found`, { where: path, cause: e });
    }
    throw e;
  }
  try {
    const stat = await fh.stat();
    if (!stat.isFile()) bad(path, 'not a file (a folder of weights goes to loadWeights)');
    const size = stat.size;
    return opts.names ? await readSelected(fh, path, size, opts.names) : await readWhole(fh, path, size);
  } finally {
    await fh.close();
  }
}

/** The whole file in one buffer; tensors view into it. */
async function readWhole(fh: FileHandle, path: string, size: number): Promise<SafetensorsFile> {
  const buffer = allocate(size, path);
  const bytes = new Uint8Array(buffer);
  const got = await readFully(fh, bytes, 0);
  if (got < size) bad(path, `the file shrank while being read (${got} of ${size} bytes)`);
  const headerLength = checkHeaderLength(bytes.subarray(0, Math.min(8, size)), path, size);
  const header = parseHeader(bytes.subarray(8, 8 + headerLength), path);
  const dataStart = 8 + headerLength;
  const entries = validateEntries(header.entries, path, size - dataStart);
  const tensors = new Map<string, SafetensorsEntry>();
  for (const e of entries) tensors.set(e.name, makeEntry(e, path, bytes, dataStart + e.begin));
  return { path, size, metadata: header.metadata, tensors, buffer };
}

/** Only the selected tensors' bytes, packed into one buffer at 8-byte aligned positions. */
async function readSelected(fh: FileHandle, path: string, size: number, names: ReadonlySet<string>): Promise<SafetensorsFile> {
  const prefix = new Uint8Array(Math.min(8, size));
  await readFully(fh, prefix, 0);
  const headerLength = checkHeaderLength(prefix, path, size);
  const headerBytes = new Uint8Array(headerLength);
  if ((await readFully(fh, headerBytes, 8)) < headerLength) bad(path, 'the file shrank while being read');
  const header = parseHeader(headerBytes, path);
  const dataStart = 8 + headerLength;
  const entries = validateEntries(header.entries, path, size - dataStart);

  // Every tensor starts 8-byte aligned in the packed buffer, so every view is zero-copy.
  const selected = entries.filter((e) => names.has(e.name));
  const at = new Map<string, number>();
  let total = 0;
  for (const e of selected) {
    at.set(e.name, total);
    total += Math.ceil((e.end - e.begin) / 8) * 8;
  }
  const buffer = allocate(total, path);
  const bytes = new Uint8Array(buffer);
  for (const e of selected) {
    const target = bytes.subarray(at.get(e.name)!, at.get(e.name)! + (e.end - e.begin));
    if ((await readFully(fh, target, dataStart + e.begin)) < target.length) {
      bad(path, `the file shrank while tensor '${e.name}' was being read`);
    }
  }
  const tensors = new Map<string, SafetensorsEntry>();
  for (const e of selected) tensors.set(e.name, makeEntry(e, path, bytes, at.get(e.name)!));
  return { path, size, metadata: header.metadata, tensors, buffer };
}

function allocate(size: number, path: string): ArrayBuffer {
  try {
    return new ArrayBuffer(size);
  } catch (e) {
    throw new GlassboxError('RUNTIME', `cannot allocate ${size} bytes to read the file`, {
      where: path,
      hint: 'read fewer tensors at once with the `names` option, or shard the checkpoint',
      cause: e,
    });
  }
}

/** Reads into `target` from file `position` until full or end of file; returns bytes read. */
async function readFully(fh: FileHandle, target: Uint8Array, position: number): Promise<number> {
  const CHUNK = 1 << 28;
  let off = 0;
  while (off < target.length) {
    const { bytesRead } = await fh.read(target, off, Math.min(CHUNK, target.length - off), position + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return off;
}

function checkHeaderLength(prefix: Uint8Array, path: string, size: number): number {
  if (size < 8) bad(path, `the file is ${size} bytes long, shorter than the 8-byte header length of a safetensors file`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    bad(path, `the header length field says ${n} bytes, above the ${MAX_HEADER_BYTES}-byte limit: not a safetensors file, or a corrupt one`);
  }
  if (n > BigInt(size - 8)) {
    bad(path, `the header length field says ${n} bytes but only ${size - 8} bytes follow it: the file is truncated or not safetensors`);
  }
  return Number(n);
}

interface RawHeader {
  metadata: Record<string, string>;
  entries: [string, unknown][];
}

function parseHeader(bytes: Uint8Array, path: string): RawHeader {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new GlassboxError('BAD_WEIGHTS', `the header is not valid UTF-8 JSON (${(e as Error).message})`, { where: path, cause: e });
  }
  if (!isObject(json)) bad(path, `the header must be a JSON object, got ${describeJson(json)}`);
  const metadata: Record<string, string> = {};
  const entries: [string, unknown][] = [];
  for (const [key, value] of Object.entries(json)) {
    if (key !== '__metadata__') {
      entries.push([key, value]);
      continue;
    }
    if (!isObject(value)) bad(path, `__metadata__ must be an object of strings, got ${describeJson(value)}`);
    for (const [k, v] of Object.entries(value)) {
      if (typeof v !== 'string') bad(path, `__metadata__.${k} must be a string, got ${describeJson(v)}`);
      metadata[k] = v;
    }
  }
  return { metadata, entries };
}

interface CheckedEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Checks each entry's fields, then the entries against each other and the data area: sorted by
 * begin, each must fit in the data area and not overlap the one before. Returns header order.
 */
function validateEntries(raw: [string, unknown][], path: string, dataLength: number): CheckedEntry[] {
  const entries = raw.map(([name, value]) => checkEntry(name, value, path));
  const byBegin = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let previous: CheckedEntry | undefined;
  for (const e of byBegin) {
    if (e.end > dataLength) {
      bad(
        path,
        `tensor '${e.name}' occupies bytes [${e.begin}, ${e.end}) of the data area, but the file holds only ${dataLength} data bytes: ` +
          `the file is truncated (an interrupted download?) or its header is wrong`,
      );
    }
    if (e.end === e.begin) continue; // empty tensors occupy no bytes and overlap nothing
    if (previous && previous.end > e.begin) {
      bad(
        path,
        `tensors '${previous.name}' [${previous.begin}, ${previous.end}) and '${e.name}' [${e.begin}, ${e.end}) overlap in the data area`,
      );
    }
    previous = e;
  }
  return entries;
}

function checkEntry(name: string, value: unknown, path: string): CheckedEntry {
  const where = `tensor '${name}'`;
  if (!isObject(value)) bad(path, `${where}: the header entry must be an object, got ${describeJson(value)}`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (dtype === undefined || shape === undefined || offsets === undefined) {
    const missing = ['dtype', 'shape', 'data_offsets'].filter((k) => value[k] === undefined);
    bad(path, `${where}: the header entry lacks ${missing.join(', ')}`);
  }
  if (typeof dtype !== 'string') bad(path, `${where}: dtype must be a string, got ${describeJson(dtype)}`);
  if (!Object.hasOwn(ELEMENT_BYTES, dtype)) {
    bad(path, `${where}: unknown dtype '${dtype}' (safetensors dtypes glassbox knows: ${Object.keys(ELEMENT_BYTES).join(', ')})`);
  }
  if (!Array.isArray(shape)) bad(path, `${where}: shape must be an array of integers, got ${describeJson(shape)}`);
  for (const [i, d] of shape.entries()) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      bad(path, `${where}: dim ${i} of shape ${JSON.stringify(shape)} is ${JSON.stringify(d)}; dims must be non-negative integers`);
    }
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
    bad(path, `${where}: data_offsets must be [begin, end], two non-negative integers, got ${describeJson(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) bad(path, `${where}: data_offsets [${begin}, ${end}] begin after they end`);
  const d = dtype as SafetensorsDType;
  const expected = ELEMENT_BYTES[d] * sizeOf(shape as number[]);
  if (end - begin !== expected) {
    bad(
      path,
      `${where}: ${d}[${shape.join(', ')}] needs ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
    );
  }
  return { name, dtype: d, shape: shape as number[], begin, end };
}

function makeEntry(e: CheckedEntry, path: string, store: Uint8Array, at: number): SafetensorsEntry {
  return {
    name: e.name,
    dtype: e.dtype,
    shape: e.shape,
    dataOffsets: [e.begin, e.end],
    tensor: () => materialise(e, path, store.subarray(at, at + (e.end - e.begin))),
  };
}

/** Builds the HostTensor of one entry from its bytes. */
function materialise(e: CheckedEntry, path: string, bytes: Uint8Array): HostTensor {
  const as = LOADS_AS[e.dtype];
  if (as === undefined) {
    bad(
      path,
      `tensor '${e.name}' has dtype ${e.dtype}, which glassbox cannot load ` +
        `(it loads ${Object.keys(LOADS_AS).join(', ')}); convert the checkpoint, e.g. with torch: t.float()`,
    );
  }
  if (!LITTLE_ENDIAN) {
    throw new GlassboxError('RUNTIME', 'reading safetensors needs a little-endian host', { where: path });
  }
  switch (e.dtype) {
    case 'F32':
      return tensor('float32', e.shape, view(Float32Array, bytes));
    case 'F64':
      return tensor('float64', e.shape, view(Float64Array, bytes));
    case 'I64':
      return tensor('int64', e.shape, view(BigInt64Array, bytes));
    case 'I32':
      return tensor('int32', e.shape, view(Int32Array, bytes));
    case 'BOOL':
      return tensor('bool', e.shape, bytes.some((b) => b > 1) ? bytes.map((b) => (b ? 1 : 0)) : bytes);
    case 'F16':
      return tensor('float32', e.shape, f16ToF32(view(Uint16Array, bytes)));
    case 'BF16':
      return tensor('float32', e.shape, bf16ToF32(view(Uint16Array, bytes)));
    default:
      throw new Error(`unreachable: ${e.dtype}`);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface TypedArrayCtor<T> {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** A typed view over `bytes` when aligned, else over a copy of just these bytes. */
function view<T>(Ctor: TypedArrayCtor<T>, bytes: Uint8Array): T {
  const n = bytes.byteLength / Ctor.BYTES_PER_ELEMENT;
  const buffer = bytes.buffer as ArrayBuffer;
  if (bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(buffer, bytes.byteOffset, n);
  return new Ctor(buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), 0, n);
}

/**
 * IEEE 754 binary16 → float32. Sign 1 bit, exponent 5 bits (bias 15), mantissa 10 bits:
 *   e = 0:      (-1)^s · m/1024 · 2^-14       (zero and subnormals; smallest 2^-24 ≈ 5.96e-8)
 *   0 < e < 31: (-1)^s · (1 + m/1024) · 2^(e-15)
 *   e = 31:     ±Infinity when m = 0, else NaN
 */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

let halfTable: Float32Array | undefined;

/** F16 → float32 through a 65,536-entry table (256 KB, built on first use): one load per element. */
export function f16ToF32(half: Uint16Array): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  const table = halfTable;
  const out = new Float32Array(half.length);
  for (let i = 0; i < half.length; i++) out[i] = table[half[i]!]!;
  return out;
}

/** BF16 → float32: bfloat16 is the upper 16 bits of a float32, so shift them back into place. */
export function bf16ToF32(bf: Uint16Array): Float32Array {
  const out = new Float32Array(bf.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < bf.length; i++) bits[i] = bf[i]! << 16;
  return out;
}

/**
 * Writes tensors as a safetensors file, atomically: into `${path}.tmp-<pid>-<random>`, synced,
 * then renamed over `path`, so a crash never leaves a half-written checkpoint under the real name.
 * Tensors are laid out contiguously (as the reference implementation requires), widest element
 * first and by name within a width, after a header padded with spaces to a multiple of 8 bytes:
 * every tensor is then naturally aligned and reads back zero-copy.
 *
 * @example
 * await writeSafetensors('ckpt/model.safetensors', { 'w': tensor('float32', [2], [1, 2]) }, { step: '100' });
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, HostTensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  const items = Object.entries(tensors).map(([name, t]) => {
    checkWritable(name, t, path);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const data = t.dtype === 'bool' && bytes.some((b) => b > 1) ? bytes.map((b) => (b ? 1 : 0)) : bytes;
    return { name, t, data };
  });
  items.sort((a, b) => b.t.data.BYTES_PER_ELEMENT - a.t.data.BYTES_PER_ELEMENT || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') {
      throw new GlassboxError('INVALID_ARGUMENT', `metadata '${k}' must be a string, got ${typeof v}`, { where: path });
    }
  }
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const { name, t, data } of items) {
    header[name] = { dtype: WRITES_AS[t.dtype], shape: t.dims, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const prefix = new Uint8Array(8 + headerLength).fill(0x20); // spaces pad the JSON
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerLength), true);
  prefix.set(json, 8);

  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, 'wx');
  try {
    let position = 0;
    for (const chunk of [prefix, ...items.map((i) => i.data)]) {
      await writeFully(fh, chunk, position);
      position += chunk.byteLength;
    }
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

function checkWritable(name: string, t: HostTensor, path: string): void {
  if (name === '__metadata__') {
    throw new GlassboxError('INVALID_ARGUMENT', `'__metadata__' is reserved by safetensors and cannot name a tensor`, { where: path });
  }
  if (!t || !Array.isArray(t.dims) || !Object.hasOwn(WRITES_AS, t.dtype)) {
    throw new GlassboxError('INVALID_ARGUMENT', `tensor '${name}' is not a HostTensor`, { where: path });
  }
  if (t.dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new GlassboxError('INVALID_ARGUMENT', `tensor '${name}' has dims [${t.dims.join(', ')}]; dims must be non-negative integers`, { where: path });
  }
  if (dtypeOfArray(t.data) !== t.dtype || t.data.length !== sizeOf(t.dims)) {
    throw new GlassboxError(
      'INVALID_ARGUMENT',
      `tensor '${name}' is ${t.dtype}[${t.dims.join(', ')}] but holds a ${t.data.constructor.name} of ${t.data.length} elements`,
      { where: path },
    );
  }
}

async function writeFully(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, off, bytes.byteLength - off, position + off);
    off += bytesWritten;
  }
}

function bad(path: string, message: string): never {
  throw new GlassboxError('BAD_WEIGHTS', message, { where: path });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describeJson(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array ${truncate(JSON.stringify(v))}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${truncate(JSON.stringify(v))}`;
}

function truncate(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
