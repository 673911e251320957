/**
 * Safetensors reader and writer: round trips, F16/BF16 widening against known bit patterns
 * (exact: every binary16/bfloat16 value is a float32), zero-copy views, every validation error,
 * and the tiny-gpt2 fixture written by the Python safetensors library.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GlassboxError } from '../../src/errors.js';
import { bf16ToF32, f16ToF32, readSafetensors, writeSafetensors } from '../../src/models/safetensors.js';
import { tensor, type HostTensor } from '../../src/runtime/tensor.js';

const dir = mkdtempSync(join(tmpdir(), 'glassbox-safetensors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function tmpPath(): string {
  return join(dir, `t${counter++}.safetensors`);
}

/**
 * Raw safetensors bytes from a header (object, or a string taken verbatim) and a data area.
 * `headerLength` overrides the length field; `pad` adds spaces to the header.
 */
function buildSafetensors(
  header: unknown,
  data: Uint8Array = new Uint8Array(0),
  opts: { headerLength?: bigint; pad?: number } = {},
): Uint8Array {
  const text = (typeof header === 'string' ? header : JSON.stringify(header)) + ' '.repeat(opts.pad ?? 0);
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, opts.headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Spaces to add to `header`'s JSON so that the data area starts at a file offset ≡ rem (mod m). */
function padFor(header: unknown, m: number, rem: number): number {
  const start = 8 + new TextEncoder().encode(JSON.stringify(header)).length;
  return (((rem - start) % m) + m) % m;
}

function writeRaw(bytes: Uint8Array): string {
  const p = tmpPath();
  writeFileSync(p, bytes);
  return p;
}

function u16Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Uint16Array(values).buffer);
}

/** Asserts a BAD_WEIGHTS error whose message names the file and matches `pattern`. */
async function rejectsBad(p: string, pattern: RegExp, code = 'BAD_WEIGHTS'): Promise<void> {
  await assert.rejects(readSafetensors(p), (e: unknown) => {
    assert.ok(e instanceof GlassboxError, `not a GlassboxError: ${String(e)}`);
    assert.equal(e.code, code);
    assert.ok(e.message.includes(p), `message does not name the file: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('round trip of every writable dtype, with metadata', async () => {
  const tensors: Record<string, HostTensor> = {
    f32: tensor('float32', [2, 3], [1, -2, 3.5, 0, -0, 1e-30]),
    f64: tensor('float64', [3], [Math.PI, -1e300, 5e-324]),
    i64: tensor('int64', [2], new BigInt64Array([-(2n ** 63n), 2n ** 62n + 7n])),
    i32: tensor('int32', [2, 2], [-1, 2 ** 31 - 1, -(2 ** 31), 0]),
    bool: tensor('bool', [5], [1, 0, 0, 1, 1]),
    scalar: tensor('float32', [], [42]),
    empty: tensor('float32', [0, 4], []),
  };
  const p = tmpPath();
  await writeSafetensors(p, tensors, { format: 'pt', step: '7' });
  const file = await readSafetensors(p);
  assert.deepEqual(file.metadata, { format: 'pt', step: '7' });
  assert.deepEqual(new Set(file.tensors.keys()), new Set(Object.keys(tensors)));
  const expectDType = { f32: 'F32', f64: 'F64', i64: 'I64', i32: 'I32', bool: 'BOOL', scalar: 'F32', empty: 'F32' };
  for (const [name, t] of Object.entries(tensors)) {
    const entry = file.tensors.get(name)!;
    assert.equal(entry.dtype, expectDType[name as keyof typeof expectDType]);
    const back = entry.tensor();
    assert.equal(back.dtype, t.dtype, name);
    assert.deepEqual(back.dims, t.dims, name);
    assert.deepEqual(back.data, t.data, name);
  }
  // -0 survives (deepEqual treats -0 and 0 alike).
  assert.ok(Object.is(file.tensors.get('f32')!.tensor().data[4], -0));
  // Nothing left behind but the file itself.
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
});

test('the writer pads the header to 8 bytes and lays tensors out contiguously, widest first', async () => {
  const p = tmpPath();
  await writeSafetensors(p, {
    b: tensor('bool', [3], [1, 0, 1]),
    a: tensor('float32', [1], [1]),
    c: tensor('int64', [1], [5]),
  });
  const bytes = new Uint8Array(readFileSync(p));
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assert.deepEqual(header.c.data_offsets, [0, 8]);
  assert.deepEqual(header.a.data_offsets, [8, 12]);
  assert.deepEqual(header.b.data_offsets, [12, 15]);
  assert.equal(bytes.length, 8 + n + 15);
  assert.equal(header.__metadata__, undefined);
});

test('the writer refuses inconsistent tensors and the reserved name', async () => {
  const p = tmpPath();
  await assert.rejects(
    writeSafetensors(p, { w: { dtype: 'float32', dims: [2, 2], data: new Float32Array(3) } }),
    (e: unknown) => e instanceof GlassboxError && e.code === 'INVALID_ARGUMENT' && /'w'.*float32\[2, 2\].*3 elements/.test(e.message),
  );
  await assert.rejects(writeSafetensors(p, { __metadata__: tensor('float32', [1], [1]) }), /reserved/);
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
});

test('the writer replaces an existing file', async () => {
  const p = tmpPath();
  await writeSafetensors(p, { a: tensor('float32', [1], [1]) });
  await writeSafetensors(p, { b: tensor('float32', [2], [2, 3]) });
  const file = await readSafetensors(p);
  assert.deepEqual([...file.tensors.keys()], ['b']);
});

test('aligned F32 tensors are zero-copy views over the one file buffer', async () => {
  const p = tmpPath();
  await writeSafetensors(p, { a: tensor('float32', [4], [1, 2, 3, 4]), b: tensor('float32', [2], [5, 6]) });
  const file = await readSafetensors(p);
  const a = file.tensors.get('a')!.tensor();
  const b = file.tensors.get('b')!.tensor();
  assert.equal(a.data.buffer, file.buffer);
  assert.equal(b.data.buffer, file.buffer);
  assert.equal(file.buffer.byteLength, file.size);
});

test('an unaligned F32 tensor is copied, alone, and still correct', async () => {
  // Header of odd length: the data area starts unaligned.
  const data = new Uint8Array(new Float32Array([1.5, -2.5]).buffer);
  const header = { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const file = await readSafetensors(writeRaw(buildSafetensors(header, data, { pad: padFor(header, 4, 1) })));
  const x = file.tensors.get('x')!.tensor();
  assert.notEqual(x.data.buffer, file.buffer);
  assert.deepEqual(x.data, new Float32Array([1.5, -2.5]));
});

test('F16 widens exactly: normals, max, subnormals, zeros, infinities, NaN', async () => {
  const cases: [number, number][] = [
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0001, 5.960464477539063e-8], // smallest subnormal, 2^-24
    [0x03ff, 6.097555160522461e-5], // largest subnormal
    [0x0400, 6.103515625e-5], // smallest normal, 2^-14
    [0x3555, 0.333251953125],
    [0x0000, 0],
    [0x8000, -0],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x7e00, NaN],
  ];
  const header = { h: { dtype: 'F16', shape: [cases.length], data_offsets: [0, cases.length * 2] } };
  const file = await readSafetensors(writeRaw(buildSafetensors(header, u16Bytes(cases.map(([h]) => h))).slice()));
  const t = file.tensors.get('h')!.tensor();
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(t.dims, [cases.length]);
  for (const [i, [h, v]] of cases.entries()) assert.ok(Object.is(t.data[i], v), `0x${h.toString(16)}: ${t.data[i]} != ${v}`);
});

test('F16 table agrees with Float32 rounding of every finite half', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const out = f16ToF32(all);
  for (let h = 0; h < 65536; h++) {
    const e = (h >> 10) & 0x1f;
    if (e === 31) continue;
    const m = h & 0x3ff;
    const v = (h & 0x8000 ? -1 : 1) * (e === 0 ? m * 2 ** -24 : (1024 + m) * 2 ** (e - 25));
    if (!Object.is(out[h], v)) assert.fail(`0x${h.toString(16)}: ${out[h]} != ${v}`);
  }
});

test('BF16 widens to the float32 with those upper 16 bits', async () => {
  const header = { b: { dtype: 'BF16', shape: [2, 2], data_offsets: [0, 8] } };
  const file = await readSafetensors(writeRaw(buildSafetensors(header, u16Bytes([0x3f80, 0xc040, 0x7f80, 0x0001]))));
  const t = file.tensors.get('b')!.tensor();
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(t.dims, [2, 2]);
  assert.deepEqual(Array.from(t.data as Float32Array), [1, -3, Infinity, 2 ** -133]);
  assert.ok(Number.isNaN(bf16ToF32(new Uint16Array([0xffc1]))[0]));
});

test('F16/BF16 at an odd offset are read correctly', async () => {
  // BOOL [1] first puts the F16 at data offset 1, an odd file offset since the data area is 8-aligned.
  const data = new Uint8Array([1, ...u16Bytes([0x3c00, 0xc000]), 0, 0, ...u16Bytes([0xc040])]);
  const header = {
    flag: { dtype: 'BOOL', shape: [1], data_offsets: [0, 1] },
    h: { dtype: 'F16', shape: [2], data_offsets: [1, 5] },
    pad: { dtype: 'U8', shape: [2], data_offsets: [5, 7] },
    bf: { dtype: 'BF16', shape: [1], data_offsets: [7, 9] },
  };
  const file = await readSafetensors(writeRaw(buildSafetensors(header, data, { pad: padFor(header, 8, 0) })));
  assert.deepEqual(file.tensors.get('h')!.tensor().data, new Float32Array([1, -2]));
  assert.deepEqual(file.tensors.get('bf')!.tensor().data, new Float32Array([-3]));
  assert.deepEqual(file.tensors.get('flag')!.tensor().data, new Uint8Array([1]));
});

test('the names option reads only the named tensors, each aligned', async () => {
  const p = tmpPath();
  await writeSafetensors(p, {
    a: tensor('float32', [3], [1, 2, 3]),
    b: tensor('int64', [1], [9]),
    c: tensor('bool', [3], [1, 1, 0]),
  });
  const file = await readSafetensors(p, { names: new Set(['a', 'c', 'zzz']) });
  assert.deepEqual([...file.tensors.keys()].sort(), ['a', 'c']);
  assert.equal(file.buffer.byteLength, 16 + 8);
  const a = file.tensors.get('a')!.tensor();
  assert.equal(a.data.buffer, file.buffer);
  assert.deepEqual(a.data, new Float32Array([1, 2, 3]));
  assert.deepEqual(file.tensors.get('c')!.tensor().data, new Uint8Array([1, 1, 0]));
});

test('BOOL bytes other than 0/1 are normalized', async () => {
  const header = { m: { dtype: 'BOOL', shape: [3], data_offsets: [0, 3] } };
  const file = await readSafetensors(writeRaw(buildSafetensors(header, new Uint8Array([0, 7, 1]))));
  assert.deepEqual(file.tensors.get('m')!.tensor().data, new Uint8Array([0, 1, 1]));
});

test('known dtypes glassbox cannot hold are refused by name when materialised', async () => {
  const header = {
    u: { dtype: 'U8', shape: [2], data_offsets: [0, 2] },
    f: { dtype: 'F8_E4M3', shape: [2], data_offsets: [2, 4] },
  };
  const p = writeRaw(buildSafetensors(header, new Uint8Array(4)));
  const file = await readSafetensors(p);
  assert.equal(file.tensors.get('u')!.dtype, 'U8');
  for (const [name, dtype] of [['u', 'U8'], ['f', 'F8_E4M3']]) {
    assert.throws(
      () => file.tensors.get(name!)!.tensor(),
      (e: unknown) =>
        e instanceof GlassboxError && e.code === 'BAD_WEIGHTS' && e.message.includes(`'${name}'`) && e.message.includes(dtype!) && e.message.includes(p),
    );
  }
});

test('the tiny-gpt2 fixture (written by Python safetensors) reads', async () => {
  const path = '/work/shared/fixtures/hf-reference/tiny-gpt2/model.safetensors';
  const file = await readSafetensors(path);
  assert.equal(file.tensors.size, 28);
  assert.deepEqual(file.metadata, { format: 'pt' });
  for (const entry of file.tensors.values()) assert.equal(entry.dtype, 'F32');
  const shapes: Record<string, number[]> = {
    'transformer.wte.weight': [64, 32],
    'transformer.wpe.weight': [32, 32],
    'transformer.h.0.attn.c_attn.weight': [32, 96],
    'transformer.h.1.mlp.c_proj.weight': [128, 32],
    'transformer.ln_f.bias': [32],
  };
  for (const [name, shape] of Object.entries(shapes)) {
    const t = file.tensors.get(name)!.tensor();
    assert.deepEqual(t.dims, shape, name);
    assert.equal(t.data.buffer, file.buffer, `${name} is a view`);
    assert.ok((t.data as Float32Array).every(Number.isFinite), name);
  }
});

// ---- validation: each error is BAD_WEIGHTS, names the file and, where relevant, the tensor ----

const ok = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };

test('a missing file is MISSING_FILE naming the path', async () => {
  await rejectsBad(join(dir, 'nope.safetensors'), /not found/, 'MISSING_FILE');
});

test('a folder is not a file', async () => {
  await rejectsBad(dir, /not a file/);
});

test('a file shorter than 8 bytes', async () => {
  await rejectsBad(writeRaw(new Uint8Array(5)), /5 bytes long/);
  await rejectsBad(writeRaw(new Uint8Array(0)), /0 bytes long/);
});

test('a header length beyond the file', async () => {
  await rejectsBad(writeRaw(buildSafetensors(ok, new Uint8Array(8), { headerLength: 10_000n })), /10000 bytes but only \d+ bytes follow/);
});

test('a header length above the 100 MB limit', async () => {
  await rejectsBad(writeRaw(buildSafetensors(ok, new Uint8Array(8), { headerLength: 2n ** 62n })), /above the 100000000-byte limit/);
  await rejectsBad(writeRaw(buildSafetensors(ok, new Uint8Array(8), { headerLength: 100_000_001n })), /limit/);
});

test('a header that is not JSON, not UTF-8, or not an object', async () => {
  await rejectsBad(writeRaw(buildSafetensors('{"w": {"dtype": ')), /not valid UTF-8 JSON/);
  const invalidUtf8 = buildSafetensors('{"a":"xx"}');
  invalidUtf8[8 + 7] = 0xff;
  await rejectsBad(writeRaw(invalidUtf8), /not valid UTF-8 JSON/);
  await rejectsBad(writeRaw(buildSafetensors([1, 2])), /must be a JSON object, got an array/);
  await rejectsBad(writeRaw(buildSafetensors('null')), /must be a JSON object, got null/);
  await rejectsBad(writeRaw(buildSafetensors({ __metadata__: { step: 3 } })), /__metadata__\.step must be a string/);
});

/** One case per malformed entry: header, data length, and what the message must say. */
const entryCases: [string, unknown, number, RegExp][] = [
  ['entry not an object', { w: [1] }, 0, /'w': the header entry must be an object/],
  ['missing dtype', { w: { shape: [2], data_offsets: [0, 8] } }, 8, /'w': the header entry lacks dtype/],
  ['missing shape and offsets', { w: { dtype: 'F32' } }, 8, /'w': the header entry lacks shape, data_offsets/],
  ['dtype not a string', { w: { dtype: 4, shape: [2], data_offsets: [0, 8] } }, 8, /'w': dtype must be a string/],
  ['unknown dtype', { w: { dtype: 'F17', shape: [2], data_offsets: [0, 8] } }, 8, /'w': unknown dtype 'F17'/],
  ['shape not an array', { w: { dtype: 'F32', shape: 2, data_offsets: [0, 8] } }, 8, /'w': shape must be an array/],
  ['negative dim', { w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, 8, /'w': dim 0 of shape \[-2\] is -2/],
  ['fractional dim', { w: { dtype: 'F32', shape: [1, 1.5], data_offsets: [0, 8] } }, 8, /'w': dim 1 of shape \[1,1.5\] is 1.5/],
  ['string dim', { w: { dtype: 'F32', shape: ['2'], data_offsets: [0, 8] } }, 8, /'w': dim 0 .* is "2"/],
  ['offsets not a pair', { w: { dtype: 'F32', shape: [2], data_offsets: [0] } }, 8, /'w': data_offsets must be \[begin, end\]/],
  ['negative offset', { w: { dtype: 'F32', shape: [0], data_offsets: [-4, -4] } }, 8, /'w': data_offsets must be/],
  ['fractional offset', { w: { dtype: 'F32', shape: [2], data_offsets: [0.5, 8.5] } }, 9, /'w': data_offsets must be/],
  ['begin after end', { w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, 8, /'w': data_offsets \[8, 0\] begin after they end/],
  ['byte length mismatch', { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8, /'w': F32\[3\] needs 12 bytes but data_offsets \[0, 8\] span 8/],
  ['offsets beyond the data', { w: { dtype: 'F32', shape: [2], data_offsets: [100, 108] } }, 8, /'w' occupies bytes \[100, 108\).*only 8 data bytes/],
  [
    'overlapping tensors',
    { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
    12,
    /'a' \[0, 8\) and 'b' \[4, 12\) overlap/,
  ],
];

for (const [label, header, dataLength, pattern] of entryCases) {
  test(`header entry: ${label}`, async () => {
    await rejectsBad(writeRaw(buildSafetensors(header, new Uint8Array(dataLength))), pattern);
  });
}

test('a truncated file names the first tensor (by offset) that does not fit', async () => {
  const p = tmpPath();
  await writeSafetensors(p, {
    a: tensor('float32', [4], new Float32Array(4)),
    b: tensor('float32', [4], new Float32Array(4)),
    c: tensor('float32', [4], new Float32Array(4)),
  });
  const full = readFileSync(p);
  writeFileSync(p, full.subarray(0, full.length - 20)); // cuts into b (bytes 16..32) and drops c
  await rejectsBad(p, /tensor 'b' occupies bytes \[16, 32\) of the data area, but the file holds only 28 data bytes: the file is truncated/);
  // The names option validates the whole header too.
  await assert.rejects(readSafetensors(p, { names: new Set(['a']) }), /'b' occupies/);
});

test('empty tensors may share an offset', async () => {
  const header = {
    e1: { dtype: 'F32', shape: [0], data_offsets: [0, 0] },
    e2: { dtype: 'I64', shape: [3, 0], data_offsets: [0, 0] },
    w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
  };
  const file = await readSafetensors(writeRaw(buildSafetensors(header, new Uint8Array(8))));
  assert.deepEqual(file.tensors.get('e2')!.tensor().dims, [3, 0]);
});
