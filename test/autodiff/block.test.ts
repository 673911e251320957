/**
 * End to end: the gradient of a loss through a full pre-norm transformer block (causal
 * attention, GELU MLP, two LayerNorms) with respect to its input and every weight,
 * against central finite differences in float64 (tolerances as in helpers/gradcheck.ts).
 */
import { describe, it } from 'node:test';
import type { Value } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { causalMask, preNormBlock } from '../../src/nn/layers.js';
import { checkGrad } from '../helpers/gradcheck.js';

const B = 2, S = 3, D = 4, H = 2, M = 8;

describe('transformer block gradient', () => {
  it('d loss / d (input, all weights) matches finite differences in float64', async () => {
    const names = ['x', 'ln1.w', 'ln1.b', 'wq', 'bq', 'wk', 'bk', 'wv', 'bv', 'wo', 'bo', 'ln2.w', 'ln2.b', 'wIn', 'bIn', 'wOut', 'bOut'];
    const shapes: number[][] = [[B, S, D], [D], [D], [D, D], [D], [D, D], [D], [D, D], [D], [D, D], [D], [D], [D], [D, M], [M], [M, D], [D]];
    await checkGrad(
      (...xs: Value[]) => {
        const w = Object.fromEntries(names.map((n, i) => [n, xs[i]]));
        const g = xs[0].graph;
        const out = preNormBlock(
          w.x,
          {
            ln1: { scale: w['ln1.w'], bias: w['ln1.b'] },
            attn: { wq: w.wq, bq: w.bq, wk: w.wk, bk: w.bk, wv: w.wv, bv: w.bv, wo: w.wo, bo: w.bo },
            ln2: { scale: w['ln2.w'], bias: w['ln2.b'] },
            // tanh-GELU: ONNX Runtime has no float64 Erf; the erf form is checked in rules.test.ts.
            mlp: { wIn: w.wIn, bIn: w.bIn, wOut: w.wOut, bOut: w.bOut },
          },
          { layer: 0, nHeads: H, mask: causalMask(g, S), act: 'gelu_new', eps: 1e-5 },
        );
        // A cross-entropy-like scalar on top, so the loss is not linear in the block output.
        return op.logSoftmax(out, -1);
      },
      shapes,
      { atol: 1e-6, rtol: 1e-5 },
    );
  });
});
