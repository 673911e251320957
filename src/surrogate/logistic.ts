/**
 * L1-regularised logistic regression, the linear global surrogate: sparse, so its non-zero
 * coefficients are a short list of words that (together) reproduce the model's decisions.
 *
 * For each binary problem (labels y_i ∈ {0, 1}, rows x_i) it minimises
 *
 *     F(w, b) = (1/n) Σ_i [ log(1 + e^{z_i}) − y_i z_i ] + λ ‖w‖₁,    z_i = b + x_i·w,
 *
 * the intercept b unpenalised (the scaling of glmnet: Friedman, Hastie & Tibshirani 2010,
 * "Regularization paths for generalized linear models via coordinate descent", JSS 33(1)).
 * The optimum is characterised by the KKT conditions, with g = ∇ of the mean log-loss,
 * g_j = (1/n) Σ_i x_ij (σ(z_i) − y_i):  g_b = 0;  |g_j| ≤ λ where w_j = 0;  g_j = −λ·sign(w_j)
 * where w_j ≠ 0. The solver stops when the largest violation of these is below `tol`, and
 * reports it.
 *
 * Solver: cyclic coordinate descent with one Newton step per coordinate and an Armijo line
 * search on F (CDN, Yuan, Chang, Hsieh & Lin 2010, "A comparison of optimization methods and
 * software for large-scale L1-regularized linear classification", JMLR 11, §4.1.2). The
 * one-dimensional subproblem  min_d  g d + ½ h d² + λ|w + d|,  h = (1/n) Σ x_ij² σ(1 − σ),
 * has the closed form
 *     d = −(g + λ)/h  if g + λ ≤ h w;   d = −(g − λ)/h  if g − λ ≥ h w;   d = −w otherwise,
 * and the step t ∈ {1, ½, ¼, …} is the first with  F(w + t d) − F(w) ≤ σ t (g d + λ|w + d| − λ|w|).
 * Each coordinate touches only the rows where its feature is non-zero (margins z are kept).
 *
 * Several classes: one-vs-rest, one binary problem per class, predicting the class with the
 * largest margin. With two classes one problem is solved (class 1 against class 0) and class
 * 0's coefficients are its negation, which is what the second one-vs-rest problem would give.
 *
 * Why hand-written: the npm options (ml-logistic-regression: unregularised gradient descent)
 * have no L1 penalty, and the KKT residual is what lets a test check the optimum.
 */
import { fail } from '../errors.js';
import { columns, toFeatureMatrix, type FeatureMatrix } from './features.js';

export interface L1LogisticOptions {
  /** λ, the L1 weight on the mean log-loss scale. Default 0.001. */
  lambda?: number;
  /** Number of classes; default max(y) + 1. */
  numClasses?: number;
  /** Stop when the largest KKT violation is below this. Default 1e-6. */
  tol?: number;
  /** Most passes over the coordinates per binary problem. Default 1000. */
  maxSweeps?: number;
  signal?: AbortSignal;
}

export interface L1LogisticModel {
  kind: 'l1-logistic';
  numClasses: number;
  nFeatures: number;
  lambda: number;
  /** [class][feature]: one-vs-rest coefficients (class k against the rest). */
  weights: number[][];
  /** [class] */
  intercepts: number[];
  /** Features with a non-zero coefficient for some class. */
  nonZero: number;
  /** Coordinate-descent passes, summed over the binary problems. */
  sweeps: number;
  converged: boolean;
  /** Largest KKT violation at the returned coefficients (0 at the exact optimum). */
  kktViolation: number;
}

interface BinaryFit {
  w: Float64Array;
  b: number;
  sweeps: number;
  converged: boolean;
  violation: number;
}

/** log(1 + e^z) without overflow. */
const softplus = (z: number) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

const ARMIJO = 0.01;
const MAX_HALVINGS = 40;

function checkLabels(y: ArrayLike<number>, n: number, numClasses: number): void {
  if (y.length !== n) fail('BAD_INPUT', `X has ${n} rows but y has ${y.length} labels`);
  for (let i = 0; i < n; i++) {
    const c = y[i];
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) fail('BAD_INPUT', `label y[${i}] = ${c} is not a class index in 0..${numClasses - 1}`);
  }
}

/** Largest KKT violation of (w, b) for binary labels, from the full gradient. */
function kktViolation(X: FeatureMatrix, y: Uint8Array, z: Float64Array, w: Float64Array, lambda: number): number {
  const n = y.length;
  const g = new Float64Array(X.nFeatures);
  let gb = 0;
  for (let i = 0; i < n; i++) {
    const r = sigmoid(z[i]) - y[i];
    gb += r;
    const idx = X.indices[i];
    const val = X.values?.[i];
    for (let k = 0; k < idx.length; k++) g[idx[k]] += (val ? val[k] : 1) * r;
  }
  let worst = Math.abs(gb / n);
  for (let j = 0; j < g.length; j++) {
    const gj = g[j] / n;
    const v = w[j] === 0 ? Math.max(0, Math.abs(gj) - lambda) : Math.abs(gj + lambda * Math.sign(w[j]));
    if (v > worst) worst = v;
  }
  return worst;
}

function fitBinary(X: FeatureMatrix, cols: ReturnType<typeof columns>, y: Uint8Array, lambda: number, tol: number, maxSweeps: number, signal?: AbortSignal): BinaryFit {
  const n = y.length;
  const p = X.nFeatures;
  const w = new Float64Array(p);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i];
  if (positives === 0 || positives === n) {
    // One label only: the optimum is at b = ∓∞ with w = 0; return the smoothed log-odds.
    return { w, b: Math.log((positives + 0.5) / (n - positives + 0.5)), sweeps: 0, converged: true, violation: 0 };
  }
  let b = Math.log(positives / (n - positives)); // the optimum for w = 0
  const z = new Float64Array(n).fill(b);

  // F(w + t d) − F(w) restricted to coordinate j's rows (or all rows for the intercept).
  const lossChange = (rows: Int32Array | null, vals: Float64Array | null, step: number) => {
    let s = 0;
    const m = rows ? rows.length : n;
    for (let k = 0; k < m; k++) {
      const i = rows ? rows[k] : k;
      const dz = step * (vals ? vals[k] : 1);
      s += softplus(z[i] + dz) - softplus(z[i]) - y[i] * dz;
    }
    return s / n;
  };

  let sweeps = 0;
  let violation = kktViolation(X, y, z, w, lambda);
  while (violation > tol && sweeps < maxSweeps) {
    if (signal?.aborted) fail('CANCELLED', 'surrogate fitting was cancelled');
    sweeps++;
    for (let j = 0; j < p; j++) {
      const rows = cols.rows[j];
      if (rows.length === 0) continue;
      const vals = cols.values[j];
      let g = 0;
      let h = 0;
      for (let k = 0; k < rows.length; k++) {
        const i = rows[k];
        const s = sigmoid(z[i]);
        g += vals[k] * (s - y[i]);
        h += vals[k] * vals[k] * s * (1 - s);
      }
      g /= n;
      h = Math.max(h / n, 1e-12);
      const wj = w[j];
      const d = g + lambda <= h * wj ? -(g + lambda) / h : g - lambda >= h * wj ? -(g - lambda) / h : -wj;
      if (d === 0) continue;
      const predicted = g * d + lambda * (Math.abs(wj + d) - Math.abs(wj));
      let t = 1;
      let accepted = false;
      for (let q = 0; q < MAX_HALVINGS; q++, t /= 2) {
        const change = lossChange(rows, vals, t * d) + lambda * (Math.abs(wj + t * d) - Math.abs(wj));
        if (change <= ARMIJO * t * predicted) {
          accepted = true;
          break;
        }
      }
      if (!accepted) continue;
      w[j] = wj + t * d;
      for (let k = 0; k < rows.length; k++) z[rows[k]] += t * d * vals[k];
    }
    // The intercept: an unpenalised Newton step with the same line search.
    let gb = 0;
    let hb = 0;
    for (let i = 0; i < n; i++) {
      const s = sigmoid(z[i]);
      gb += s - y[i];
      hb += s * (1 - s);
    }
    gb /= n;
    hb = Math.max(hb / n, 1e-12);
    const db = -gb / hb;
    if (db !== 0) {
      let t = 1;
      for (let q = 0; q < MAX_HALVINGS; q++, t /= 2) {
        if (lossChange(null, null, t * db) <= ARMIJO * t * gb * db) {
          b += t * db;
          for (let i = 0; i < n; i++) z[i] += t * db;
          break;
        }
      }
    }
    violation = kktViolation(X, y, z, w, lambda);
  }
  return { w, b, sweeps, converged: violation <= tol, violation };
}

/**
 * Fit an L1-regularised logistic regression (one-vs-rest) to labels `y` (class indices).
 *
 * @example
 * const m = fitL1Logistic([[1, 0], [0, 1], [1, 1]], [1, 0, 1], { lambda: 0.01 });
 * predictLinear(m, [[1, 0]]); // [1]
 */
export function fitL1Logistic(X: FeatureMatrix | number[][], y: ArrayLike<number>, opts: L1LogisticOptions = {}): L1LogisticModel {
  const M = toFeatureMatrix(X);
  const n = M.indices.length;
  if (n === 0) fail('BAD_INPUT', 'no rows to fit');
  const lambda = opts.lambda ?? 0.001;
  if (!(lambda >= 0) || !Number.isFinite(lambda)) fail('BAD_INPUT', `lambda must be a number >= 0, got ${lambda}`);
  let maxLabel = 0;
  for (let i = 0; i < y.length; i++) maxLabel = Math.max(maxLabel, y[i]);
  const numClasses = opts.numClasses ?? Math.max(2, maxLabel + 1);
  checkLabels(y, n, numClasses);
  const tol = opts.tol ?? 1e-6;
  const maxSweeps = opts.maxSweeps ?? 1000;
  const cols = columns(M);
  const binary = (c: number) => {
    const yc = new Uint8Array(n);
    for (let i = 0; i < n; i++) yc[i] = y[i] === c ? 1 : 0;
    return fitBinary(M, cols, yc, lambda, tol, maxSweeps, opts.signal);
  };
  const fits: BinaryFit[] = [];
  if (numClasses === 2) {
    const f = binary(1);
    fits.push({ ...f, w: f.w.map((v) => (v === 0 ? 0 : -v)), b: -f.b, sweeps: 0 }, f);
  } else {
    for (let c = 0; c < numClasses; c++) fits.push(binary(c));
  }
  let nonZero = 0;
  for (let j = 0; j < M.nFeatures; j++) if (fits.some((f) => f.w[j] !== 0)) nonZero++;
  return {
    kind: 'l1-logistic',
    numClasses,
    nFeatures: M.nFeatures,
    lambda,
    weights: fits.map((f) => Array.from(f.w)),
    intercepts: fits.map((f) => f.b),
    nonZero,
    sweeps: fits.reduce((s, f) => s + f.sweeps, 0),
    converged: fits.every((f) => f.converged),
    kktViolation: Math.max(...fits.map((f) => f.violation)),
  };
}

/** [row][class] margins b_k + x·w_k. */
export function linearScores(model: L1LogisticModel, X: FeatureMatrix | number[][]): number[][] {
  const M = toFeatureMatrix(X);
  if (M.nFeatures !== model.nFeatures && M.indices.length > 0) fail('BAD_INPUT', `X has ${M.nFeatures} columns, the model ${model.nFeatures}`);
  return M.indices.map((idx, i) => {
    const val = M.values?.[i];
    return model.weights.map((w, c) => {
      let s = model.intercepts[c];
      for (let k = 0; k < idx.length; k++) s += w[idx[k]] * (val ? val[k] : 1);
      return s;
    });
  });
}

/** The class with the largest margin, per row (the lowest index on ties). */
export function predictLinear(model: L1LogisticModel, X: FeatureMatrix | number[][]): number[] {
  return linearScores(model, X).map(argmax);
}

export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/**
 * The smallest λ at which every coefficient is zero: max over classes and features of
 * |g_j| at w = 0 with the intercept at its optimum, the log-odds of the class.
 */
export function l1LambdaMax(X: FeatureMatrix | number[][], y: ArrayLike<number>, numClasses?: number): number {
  const M = toFeatureMatrix(X);
  const n = M.indices.length;
  let maxLabel = 0;
  for (let i = 0; i < y.length; i++) maxLabel = Math.max(maxLabel, y[i]);
  const K = numClasses ?? Math.max(2, maxLabel + 1);
  checkLabels(y, n, K);
  let best = 0;
  for (let c = 0; c < K; c++) {
    let pos = 0;
    for (let i = 0; i < n; i++) pos += y[i] === c ? 1 : 0;
    const pbar = pos / n;
    const g = new Float64Array(M.nFeatures);
    M.indices.forEach((idx, i) => {
      const r = pbar - (y[i] === c ? 1 : 0);
      const val = M.values?.[i];
      for (let k = 0; k < idx.length; k++) g[idx[k]] += (val ? val[k] : 1) * r;
    });
    for (const v of g) best = Math.max(best, Math.abs(v) / n);
  }
  return best;
}
