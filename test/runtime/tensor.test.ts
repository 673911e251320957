/** tensor(): the checked HostTensor constructor. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GlassboxError } from '../../src/errors.js';
import { describeType, numel, tensor } from '../../src/runtime/tensor.js';

test('keeps the typed array it is given', () => {
  const data = new Float32Array(6);
  const t = tensor('float32', [2, 3], data);
  assert.equal(t.data, data);
  assert.equal(numel(t), 6);
});

test('converts plain numbers per dtype', () => {
  assert.deepEqual(tensor('int64', [2], [1, -2]).data, new BigInt64Array([1n, -2n]));
  assert.deepEqual(tensor('bool', [3], [2, 0, 1]).data, new Uint8Array([1, 0, 1]));
  assert.deepEqual(tensor('float64', [], [0.5]).data, new Float64Array([0.5]));
});

test('a length mismatch names the dims and both counts', () => {
  assert.throws(
    () => tensor('float32', [2, 3], new Float32Array(5)),
    (e: unknown) => e instanceof GlassboxError && e.code === 'SHAPE_MISMATCH' && /\[2, 3\] need 6 elements but the data holds 5/.test(e.message),
  );
});

test('a wrong array type names both', () => {
  assert.throws(
    () => tensor('int64', [2], new Int32Array(2) as unknown as BigInt64Array),
    (e: unknown) => e instanceof GlassboxError && e.code === 'DTYPE_MISMATCH' && /BigInt64Array, got Int32Array/.test(e.message),
  );
});

test('bad dims are refused', () => {
  assert.throws(() => tensor('float32', [-1], []), /dims must be non-negative integers/);
  assert.throws(() => tensor('float32', [1.5], []), /dims must be non-negative integers/);
});

test('describeType prints unknown dims as ?', () => {
  assert.equal(describeType('float32', [-1, 4]), 'float32[?, 4]');
});
