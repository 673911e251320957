/**
 * Perturbation attribution: what the gradient-free methods share (occlusion.ts, lime.ts,
 * shap.ts, partition.ts).
 *
 * The decision: every method is written once as a pure core over a cooperative game
 * v: coalitions of features -> R. A coalition says which features are present (kept as in the
 * input); the others are absent (replaced by the baseline). The transformer is one such game,
 * `featureGame`: an absent feature has all its tokens' embeddings replaced by the baseline's
 * through the scorer's fMix, so v(N) = f(x) and v(∅) = f(baseline). The cores take any value
 * function, which is how the tests check them on closed-form games (linear and unanimity
 * games) against known answers, and how users can explain other set functions.
 *
 * Coalitions travel as row-major [count, n] Uint8Array matrices with 1 = present (SHAP's mask
 * convention, Captum's binary interpretable representation). The scorer's `drop` is the
 * complement, per token.
 */
import { fail } from '../errors.js';
import { throwIfAborted } from '../runtime/executor.js';
import { defineMethod, type MethodContext, type RegisteredMethod } from './method.js';
import type { BaselineSpec } from './types.js';

/** v for `count` coalitions, given as [count, n] rows with 1 = present. */
export type ValueFn = (present: Uint8Array, count: number, stage?: string) => Promise<ArrayLike<number>> | ArrayLike<number>;

/** What a core returns: one value per player, v(N), v(∅), diagnostics and the settings it used. */
export interface GameResult {
  values: number[];
  fFull: number;
  fEmpty: number;
  quality: Record<string, number>;
  settings: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

/** A value function from a set function on one coalition (1 = present): for closed-form games and tests. */
export function gameFrom(n: number, fn: (present: Uint8Array) => number): ValueFn {
  return (present, count) => {
    const out = new Float64Array(count);
    for (let r = 0; r < count; r++) out[r] = fn(present.subarray(r * n, (r + 1) * n));
    return out;
  };
}

/** Evaluate v on rows and check that it answered one value per row. */
export async function evaluate(v: ValueFn, rows: Uint8Array, count: number, stage: string): Promise<Float64Array> {
  const out = await v(rows, count, stage);
  if (out.length !== count) fail('INVALID_ARGUMENT', `the value function returned ${out.length} values for ${count} coalitions`, { where: stage });
  return Float64Array.from(out);
}

/** Pack a list of rows into one [rows.length, n] matrix. */
export function packRows(rows: Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(rows.length * n);
  rows.forEach((r, i) => out.set(r, i * n));
  return out;
}

/** A Map key for a coalition row (16 players per UTF-16 code unit). */
export function coalitionKey(row: Uint8Array): string {
  let s = '';
  for (let i = 0; i < row.length; i += 16) {
    let c = 0;
    for (let j = 0; j < 16 && i + j < row.length; j++) if (row[i + j]) c |= 1 << j;
    s += String.fromCharCode(c);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Random numbers

export { uniform } from '../util/random.js';

/** A uniform random permutation of 0..n-1 (Fisher-Yates). */
export function randomPermutation(n: number, rand: () => number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** A row with k of n players present, the k drawn uniformly without replacement (partial Fisher-Yates). */
export function randomSubset(n: number, k: number, rand: () => number): Uint8Array {
  const idx = Array.from({ length: n }, (_, i) => i);
  const row = new Uint8Array(n);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (n - i));
    [idx[i], idx[j]] = [idx[j], idx[i]];
    row[idx[i]] = 1;
  }
  return row;
}

/** An index drawn from unnormalised probabilities `p`. */
export function categorical(p: ArrayLike<number>, rand: () => number): number {
  let total = 0;
  for (let i = 0; i < p.length; i++) total += p[i];
  let u = rand() * total;
  for (let i = 0; i < p.length; i++) {
    u -= p[i];
    if (u < 0) return i;
  }
  return p.length - 1;
}

// ---------------------------------------------------------------------------------------------
// Dense linear algebra for the surrogate fits (features: at most a few hundred)

/**
 * Solve A x = b for a symmetric positive semi-definite A [p, p] (row-major) by Cholesky.
 * A singular A (a feature that never varies across the samples, or fewer samples than
 * features) gets a growing diagonal jitter: the ridge limit, where a direction the samples do
 * not determine gets ~0.
 */
export function solveSpd(A: Float64Array, b: Float64Array, p: number): Float64Array {
  let scale = 0;
  for (let i = 0; i < p; i++) scale = Math.max(scale, A[i * p + i]);
  if (!(scale > 0)) return new Float64Array(p);
  for (let k = 0; k <= 12; k++) {
    const jitter = k === 0 ? 0 : scale * 10 ** (k - 14);
    const L = cholesky(A, p, jitter, scale * 1e-12);
    if (L) return choleskySolve(L, b, p);
  }
  return fail('RUNTIME', `the ${p}x${p} least-squares system could not be factored (non-finite values in the samples?)`);
}

/** Lower-triangular L with L L^T = A + jitter I, or null if a pivot falls under `tiny`. */
function cholesky(A: Float64Array, p: number, jitter: number, tiny: number): Float64Array | null {
  const L = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    let d = A[j * p + j] + jitter;
    for (let k = 0; k < j; k++) d -= L[j * p + k] ** 2;
    if (!(d > tiny)) return null;
    const ljj = Math.sqrt(d);
    L[j * p + j] = ljj;
    for (let i = j + 1; i < p; i++) {
      let s = A[i * p + j];
      for (let k = 0; k < j; k++) s -= L[i * p + k] * L[j * p + k];
      L[i * p + j] = s / ljj;
    }
  }
  return L;
}

function choleskySolve(L: Float64Array, b: Float64Array, p: number): Float64Array {
  const y = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * p + k] * y[k];
    y[i] = s / L[i * p + i];
  }
  const x = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < p; k++) s -= L[k * p + i] * x[k];
    x[i] = s / L[i * p + i];
  }
  return x;
}

/**
 * Weighted least squares: argmin_c sum_r w_r (y_r - c0 - X_r c)^2 by the normal equations,
 * X [rows, p] row-major. With an intercept the columns are centred on their weighted means
 * first (better conditioned, and the intercept is not shrunk by the jitter of `solveSpd`).
 */
export function weightedLeastSquares(
  X: Float64Array,
  y: ArrayLike<number>,
  w: ArrayLike<number>,
  rows: number,
  p: number,
  intercept: boolean,
): { coef: Float64Array; intercept: number } {
  const mx = new Float64Array(p);
  let my = 0;
  if (intercept) {
    let sw = 0;
    for (let r = 0; r < rows; r++) {
      sw += w[r];
      my += w[r] * y[r];
      for (let j = 0; j < p; j++) mx[j] += w[r] * X[r * p + j];
    }
    if (!(sw > 0)) fail('INVALID_ARGUMENT', 'weighted least squares: the sample weights sum to 0');
    my /= sw;
    for (let j = 0; j < p; j++) mx[j] /= sw;
  }
  const A = new Float64Array(p * p); // X^T W X
  const b = new Float64Array(p); // X^T W y
  const xr = new Float64Array(p);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < p; j++) xr[j] = X[r * p + j] - mx[j];
    const wr = w[r];
    const yr = wr * (y[r] - my);
    for (let i = 0; i < p; i++) {
      if (xr[i] === 0) continue;
      const wi = wr * xr[i];
      b[i] += xr[i] * yr;
      for (let j = 0; j <= i; j++) A[i * p + j] += wi * xr[j];
    }
  }
  for (let i = 0; i < p; i++) for (let j = 0; j < i; j++) A[j * p + i] = A[i * p + j];
  const coef = solveSpd(A, b, p);
  let c0 = my;
  for (let j = 0; j < p; j++) c0 -= coef[j] * mx[j];
  return { coef, intercept: intercept ? c0 : 0 };
}

/** Weighted R^2 = 1 - sum w (y - yhat)^2 / sum w (y - mean_w y)^2 (1 when y is constant and fitted). */
export function weightedR2(y: ArrayLike<number>, yhat: ArrayLike<number>, w: ArrayLike<number>): number {
  let sw = 0;
  let my = 0;
  for (let r = 0; r < y.length; r++) {
    sw += w[r];
    my += w[r] * y[r];
  }
  my /= sw;
  let res = 0;
  let tot = 0;
  for (let r = 0; r < y.length; r++) {
    res += w[r] * (y[r] - yhat[r]) ** 2;
    tot += w[r] * (y[r] - my) ** 2;
  }
  if (tot <= 1e-300) return res <= 1e-300 ? 1 : 0;
  return 1 - res / tot;
}

// ---------------------------------------------------------------------------------------------
// The transformer as a game over features

export interface FeatureGame {
  /** Number of features (players). */
  n: number;
  value: ValueFn;
  baselineSpec: BaselineSpec;
  /** Forward passes run so far: distinct coalitions other than the full one (f(x) is the scorer's). */
  evaluations(): number;
  /**
   * Captum's LIME distance (get_exp_kernel_similarity_function, distance_mode 'cosine'):
   * 1 - cos(x, x'), over the flattened embeddings of the input x and of the perturbed input x'.
   */
  cosineDistance(present: Uint8Array): number;
}

/**
 * The transformer, target and baseline of a method context as a game over ctx.features. Rows
 * are memoised (repeated coalitions, frequent in LIME and permutation sampling, run once); the
 * full coalition is the scorer's f(x) without a forward pass, so every method's v(N) is the
 * reported f(x). The AbortSignal is checked before each batch (and by the scorer between chunks).
 */
export async function featureGame(ctx: MethodContext): Promise<FeatureGame> {
  const { scorer, features, options } = ctx;
  const n = features.length;
  const seq = scorer.seq;
  const baselineSpec = options.baseline ?? 'zero';
  const baseline = await scorer.baseline(baselineSpec);
  const memo = new Map<string, number>();

  const value: ValueFn = async (present, count, stage = 'perturbations') => {
    const out = new Float64Array(count);
    const todo: Uint8Array[] = [];
    const todoKeys: string[] = [];
    const waiting = new Map<string, number[]>(); // key -> rows of `out` that wait for it
    for (let r = 0; r < count; r++) {
      const row = present.subarray(r * n, (r + 1) * n);
      if (row.every((b) => b === 1)) {
        out[r] = scorer.fx;
        continue;
      }
      const key = coalitionKey(row);
      const known = memo.get(key);
      if (known !== undefined) out[r] = known;
      else if (waiting.has(key)) waiting.get(key)!.push(r);
      else {
        waiting.set(key, [r]);
        todo.push(row);
        todoKeys.push(key);
      }
    }
    if (todo.length > 0) {
      throwIfAborted(options.signal, stage);
      const drop = new Float32Array(todo.length * seq); // [count, seq], 1 = replace by the baseline
      todo.forEach((row, i) => {
        features.forEach((f, k) => {
          if (row[k] === 0) for (const t of f.tokens) drop[i * seq + t] = 1;
        });
      });
      const fs = await scorer.fMix(drop, todo.length, baseline, stage);
      todoKeys.forEach((key, i) => {
        memo.set(key, fs[i]);
        for (const r of waiting.get(key)!) out[r] = fs[i];
      });
    }
    return out;
  };

  // Per-token dot products for the cosine distance: x.x, x.b and b.b, each [seq].
  const per = scorer.itemSize / seq;
  const x = scorer.input;
  const xx = new Float64Array(seq);
  const xb = new Float64Array(seq);
  const bb = new Float64Array(seq);
  for (let t = 0; t < seq; t++) {
    for (let j = t * per; j < (t + 1) * per; j++) {
      xx[t] += x[j] * x[j];
      xb[t] += x[j] * baseline[j];
      bb[t] += baseline[j] * baseline[j];
    }
  }
  const xNorm = Math.sqrt(xx.reduce((a, b) => a + b, 0));
  const featureOf = new Int32Array(seq).fill(-1);
  features.forEach((f, k) => f.tokens.forEach((t) => (featureOf[t] = k)));
  const cosineDistance = (present: Uint8Array): number => {
    let dot = 0;
    let pp = 0;
    for (let t = 0; t < seq; t++) {
      const kept = featureOf[t] < 0 || present[featureOf[t]] === 1;
      dot += kept ? xx[t] : xb[t];
      pp += kept ? xx[t] : bb[t];
    }
    // torch.nn.CosineSimilarity: x1.x2 / max(|x1| |x2|, eps), eps = 1e-8.
    return 1 - dot / Math.max(xNorm * Math.sqrt(pp), 1e-8);
  };
  return { n, value, baselineSpec, evaluations: () => memo.size, cosineDistance };
}

// ---------------------------------------------------------------------------------------------
// Methods

/** An integer option >= min, or the default. */
export function intOption(value: number | undefined, fallback: number, min: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) fail('BAD_INPUT', `${what} must be an integer >= ${min}, got ${value}`);
  return v;
}

/**
 * A perturbation method from a core over the feature game: scores are the core's values, and
 * the result carries f(x), f(baseline) (every feature absent), the completeness delta
 * sum(scores) - (f(x) - f(baseline)), the number of forward passes, and the settings.
 */
export function perturbationMethod(name: string, summary: string, core: (game: FeatureGame, ctx: MethodContext) => Promise<GameResult>): RegisteredMethod {
  return defineMethod({
    name,
    summary,
    gradients: false,
    at: 'embed',
    async run(ctx) {
      if (ctx.features.length === 0) fail('BAD_INPUT', `${name}: there are no features to attribute`, { hint: 'Give at least one span, or group by tokens or words' });
      const game = await featureGame(ctx);
      const r = await core(game, ctx);
      const sum = r.values.reduce((a, b) => a + b, 0);
      return {
        featureScores: r.values,
        quality: { fx: r.fFull, fBaseline: r.fEmpty, completenessDelta: sum - (r.fFull - r.fEmpty), evaluations: game.evaluations(), ...r.quality },
        settings: { baseline: game.baselineSpec, features: game.n, ...r.settings },
        extra: r.extra,
      };
    },
  });
}
