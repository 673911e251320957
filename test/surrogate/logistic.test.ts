/**
 * The L1-logistic core. Reference: the KKT conditions of
 *   min (1/n) Σ log-loss + λ‖w‖₁  (intercept free),
 * checked with a gradient computed here from the definition on the dense matrix (not with the
 * solver's own code): |g_b| ≤ 1e-4; |g_j| ≤ λ + 1e-4 where w_j = 0; |g_j + λ·sign(w_j)| ≤ 1e-4
 * where w_j ≠ 0. Sparsity: more λ gives fewer non-zeros, none from λ_max on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitL1Logistic, l1LambdaMax, predictLinear, type L1LogisticModel } from '../../src/surrogate/logistic.js';
import { gaussian, uniform } from '../../src/util/random.js';

const TOL = 1e-4;

/** Dense data: half binary columns, half Gaussian; labels from a sparse logistic model with noise. */
function makeData(n: number, p: number, K: number, seed: number): { X: number[][]; y: number[] } {
  const u = uniform(seed);
  const g = gaussian(seed + 1);
  const truth = Array.from({ length: K }, (_, k) => Array.from({ length: p }, (_, j) => (j % 5 === k % 5 ? 2 * g() : 0)));
  const X = Array.from({ length: n }, () => Array.from({ length: p }, (_, j) => (j % 2 === 0 ? (u() < 0.3 ? 1 : 0) : g())));
  const y = X.map((x) => {
    const scores = truth.map((w) => w.reduce((s, wj, j) => s + wj * x[j], 0) + g());
    return K === 2 ? (scores[1] - scores[0] > 0 ? 1 : 0) : scores.indexOf(Math.max(...scores));
  });
  return { X, y };
}

/** ∇ of the mean log-loss of the one-vs-rest problem of class c, from the definition. */
function gradient(X: number[][], y: number[], c: number, w: number[], b: number): { gw: number[]; gb: number } {
  const n = X.length;
  const gw = new Array<number>(w.length).fill(0);
  let gb = 0;
  for (let i = 0; i < n; i++) {
    const z = b + X[i].reduce((s, x, j) => s + x * w[j], 0);
    const r = 1 / (1 + Math.exp(-z)) - (y[i] === c ? 1 : 0);
    gb += r / n;
    for (let j = 0; j < w.length; j++) gw[j] += (X[i][j] * r) / n;
  }
  return { gw, gb };
}

function assertKkt(X: number[][], y: number[], m: L1LogisticModel, classes: number[]): { zeros: number; nonZeros: number } {
  let zeros = 0;
  let nonZeros = 0;
  for (const c of classes) {
    const { gw, gb } = gradient(X, y, c, m.weights[c], m.intercepts[c]);
    assert.ok(Math.abs(gb) <= TOL, `class ${c}: intercept gradient ${gb}`);
    m.weights[c].forEach((wj, j) => {
      if (wj === 0) {
        zeros++;
        assert.ok(Math.abs(gw[j]) <= m.lambda + TOL, `class ${c}, w_${j} = 0: |g| = ${Math.abs(gw[j])} > λ = ${m.lambda}`);
      } else {
        nonZeros++;
        assert.ok(Math.abs(gw[j] + m.lambda * Math.sign(wj)) <= TOL, `class ${c}, w_${j} = ${wj}: g = ${gw[j]}, expected ${-m.lambda * Math.sign(wj)}`);
      }
    });
  }
  return { zeros, nonZeros };
}

describe('fitL1Logistic', () => {
  it('two classes: the optimum satisfies the KKT conditions within 1e-4, with zero and non-zero coefficients', () => {
    const { X, y } = makeData(300, 24, 2, 7);
    const m = fitL1Logistic(X, y, { lambda: 0.02, tol: 1e-8 });
    assert.ok(m.converged, `converged (KKT violation ${m.kktViolation})`);
    const { zeros, nonZeros } = assertKkt(X, y, m, [1]);
    assert.ok(zeros > 0 && nonZeros > 0, `zeros ${zeros}, non-zeros ${nonZeros}`);
    // class 0's one-vs-rest problem is class 1's with the labels flipped: the negated solution
    assertKkt(X, y, m, [0]);
    m.weights[0].forEach((w, j) => assert.equal(w, -m.weights[1][j] || 0));
  });

  it('three classes (one-vs-rest): every binary problem satisfies the KKT conditions', () => {
    const { X, y } = makeData(240, 15, 3, 11);
    const m = fitL1Logistic(X, y, { lambda: 0.01, tol: 1e-8 });
    assert.equal(m.weights.length, 3);
    assertKkt(X, y, m, [0, 1, 2]);
    const acc = predictLinear(m, X).filter((p, i) => p === y[i]).length / y.length;
    assert.ok(acc > 0.7, `training accuracy ${acc}`);
  });

  it('more λ gives fewer non-zero coefficients, and none from λ_max on', () => {
    const { X, y } = makeData(300, 30, 2, 3);
    const lmax = l1LambdaMax(X, y);
    const nz = [0.01, 0.05, 0.2, 0.5, 0.99, 1.01].map((f) => fitL1Logistic(X, y, { lambda: f * lmax, tol: 1e-8 }).nonZero);
    for (let i = 1; i < nz.length; i++) assert.ok(nz[i] <= nz[i - 1], `non-zeros ${nz.join(' ≥ ')}`);
    assert.ok(nz[0] > nz[3], `non-zeros ${nz.join(', ')}`);
    assert.equal(nz[nz.length - 1], 0);
    assert.ok(nz[nz.length - 2] >= 1, 'just below λ_max a coefficient enters');
  });

  it('a single class in the labels gives zero weights and predicts that class', () => {
    const m = fitL1Logistic([[1, 0], [0, 1], [1, 1]], [1, 1, 1], { numClasses: 2 });
    assert.deepEqual(m.weights, [[0, 0], [0, 0]]);
    assert.deepEqual(predictLinear(m, [[0, 0], [1, 1]]), [1, 1]);
  });

  it('rejects labels outside the classes and mismatched lengths', () => {
    assert.throws(() => fitL1Logistic([[1], [0]], [0, 2], { numClasses: 2 }), /label y\[1\] = 2/);
    assert.throws(() => fitL1Logistic([[1], [0]], [0]), /2 rows but y has 1/);
    assert.throws(() => fitL1Logistic([[1], [0]], [0, 1], { lambda: -1 }), /lambda/);
  });
});
