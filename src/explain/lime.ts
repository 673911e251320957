/**
 * LIME (Ribeiro et al. 2016, "Why should I trust you?"), as Captum's Lime
 * (captum/attr/_core/lime.py) sets it up for a single input:
 *
 *  - interpretable representation: one binary variable per feature (1 = present, 0 = replaced
 *    by the baseline);
 *  - samples: each feature present independently with probability 1/2 (Captum's
 *    default_perturb_func, a Bernoulli(0.5) per feature);
 *  - proximity: pi(z) = exp(-d(z)^2 / (2 w^2)) with d the cosine distance between the input
 *    and the perturbed input, flattened (Captum's get_exp_kernel_similarity_function('cosine',
 *    kernel_width = 1)); for a plain game (no embeddings) the cosine distance between the
 *    all-ones vector and z, 1 - sqrt(|z| / n), stands in;
 *  - surrogate: a linear model with intercept fitted by weighted least squares.
 *    Captum's default surrogate is Lasso(alpha = 0.01); we fit plain weighted least squares
 *    (a ridge jitter only where the samples leave a direction undetermined) so that a game
 *    that is linear in the features gives back its weights exactly.
 *
 * Defaults: 200 samples (Captum: 50), seed 0, kernel width 1. The fit's weighted R^2 on its own
 * samples is reported as quality.surrogateR2.
 */
import { fail } from '../errors.js';
import { evaluate, type GameResult, intOption, perturbationMethod, uniform, type ValueFn, weightedLeastSquares, weightedR2 } from './perturbation.js';

export interface LimeOptions {
  /** Perturbed samples (default 200). */
  samples?: number;
  seed?: number;
  /** Kernel width w (default 1, as Captum). */
  kernelWidth?: number;
  /** Distance of a sample from the input (default: cosine distance in the binary representation). */
  distance?: (present: Uint8Array) => number;
}

export const LIME_DEFAULT_SAMPLES = 200;

/** Cosine distance between the all-present vector and a coalition: 1 - |z| / (sqrt(n) sqrt(|z|)). */
export function binaryCosineDistance(present: Uint8Array): number {
  let k = 0;
  for (const b of present) k += b;
  return k === 0 ? 1 : 1 - Math.sqrt(k / present.length);
}

/** LIME over n players: the coefficients of a proximity-weighted linear surrogate of v. */
export async function limeFit(v: ValueFn, n: number, opts: LimeOptions = {}): Promise<GameResult> {
  const samples = intOption(opts.samples, LIME_DEFAULT_SAMPLES, 1, 'lime: samples');
  const seed = opts.seed ?? 0;
  const width = opts.kernelWidth ?? 1;
  if (!(width > 0 && Number.isFinite(width))) fail('BAD_INPUT', `lime: kernelWidth must be a positive number, got ${opts.kernelWidth}`);
  const distance = opts.distance ?? binaryCosineDistance;
  const rand = uniform(seed);
  // Rows 0..samples-1: the samples; then the full and the empty coalition (for f(x), f(baseline)).
  const rows = new Uint8Array((samples + 2) * n);
  for (let j = 0; j < samples * n; j++) rows[j] = rand() < 0.5 ? 1 : 0;
  rows.fill(1, samples * n, (samples + 1) * n);
  const f = await evaluate(v, rows, samples + 2, 'lime samples');
  const y = f.subarray(0, samples);
  const w = new Float64Array(samples);
  const X = new Float64Array(samples * n);
  for (let r = 0; r < samples; r++) {
    const z = rows.subarray(r * n, (r + 1) * n);
    w[r] = Math.exp(-(distance(z) ** 2) / (2 * width * width));
    for (let j = 0; j < n; j++) X[r * n + j] = z[j];
  }
  const { coef, intercept } = weightedLeastSquares(X, y, w, samples, n, true);
  const yhat = new Float64Array(samples);
  for (let r = 0; r < samples; r++) {
    let s = intercept;
    for (let j = 0; j < n; j++) s += coef[j] * X[r * n + j];
    yhat[r] = s;
  }
  return {
    values: Array.from(coef),
    fFull: f[samples],
    fEmpty: f[samples + 1],
    quality: { surrogateR2: weightedR2(y, yhat, w), surrogateIntercept: intercept },
    settings: { samples, seed, kernelWidth: width, sampling: 'bernoulli(0.5) per feature', surrogate: 'weighted least squares with intercept' },
  };
}

export const lime = perturbationMethod(
  'lime',
  'weighted linear surrogate on random feature subsets (--samples 200, --seed, --kernel-width 1: exponential kernel on the cosine distance)',
  (game, ctx) =>
    limeFit(game.value, game.n, {
      samples: ctx.options.samples,
      seed: ctx.options.seed,
      kernelWidth: ctx.options.kernelWidth,
      distance: game.cosineDistance,
    }).then((r) => ({ ...r, settings: { ...r.settings, distance: 'cosine over the embeddings (Captum)' } })),
);
