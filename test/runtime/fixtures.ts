/** Small models and an all-close check shared by the runtime tests. */
import assert from 'node:assert/strict';
import type { HostTensor } from '../../src/runtime/tensor.js';
export { model, randoms } from '../helpers/onnx.js';
import { model } from '../helpers/onnx.js';


/**
 * A tiny transformer-ish block, float32. Weights are graph inputs, as glassbox builds them:
 *   h = LayerNorm(x @ W + b, gamma, beta, axis=-1, eps=1e-5)   // [batch, d]
 *   y = Softmax(h, axis=-1)                                      // [batch, d]
 */
export const BATCH = 3;
export const D_IN = 4;
export const D = 5;
export const blockModel = model({
  inputs: [
    { name: 'x', dtype: 'float32', dims: [BATCH, D_IN] },
    { name: 'W', dtype: 'float32', dims: [D_IN, D] },
    { name: 'b', dtype: 'float32', dims: [D] },
  ],
  outputs: [
    { name: 'y', dtype: 'float32', dims: [BATCH, D] },
    { name: 'h', dtype: 'float32', dims: [BATCH, D] },
  ],
  initializers: [
    { name: 'gamma', dtype: 'float32', dims: [D], data: new Float32Array([1, 0.5, 2, -1, 1.5]) },
    { name: 'beta', dtype: 'float32', dims: [D], data: new Float32Array([0, 0.1, -0.2, 0.3, 0]) },
  ],
  nodes: [
    { name: 'mm', opType: 'MatMul', domain: '', inputs: ['x', 'W'], outputs: ['xw'], attributes: [] },
    { name: 'add', opType: 'Add', domain: '', inputs: ['xw', 'b'], outputs: ['z'], attributes: [] },
    {
      name: 'ln',
      opType: 'LayerNormalization',
      domain: '',
      inputs: ['z', 'gamma', 'beta'],
      outputs: ['h'],
      attributes: [
        { name: 'axis', type: 'int', value: -1 },
        { name: 'epsilon', type: 'float', value: 1e-5 },
      ],
    },
    { name: 'sm', opType: 'Softmax', domain: '', inputs: ['h'], outputs: ['y'], attributes: [{ name: 'axis', type: 'int', value: -1 }] },
  ],
});

/** Reference for blockModel in float64: returns [h, y] row-major. */
export function blockReference(x: ArrayLike<number>, W: ArrayLike<number>, b: ArrayLike<number>): [number[], number[]] {
  const gamma = [1, 0.5, 2, -1, 1.5];
  const beta = [0, 0.1, -0.2, 0.3, 0];
  const h: number[] = [];
  const y: number[] = [];
  for (let r = 0; r < BATCH; r++) {
    const z = Array.from({ length: D }, (_, c) => {
      let acc = b[c]!;
      for (let k = 0; k < D_IN; k++) acc += x[r * D_IN + k]! * W[k * D + c]!;
      return acc;
    });
    const mean = z.reduce((a, v) => a + v, 0) / D;
    const variance = z.reduce((a, v) => a + (v - mean) ** 2, 0) / D;
    const hr = z.map((v, c) => ((v - mean) / Math.sqrt(variance + 1e-5)) * gamma[c]! + beta[c]!);
    const m = Math.max(...hr);
    const e = hr.map((v) => Math.exp(v - m));
    const s = e.reduce((a, v) => a + v, 0);
    h.push(...hr);
    y.push(...e.map((v) => v / s));
  }
  return [h, y];
}

export function assertAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    assert.ok(Math.abs(a - e) <= tol, `${what}[${i}] = ${a}, expected ${e} (tol ${tol})`);
  }
}

export function floats(t: HostTensor | undefined): Float32Array | Float64Array {
  assert.ok(t, 'missing output');
  assert.ok(t.data instanceof Float32Array || t.data instanceof Float64Array, `expected float data, got ${t.data.constructor.name}`);
  return t.data;
}
