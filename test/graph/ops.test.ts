/**
 * Shape inference and its errors. (Forward values and gradients of every op are checked
 * in autodiff/rules.test.ts, which also compares inferred shapes with ONNX Runtime's.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';

const err = (code: string, ...parts: RegExp[]) => (e: Error & { code?: string }) => {
  assert.equal(e.code, code, e.message);
  for (const p of parts) assert.match(e.message, p);
  return true;
};

describe('shape inference', () => {
  const g = new Graph('t');
  const x = g.input('x', 'float32', [2, 3, 4]);

  it('broadcasts like numpy', () => {
    assert.deepEqual(op.add(x, g.input('b', 'float32', [3, 1])).shape, [2, 3, 4]);
    assert.deepEqual(op.mul(g.input('c', 'float32', [5, 1, 1, 4]), x).shape, [5, 2, 3, 4]);
  });

  it('names the op, the node scope and both shapes on a broadcast mismatch', () => {
    const y = g.input('y', 'float32', [5]);
    assert.throws(() => g.scope('blocks.0.attn', () => op.add(x, y)), err('SHAPE_MISMATCH', /Add/, /\[2, 3, 4\]/, /\[5\]/, /blocks\.0\.attn/));
  });

  it('names the inner dimensions on a matmul mismatch', () => {
    assert.throws(() => op.matmul(x, g.input('w', 'float32', [5, 6])), err('SHAPE_MISMATCH', /MatMul/, /4 vs 5/));
    assert.deepEqual(op.matmul(x, g.input('w2', 'float32', [4, 6])).shape, [2, 3, 6]);
  });

  it('rejects mixed dtypes', () => {
    assert.throws(() => op.add(x, g.input('d', 'float64', [4])), err('DTYPE_MISMATCH', /Add/, /float32/, /float64/));
  });

  it('infers reshape with -1 and 0, and rejects an impossible reshape', () => {
    assert.deepEqual(op.reshape(x, [0, -1]).shape, [2, 12]);
    assert.throws(() => op.reshape(x, [5, -1]), err('SHAPE_MISMATCH', /Reshape/));
  });

  it('infers gather, slice, split, concat, transpose, reductions', () => {
    const ids = g.input('ids', 'int64', [7, 5]);
    const table = g.input('table', 'float32', [10, 8]);
    assert.deepEqual(op.gather(table, ids).shape, [7, 5, 8]);
    assert.deepEqual(op.slice(x, [1, -3], [100, -1], [1, 2]).shape, [2, 2, 2]);
    assert.deepEqual(op.slice(x, [3], [0], [2], [-1]).shape, [2, 3, 3]);
    assert.deepEqual(op.split(x, -1, [1, 3]).map((v) => v.shape), [[2, 3, 1], [2, 3, 3]]);
    assert.deepEqual(op.concat([x, x], 1).shape, [2, 6, 4]);
    assert.deepEqual(op.transpose(x, [2, 0, 1]).shape, [4, 2, 3]);
    assert.deepEqual(op.reduceSum(x, [0, 2]).shape, [3]);
    assert.deepEqual(op.reduceMean(x, -1, true).shape, [2, 3, 1]);
    assert.deepEqual(op.unsqueeze(x, [0, 4]).shape, [1, 2, 3, 4, 1]);
  });

  it('rejects a split that does not add up and a bad axis', () => {
    assert.throws(() => op.split(x, 2, [1, 2]), err('SHAPE_MISMATCH', /Split/, /do not add up to 4/));
    assert.throws(() => op.softmax(x, 3), err('INVALID_ARGUMENT', /axis 3 is out of range/));
  });

  it('rejects values from another graph', () => {
    const other = new Graph('other').input('z', 'float32', [4]);
    assert.throws(() => op.add(x, other), err('INVALID_ARGUMENT', /another graph/));
  });
});
