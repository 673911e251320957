/**
 * Shapley values of the feature game (Shapley 1953; for attribution Strumbelj & Kononenko 2010,
 * Lundberg & Lee 2017), three ways:
 *
 *  - shapley: exact, over all 2^n coalitions in one batch (n <= 12), as Captum's ShapleyValues
 *    (captum/attr/_core/shapley_value.py) but by subset enumeration instead of permutations:
 *      phi_i = sum_{S not containing i} |S|! (n - |S| - 1)! / n! * (v(S + i) - v(S)).
 *  - shapley-sampling: permutation sampling (Castro et al. 2009; Captum's ShapleyValueSampling):
 *    the mean over random orderings of each feature's marginal contribution when it joins the
 *    features before it; efficiency holds exactly for every sample. Default 25 permutations
 *    (Captum's n_samples); quality.standardError is the mean over features of the standard error
 *    of that mean.
 *  - kernel-shap: KernelSHAP (Lundberg & Lee 2017), the weighted linear regression whose
 *    solution under the Shapley kernel pi(z) = (n - 1) / (C(n, |z|) |z| (n - |z|)) is the
 *    Shapley value. Coalitions are chosen as SHAP's KernelExplainer does
 *    (shap/explainers/_kernel.py): subset sizes are enumerated completely, smallest and largest
 *    first, while the budget covers them; the rest is sampled from the kernel's size
 *    distribution, each sample paired with its complement, repeats adding weight. The
 *    efficiency constraint sum(phi) = v(N) - v(∅) is imposed exactly by eliminating one
 *    variable (as SHAP's `solve`; Captum instead gives the empty and full coalitions a weight of
 *    1e6). Default 200 coalitions (Captum's default is 25); with 2^n - 2 or more, every coalition
 *    is enumerated and the result is the exact Shapley value.
 */
import { fail } from '../errors.js';
import {
  categorical,
  coalitionKey,
  evaluate,
  type GameResult,
  intOption,
  packRows,
  perturbationMethod,
  randomPermutation,
  randomSubset,
  uniform,
  type ValueFn,
  weightedLeastSquares,
  weightedR2,
} from './perturbation.js';

export const EXACT_SHAPLEY_MAX_FEATURES = 12;

function binomial(n: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return Math.round(c);
}

/** Exact Shapley values over n <= 12 players from all 2^n coalitions (bit i of the row index = player i). */
export async function exactShapley(v: ValueFn, n: number): Promise<GameResult> {
  if (n > EXACT_SHAPLEY_MAX_FEATURES) {
    fail('BAD_INPUT', `exact Shapley values need all 2^n coalitions, and this input has n = ${n} features (at most ${EXACT_SHAPLEY_MAX_FEATURES}: ${2 ** EXACT_SHAPLEY_MAX_FEATURES} forward passes)`, {
      hint: 'Use --method shapley-sampling or kernel-shap, or fewer features (--group words, or spans)',
    });
  }
  const count = 2 ** n;
  const rows = new Uint8Array(count * n);
  for (let m = 0; m < count; m++) for (let i = 0; i < n; i++) rows[m * n + i] = (m >> i) & 1;
  const f = await evaluate(v, rows, count, 'shapley coalitions');
  // weight[s] = s! (n - s - 1)! / n! for a coalition of size s that i joins.
  const fact = [1];
  for (let k = 1; k <= n; k++) fact.push(fact[k - 1] * k);
  const weight = Array.from({ length: n }, (_, s) => (fact[s] * fact[n - s - 1]) / fact[n]);
  const phi = new Float64Array(n);
  for (let m = 0; m < count; m++) {
    let size = 0;
    for (let i = 0; i < n; i++) size += (m >> i) & 1;
    for (let i = 0; i < n; i++) if (!((m >> i) & 1)) phi[i] += weight[size] * (f[m | (1 << i)] - f[m]);
  }
  return { values: Array.from(phi), fFull: f[count - 1], fEmpty: f[0], quality: {}, settings: { coalitions: count } };
}

export interface SamplingOptions {
  /** Permutations (default 25). */
  samples?: number;
  seed?: number;
  /** Pair each permutation with its reverse (antithetic sampling); samples must then be even. */
  antithetic?: boolean;
}

/** Shapley values by permutation sampling; all samples * n coalitions in one batch. */
export async function shapleySampling(v: ValueFn, n: number, opts: SamplingOptions = {}): Promise<GameResult> {
  const samples = intOption(opts.samples, 25, 1, 'shapley-sampling: samples');
  const seed = opts.seed ?? 0;
  const antithetic = opts.antithetic ?? false;
  if (antithetic && samples % 2 !== 0) fail('BAD_INPUT', `shapley-sampling: antithetic sampling pairs permutations, so samples must be even, got ${samples}`);
  const rand = uniform(seed);
  const perms: number[][] = [];
  for (let s = 0; s < samples; s++) perms.push(antithetic && s % 2 === 1 ? [...perms[s - 1]].reverse() : randomPermutation(n, rand));
  // Row s*n + j: the first j + 1 features of permutation s present; the last row is the empty coalition.
  const rows = new Uint8Array((samples * n + 1) * n);
  perms.forEach((p, s) => {
    for (let j = 0; j < n; j++) for (let k = 0; k <= j; k++) rows[(s * n + j) * n + p[k]] = 1;
  });
  const f = await evaluate(v, rows, samples * n + 1, 'shapley permutations');
  const fEmpty = f[samples * n];
  const marg = new Float64Array(samples * n); // [sample, feature]
  perms.forEach((p, s) => {
    let prev = fEmpty;
    for (let j = 0; j < n; j++) {
      const cur = f[s * n + j];
      marg[s * n + p[j]] = cur - prev;
      prev = cur;
    }
  });
  // Standard error over independent units: permutations, or antithetic pairs (their mean).
  const units = antithetic ? samples / 2 : samples;
  const per = samples / units;
  const phi = new Float64Array(n);
  let seSum = 0;
  for (let i = 0; i < n; i++) {
    const u = Array.from({ length: units }, (_, k) => {
      let s = 0;
      for (let j = 0; j < per; j++) s += marg[(k * per + j) * n + i];
      return s / per;
    });
    const mean = u.reduce((a, b) => a + b, 0) / units;
    phi[i] = mean;
    if (units > 1) seSum += Math.sqrt(u.reduce((a, b) => a + (b - mean) ** 2, 0) / (units - 1) / units);
  }
  const quality: Record<string, number> = units > 1 && n > 0 ? { standardError: seSum / n } : {};
  return {
    values: Array.from(phi),
    fFull: samples > 0 && n > 0 ? f[n - 1] : fEmpty,
    fEmpty,
    quality,
    settings: { samples, seed, antithetic },
  };
}

export interface KernelShapOptions {
  /** Coalitions besides the empty and the full one (default 200; at most 2^n - 2 are used). */
  samples?: number;
  seed?: number;
}

/** KernelSHAP over n players (SHAP's coalition choice and constrained solve; see the module doc). */
export async function kernelShapFit(v: ValueFn, n: number, opts: KernelShapOptions = {}): Promise<GameResult> {
  const requested = intOption(opts.samples, 200, 1, 'kernel-shap: samples');
  const seed = opts.seed ?? 0;
  const settings = { samples: requested, seed };
  const ends = new Uint8Array(2 * n).fill(1, 0, n); // full, empty
  if (n <= 1) {
    const f = await evaluate(v, ends, 2, 'kernel-shap');
    return { values: n === 1 ? [f[0] - f[1]] : [], fFull: f[0], fEmpty: f[1], quality: {}, settings };
  }
  const M = n;
  const nsamples = M <= 30 ? Math.min(requested, 2 ** M - 2) : requested;
  const rand = uniform(seed);

  // Sizes 1..ceil((M-1)/2), each standing for itself and (if paired) its complement size M - k.
  const numSizes = Math.ceil((M - 1) / 2);
  const numPaired = Math.floor((M - 1) / 2);
  const sizeWeight = Array.from({ length: numSizes }, (_, i) => ((M - 1) / ((i + 1) * (M - i - 1))) * (i < numPaired ? 2 : 1));
  const totalWeight = sizeWeight.reduce((a, b) => a + b, 0);
  for (let i = 0; i < numSizes; i++) sizeWeight[i] /= totalWeight;

  const masks: Uint8Array[] = [];
  const weights: number[] = [];
  // 1. Enumerate whole sizes while the budget left, spread by the remaining weight, covers them.
  let full = 0;
  let left = nsamples;
  const remaining = [...sizeWeight];
  for (let k = 1; k <= numSizes; k++) {
    const paired = k <= numPaired;
    const nsubsets = binomial(M, k) * (paired ? 2 : 1);
    if (left * remaining[k - 1] / nsubsets < 1 - 1e-8) break;
    full++;
    left -= nsubsets;
    if (remaining[k - 1] < 1) {
      const r = 1 - remaining[k - 1];
      for (let j = 0; j < numSizes; j++) remaining[j] /= r;
    }
    const w = sizeWeight[k - 1] / binomial(M, k) / (paired ? 2 : 1);
    forEachSubset(M, k, (row) => {
      masks.push(row);
      weights.push(w);
      if (paired) {
        masks.push(row.map((b) => 1 - b));
        weights.push(w);
      }
    });
  }
  // 2. Sample the sizes not enumerated; repeats add weight to the first draw.
  const nFixed = masks.length;
  let samplesLeft = nsamples - nFixed;
  if (full < numSizes && samplesLeft > 0) {
    const p = sizeWeight.map((w, i) => (i < full ? 0 : i < numPaired ? w / 2 : w)); // two rows per paired draw
    const seen = new Map<string, number>();
    for (let draws = 4 * samplesLeft; samplesLeft > 0 && draws > 0; draws--) {
      const k = categorical(p, rand) + 1;
      const row = randomSubset(M, k, rand);
      const key = coalitionKey(row);
      const at = seen.get(key);
      if (at === undefined) {
        seen.set(key, masks.length);
        masks.push(row);
        weights.push(1);
        samplesLeft--;
      } else weights[at] += 1;
      if (samplesLeft > 0 && k <= numPaired) {
        const comp = row.map((b) => 1 - b);
        const ckey = coalitionKey(comp);
        const cat = seen.get(ckey);
        if (cat === undefined) {
          seen.set(ckey, masks.length);
          masks.push(comp);
          weights.push(1);
          samplesLeft--;
        } else weights[cat] += 1;
      }
    }
    // The sampled rows share the kernel weight of the sizes not enumerated.
    const weightLeft = sizeWeight.slice(full).reduce((a, b) => a + b, 0);
    const sampled = weights.slice(nFixed).reduce((a, b) => a + b, 0);
    for (let r = nFixed; r < weights.length; r++) weights[r] *= weightLeft / sampled;
  }

  const rows = masks.length;
  const f = await evaluate(v, packRows([...masks, ends.subarray(0, n), ends.subarray(n)], n), rows + 2, 'kernel-shap coalitions');
  const fFull = f[rows];
  const fEmpty = f[rows + 1];
  const delta = fFull - fEmpty;
  // Eliminate phi_{M-1} = delta - sum_{j < M-1} phi_j:
  //   v(z) - v(∅) - z_{M-1} delta = sum_{j < M-1} phi_j (z_j - z_{M-1}).
  const p = M - 1;
  const X = new Float64Array(rows * p);
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const z = masks[r];
    y[r] = f[r] - fEmpty - z[p] * delta;
    for (let j = 0; j < p; j++) X[r * p + j] = z[j] - z[p];
  }
  const { coef } = weightedLeastSquares(X, y, weights, rows, p, false);
  const phi = [...coef, delta - coef.reduce((a, b) => a + b, 0)];
  const target = new Float64Array(rows);
  const fit = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    target[r] = f[r];
    fit[r] = fEmpty + masks[r].reduce((s, b, j) => s + b * phi[j], 0);
  }
  return {
    values: phi,
    fFull,
    fEmpty,
    quality: { surrogateR2: weightedR2(target, fit, weights) },
    settings: { ...settings, coalitions: rows, enumeratedSizes: full, exact: rows === 2 ** M - 2 },
  };
}

/** Calls fn with every k-subset of n (a fresh row each), in lexicographic order. */
function forEachSubset(n: number, k: number, fn: (row: Uint8Array) => void): void {
  const idx = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    const row = new Uint8Array(n);
    for (const i of idx) row[i] = 1;
    fn(row);
    let j = k - 1;
    while (j >= 0 && idx[j] === n - k + j) j--;
    if (j < 0) return;
    idx[j]++;
    for (let t = j + 1; t < k; t++) idx[t] = idx[t - 1] + 1;
  }
}

export const shapley = perturbationMethod(
  'shapley',
  'exact Shapley values over all 2^n feature coalitions (n <= 12 features)',
  (game) => exactShapley(game.value, game.n),
);

export const shapleySamplingMethod = perturbationMethod(
  'shapley-sampling',
  'Shapley values estimated from random feature orderings (--samples 25 permutations, --seed), with their standard error',
  (game, ctx) => shapleySampling(game.value, game.n, { samples: ctx.options.samples, seed: ctx.options.seed }),
);

export const kernelShap = perturbationMethod(
  'kernel-shap',
  'KernelSHAP: Shapley-kernel weighted regression on feature coalitions, efficiency exact (--samples 200, --seed)',
  (game, ctx) => kernelShapFit(game.value, game.n, { samples: ctx.options.samples, seed: ctx.options.seed }),
);
