/** Hand-built ONNX test models: defaults for the model fields, and deterministic data. */
import type { OnnxModel } from '../../src/onnx/model.js';

export function model(partial: Partial<OnnxModel>): OnnxModel {
  return {
    irVersion: 8,
    opsetVersion: 18,
    producerName: 'glassbox-test',
    graphName: 'g',
    inputs: [],
    outputs: [],
    nodes: [],
    initializers: [],
    ...partial,
  };
}

/** Deterministic pseudo-random floats in [-1, 1) (a linear congruential generator). */
export function randoms(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
