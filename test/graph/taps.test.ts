/**
 * Taps: capture, replace, mix (batched patch configurations) and differentiate at a tap.
 * References: the same model evaluated in plain JavaScript (float64, closed form), and
 * finite differences for the gradient at an intermediate value.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { grad } from '../../src/autodiff/vjp.js';
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { captureTap, mixTap, replaceTap } from '../../src/graph/taps.js';
import { compile, runProgram } from '../../src/engine/program.js';
import { defaultExecutor } from '../../src/runtime/index.js';
import { tensor } from '../../src/runtime/tensor.js';

/** y = sum(tanh(x * w) * 2) with a tap 'h' on tanh(x * w). x: [B, 3], w: [3]. */
function build(batch: number) {
  const g = new Graph('taps');
  const x = g.input('x', 'float64', [batch, 3]);
  const w = g.weight('w', 'float64', [3]);
  const h = g.tap('h', op.tanh(op.mul(x, w)));
  const y = op.reduceSum(op.mul(h, 2), 1);
  g.output('y', y);
  return { g, x, w, h, y };
}

const W = [0.5, -1.5, 2];
const X = [0.1, 0.2, 0.3, -0.4, 0.5, -0.6];
const ref = (xs: number[], patch?: (j: number, v: number) => number) =>
  [0, 1].map((b) => [0, 1, 2].reduce((s, j) => s + 2 * (patch ? patch(b * 3 + j, Math.tanh(xs[b * 3 + j] * W[j])) : Math.tanh(xs[b * 3 + j] * W[j])), 0));
const close = (a: ArrayLike<number>, b: number[], tol = 1e-12) => b.forEach((v, i) => assert.ok(Math.abs(a[i] - v) <= tol, `[${i}] ${a[i]} vs ${v}`));

describe('taps', () => {
  const feeds = { x: tensor('float64', [2, 3], X), w: tensor('float64', [3], W) };

  it('capture adds the tapped value as an output', async () => {
    const { g } = build(2);
    captureTap(g, 'h');
    const out = await runProgram(defaultExecutor(), compile(g), feeds);
    close(out.h.data as Float64Array, X.map((x, i) => Math.tanh(x * W[i % 3])));
    close(out.y.data as Float64Array, ref(X));
  });

  it('replace feeds the tap from a run-time input', async () => {
    const { g } = build(2);
    replaceTap(g, 'h');
    const patch = [1, 2, 3, 4, 5, 6];
    const out = await runProgram(defaultExecutor(), compile(g), { ...feeds, 'replace:h': tensor('float64', [2, 3], patch) });
    close(out.y.data as Float64Array, [12, 30]);
  });

  it('mix runs many patch configurations in one batch: x(1-m) + p m', async () => {
    // One example, broadcast to a batch of 4 configurations, each with its own mask row.
    const g = new Graph('mix');
    const x = g.input('x', 'float64', [1, 3]);
    const w = g.weight('w', 'float64', [3]);
    const h = g.tap('h', op.expand(op.tanh(op.mul(x, w)), [4, 3]));
    g.output('y', op.reduceSum(op.mul(h, 2), 1));
    const { patch, mask } = mixTap(g, 'h', { patchShape: [1, 3], maskShape: [4, 3] });
    assert.deepEqual(patch.shape, [1, 3]);
    const p = [10, 20, 30];
    const m = [0, 0, 0, 1, 1, 1, 1, 0, 0, 0.5, 0, 0.25];
    const out = await runProgram(defaultExecutor(), compile(g), {
      x: tensor('float64', [1, 3], X.slice(0, 3)),
      w: feeds.w,
      'mix:h:patch': tensor('float64', [1, 3], p),
      'mix:h:mask': tensor('float64', [4, 3], m),
    });
    const hv = [0, 1, 2].map((j) => Math.tanh(X[j] * W[j]));
    const expected = [0, 1, 2, 3].map((r) => [0, 1, 2].reduce((s, j) => s + 2 * (hv[j] * (1 - m[r * 3 + j]) + p[j] * m[r * 3 + j]), 0));
    close(out.y.data as Float64Array, expected);
  });

  it('differentiates with respect to a tap (an intermediate value)', async () => {
    const { g, y } = build(2);
    const [dh] = grad(op.reduceSum(op.mul(y, y)), [g.getTap('h')]);
    g.output('dh', dh);
    const out = await runProgram(defaultExecutor(), compile(g), feeds);
    // L = sum_b y_b^2 with y_b = 2 sum_j h_bj  =>  dL/dh_bj = 4 y_b (closed form).
    const yv = ref(X);
    close(out.dh.data as Float64Array, [0, 1, 2, 3, 4, 5].map((i) => 4 * yv[Math.floor(i / 3)]));
  });

  it('gives total derivatives when differentiating at a tap and upstream of it at once', async () => {
    const { g, x, y } = build(2);
    const loss = op.reduceSum(op.mul(y, y));
    const [dx, dh] = grad(loss, [x, g.getTap('h')]);
    g.output('dx', dx);
    g.output('dh', dh);
    const out = await runProgram(defaultExecutor(), compile(g), feeds);
    // dL/dx_bj = 4 y_b * (1 - tanh^2(x_bj w_j)) * w_j (closed form; the path runs through h).
    const yv = ref(X);
    close(out.dx.data as Float64Array, X.map((xv, i) => 4 * yv[Math.floor(i / 3)] * (1 - Math.tanh(xv * W[i % 3]) ** 2) * W[i % 3]));
    close(out.dh.data as Float64Array, [0, 1, 2, 3, 4, 5].map((i) => 4 * yv[Math.floor(i / 3)]));
  });

  it('names an unknown tap and lists the known ones', () => {
    const { g } = build(1);
    assert.throws(() => captureTap(g, 'nope'), (e: Error & { code?: string }) => e.code === 'UNKNOWN_TAP' && /nope/.test(e.message) && /Known taps: h/.test(e.message));
  });

  it('rejects a mask that does not broadcast to the tap', () => {
    const { g } = build(2);
    assert.throws(() => mixTap(g, 'h', { maskShape: [3, 3] }), /mask shape \[3,3\] must broadcast|do not broadcast/);
  });
});
