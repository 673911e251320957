/**
 * The loss graphs: values against hand-computed references (float64, 1e-12) and gradients
 * against finite differences with the shared gradcheck helper (float64, h = 1e-6, atol 1e-6).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile, runProgram } from '../../src/engine/program.js';
import { Graph } from '../../src/graph/graph.js';
import { defaultExecutor } from '../../src/runtime/index.js';
import { tensor } from '../../src/runtime/tensor.js';
import { crossEntropy, distillationLoss } from '../../src/train/loss.js';
import { checkGrad } from '../helpers/gradcheck.js';

const logSoftmax = (z: number[]) => {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
  return z.map((v) => v - lse);
};

async function evaluate(build: (g: Graph) => ReturnType<typeof crossEntropy>, feeds: Record<string, number[]>, shapes: Record<string, number[]>): Promise<number> {
  const g = new Graph('loss');
  for (const [k, s] of Object.entries(shapes)) g.input(k, 'float64', s);
  g.output('loss', build(g));
  const out = await runProgram(defaultExecutor(), compile(g), Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, tensor('float64', shapes[k]!, v)])));
  return Number(out.loss.data[0]);
}

const Z = [[1.5, -0.5, 0.2], [0.1, 0.3, -2]];
const T = [[0, 1, 0], [0.1, 0.8, 0.1]];
const W = [0.5, 0.25];
const ZT = [[0.3, 2, -1], [1, 1, 1]];
const shapes = { z: [2, 3], t: [2, 3], w: [2] };
const input = (g: Graph, n: string) => g.inputs.find((v) => v.name === n)!;

test('crossEntropy = sum_b w_b * -sum_c t_bc log softmax(z_b)_c', async () => {
  const expected = Z.reduce((s, z, b) => s + W[b]! * -logSoftmax(z).reduce((a, lp, c) => a + T[b]![c]! * lp, 0), 0);
  const got = await evaluate((g) => crossEntropy(input(g, 'z'), input(g, 't'), input(g, 'w')), { z: Z.flat(), t: T.flat(), w: W }, shapes);
  assert.ok(Math.abs(got - expected) < 1e-12, `${got} vs ${expected}`);
});

test('distillationLoss = T^2 * sum_b w_b KL(softmax(teacher/T) || softmax(student/T))', async () => {
  const temp = 2;
  const expected = Z.reduce((s, z, b) => {
    const lq = logSoftmax(z.map((v) => v / temp));
    const lp = logSoftmax(ZT[b]!.map((v) => v / temp));
    return s + W[b]! * lp.reduce((a, l, c) => a + Math.exp(l) * (l - lq[c]!), 0);
  }, 0) * temp * temp;
  const got = await evaluate((g) => distillationLoss(input(g, 'z'), input(g, 't'), input(g, 'w'), temp), { z: Z.flat(), t: ZT.flat(), w: W }, shapes);
  assert.ok(Math.abs(got - expected) < 1e-12, `${got} vs ${expected}`);
  // Zero when the student matches the teacher.
  const same = await evaluate((g) => distillationLoss(input(g, 'z'), input(g, 't'), input(g, 'w'), temp), { z: ZT.flat(), t: ZT.flat(), w: W }, shapes);
  assert.ok(Math.abs(same) < 1e-12);
});

test('gradients of both losses match finite differences', async () => {
  const targets = { shape: [2, 3], init: T.flat(), constant: true };
  const weights = { shape: [2], init: W, constant: true };
  await checkGrad((z, t, w) => crossEntropy(z!, t!, w!), [[2, 3], targets, weights]);
  await checkGrad((z, t, w) => distillationLoss(z!, t!, w!, 3), [[2, 3], [2, 3], weights]);
});
