/**
 * Finite-difference checks of gradient rules, in one call per case:
 *
 *   await checkGrad((x, w) => op.matmul(x, w), [[2, 3, 4], [4, 5]]);
 *
 * The loss is L = sum(f(inputs) * c) with a fixed random cotangent c, so every output
 * element's rule is exercised with a distinct weight. The analytic vjp (one session run)
 * is compared element by element with central differences (L(x+h e) - L(x-h e)) / 2h, all
 * in float64 unless the case says otherwise. Tolerance: |analytic - numeric| <= atol + rtol
 * * |numeric|; with h = 1e-6 in float64 the truncation error is O(h^2) ~ 1e-12 and the
 * rounding error O(eps/h) ~ 1e-10, so atol 1e-6 leaves a wide margin without hiding bugs.
 */
import assert from 'node:assert/strict';
import { grad, vjp } from '../../src/autodiff/vjp.js';
import { type DType, allocate } from '../../src/graph/dtype.js';
import { Graph, type Value } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { compile, runProgram } from '../../src/engine/program.js';
import { defaultExecutor } from '../../src/runtime/index.js';
import type { HostTensor } from '../../src/runtime/tensor.js';
import { uniform } from '../../src/util/random.js';

export type InputSpec =
  | readonly number[]
  | {
      shape: readonly number[];
      dtype?: DType;
      /** How to draw values: normal (default), positive (in [0.5, 2]), unit (in (-0.9, 0.9)), or fixed data. */
      init?: 'normal' | 'positive' | 'unit' | number[];
      /** Do not differentiate with respect to this input (indices, masks). */
      constant?: boolean;
    };

export interface GradCheckOptions {
  dtype?: DType;
  atol?: number;
  rtol?: number;
  h?: number;
  seed?: number;
}

export function randn(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

function fill(spec: { shape: readonly number[]; dtype: DType; init: NonNullable<Exclude<InputSpec, readonly number[]>['init']> }, rand: () => number): HostTensor {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const data = allocate(spec.dtype, n);
  for (let i = 0; i < n; i++) {
    let x: number;
    if (Array.isArray(spec.init)) x = spec.init[i];
    else if (spec.init === 'positive') x = 0.5 + 1.5 * rand();
    else if (spec.init === 'unit') x = 1.8 * rand() - 0.9;
    else x = randn(rand);
    if (data instanceof BigInt64Array) data[i] = BigInt(x);
    else data[i] = x;
  }
  return { dtype: spec.dtype, dims: [...spec.shape], data };
}

export async function checkGrad(
  f: (...xs: Value[]) => Value | Value[],
  specs: InputSpec[],
  opts: GradCheckOptions = {},
): Promise<void> {
  const dtype = opts.dtype ?? 'float64';
  const h = opts.h ?? (dtype === 'float64' ? 1e-6 : 1e-2);
  const atol = opts.atol ?? (dtype === 'float64' ? 1e-6 : 2e-2);
  const rtol = opts.rtol ?? (dtype === 'float64' ? 1e-5 : 2e-2);
  const rand = uniform(opts.seed ?? 1234); // seeded, so failures reproduce
  const full = specs.map((s) =>
    'shape' in s ? { shape: s.shape, dtype: s.dtype ?? dtype, init: s.init ?? 'normal', constant: s.constant ?? false } : { shape: s, dtype, init: 'normal' as const, constant: false },
  );

  const g = new Graph('gradcheck');
  const xs = full.map((s, i) => g.input(`x${i}`, s.dtype, s.shape));
  const raw = f(...xs);
  const outs = Array.isArray(raw) ? raw : [raw];
  // L = sum_k sum(out_k * c_k): one cotangent input per output.
  const cots = outs.map((o, k) => g.input(`c${k}`, o.dtype, o.shape));
  let loss: Value | null = null;
  for (let k = 0; k < outs.length; k++) {
    const term = op.reduceSum(op.mul(outs[k], cots[k]));
    loss = loss ? op.add(loss, term) : term;
  }
  g.output('loss', loss!);
  outs.forEach((o, k) => g.output(`out${k}`, o));
  const wrt = xs.filter((_, i) => !full[i].constant);
  const grads = vjp(outs, cots, wrt);
  grads.forEach((d, i) => g.output(`d_${wrt[i].name}`, d));

  const program = compile(g);
  const exec = defaultExecutor();
  const feeds: Record<string, HostTensor> = {};
  full.forEach((s, i) => (feeds[`x${i}`] = fill(s, rand)));
  outs.forEach((o, k) => (feeds[`c${k}`] = fill({ shape: o.shape, dtype: o.dtype, init: 'normal' }, rand)));
  const result = await runProgram(exec, program, feeds);
  // Shape inference agrees with what ONNX Runtime computed.
  outs.forEach((o, k) => assert.deepEqual(result[`out${k}`].dims, [...o.shape], `inferred shape of output ${k}`));
  grads.forEach((d, i) => assert.deepEqual(result[`d_${wrt[i].name}`].dims, [...wrt[i].shape], `shape of d_${wrt[i].name}`));

  // A forward-only program for the finite differences.
  const gf = new Graph('gradcheck-forward');
  const xf = full.map((s, i) => gf.input(`x${i}`, s.dtype, s.shape));
  const rawF = f(...xf);
  const outsF = Array.isArray(rawF) ? rawF : [rawF];
  let lossF: Value | null = null;
  outsF.forEach((o, k) => {
    const term = op.reduceSum(op.mul(o, gf.input(`c${k}`, o.dtype, o.shape)));
    lossF = lossF ? op.add(lossF, term) : term;
  });
  gf.output('loss', lossF!);
  const fwd = compile(gf);
  const lossAt = async (): Promise<number> => Number((await runProgram(exec, fwd, feeds)).loss.data[0]);

  for (const w of wrt) {
    const analytic = result[`d_${w.name}`].data as Float64Array | Float32Array;
    const x = feeds[w.name].data as Float64Array | Float32Array;
    for (let j = 0; j < x.length; j++) {
      const keep = x[j];
      x[j] = keep + h;
      const up = await lossAt();
      x[j] = keep - h;
      const down = await lossAt();
      x[j] = keep;
      const numeric = (up - down) / (2 * h);
      const diff = Math.abs(analytic[j] - numeric);
      assert.ok(
        diff <= atol + rtol * Math.abs(numeric),
        `d loss / d ${w.name}[${j}]: analytic ${analytic[j]} vs finite difference ${numeric} (|diff| ${diff.toExponential(2)} > ${atol} + ${rtol}*|fd|)`,
      );
    }
  }
}

export { grad };
