/** planChunks / sliceBatch / concatBatch: properties over a sweep of sizes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GlassboxError } from '../../src/errors.js';
import { concatBatch, planChunks, sliceBatch } from '../../src/runtime/chunk.js';
import { tensor } from '../../src/runtime/tensor.js';

test('planChunks: sums to total; every chunk in [1, limit]; all but the last full', () => {
  for (let total = 0; total <= 40; total++) {
    for (const bytesPerItem of [1, 3, 8, 100]) {
      for (const budget of [0, 1, 7, 64, 1000]) {
        for (const maxChunk of [undefined, 1, 5]) {
          const chunks = planChunks(total, bytesPerItem, budget, maxChunk);
          const limit = Math.min(Math.max(1, Math.floor(budget / bytesPerItem)), maxChunk ?? Infinity);
          const what = `planChunks(${total}, ${bytesPerItem}, ${budget}, ${maxChunk}) = [${chunks}]`;
          assert.equal(chunks.reduce((a, c) => a + c, 0), total, what);
          assert.ok(chunks.every((c) => c >= 1 && c <= limit), what);
          assert.ok(chunks.slice(0, -1).every((c) => c === limit), what);
        }
      }
    }
  }
  assert.deepEqual(planChunks(10, 100, 400), [4, 4, 2]);
  assert.deepEqual(planChunks(3, 1000, 10), [1, 1, 1]); // budget below one item: still progress
});

test('planChunks rejects nonsense arguments', () => {
  const bad = (f: () => unknown) => assert.throws(f, (e: unknown) => e instanceof GlassboxError && e.code === 'INVALID_ARGUMENT');
  bad(() => planChunks(-1, 1, 1));
  bad(() => planChunks(1.5, 1, 1));
  bad(() => planChunks(1, 0, 1));
  bad(() => planChunks(1, 1, 1, 0));
});

test('sliceBatch is a view along axis 0; concatBatch of the slices restores the tensor', () => {
  const t = tensor('float32', [5, 2, 3], Float32Array.from({ length: 30 }, (_, i) => i)); // [batch, pos, d]
  const plan = planChunks(5, 6 * 4, 2 * 6 * 4); // 2 items per chunk
  let start = 0;
  const parts = plan.map((n) => {
    const s = sliceBatch(t, start, n);
    start += n;
    return s;
  });
  assert.deepEqual(parts.map((p) => p.dims), [[2, 2, 3], [2, 2, 3], [1, 2, 3]]);
  for (const p of parts) assert.equal(p.data.buffer, t.data.buffer, 'slice shares the buffer');
  assert.equal(parts[1]!.data[0], 12);
  parts[2]!.data[0] = -1; // writes through to the source
  assert.equal(t.data[24], -1);
  const back = concatBatch(parts);
  assert.deepEqual(back, t);
  assert.notEqual(back.data, t.data);
});

test('concatBatch works for int64 and bool, and returns a single part as is', () => {
  const a = tensor('int64', [1, 2], new BigInt64Array([1n, -2n]));
  const b = tensor('int64', [2, 2], new BigInt64Array([3n, 4n, 5n, 6n]));
  assert.deepEqual(concatBatch([a, b]), tensor('int64', [3, 2], new BigInt64Array([1n, -2n, 3n, 4n, 5n, 6n])));
  const p = tensor('bool', [2], [1, 0]);
  assert.equal(concatBatch([p]), p);
  assert.deepEqual(concatBatch([p, p]).data, new Uint8Array([1, 0, 1, 0]));
});

test('mismatched parts and out-of-range slices name the problem', () => {
  const a = tensor('float32', [1, 3], [1, 2, 3]);
  assert.throws(() => concatBatch([a, tensor('float32', [1, 4], [1, 2, 3, 4])]), /part 1 is float32\[1, 4\] but part 0 is float32\[1, 3\]/);
  assert.throws(() => concatBatch([a, tensor('float64', [1, 3], [1, 2, 3])]), /part 1 is float64/);
  assert.throws(() => concatBatch([]), /at least one/);
  assert.throws(() => sliceBatch(a, 1, 1), /outside the batch of 1/);
  assert.throws(() => sliceBatch(tensor('float32', [], [1]), 0, 1), /scalar/);
});
