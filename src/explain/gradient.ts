/**
 * Gradient attribution methods, as Captum defines them (captum/attr/_core/): every method
 * differentiates the target score f with respect to the value at the attribution point
 * (the word-embedding output, or a hook with `at`), so with `at` these are the layer
 * variants: input x gradient at a hook is gradient x activation (the Grad-CAM idea), and
 * integrated gradients at a hook is layer integrated gradients.
 *
 *  - saliency (Simonyan et al. 2013): |df/dx| (or the signed gradient).
 *  - input-x-gradient (Shrikumar et al. 2016): x * df/dx.
 *  - integrated-gradients (Sundararajan et al. 2017): (x - b) * sum_k w_k df/dx(b + a_k (x - b)),
 *    with the completeness delta sum(attributions) - (f(x) - f(b)) always reported.
 *  - smoothgrad / vargrad (Smilkov et al. 2017; Adebayo et al. 2018): the mean / variance of a
 *    gradient method's attributions over Gaussian-perturbed inputs (Captum's NoiseTunnel).
 */
import { fail } from '../errors.js';
import { defineMethod, type MethodContext, type MethodOutput, sumPerToken, toRows } from './method.js';
import { integrationPoints, type IntegrationRule } from './quadrature.js';
import { gaussian } from '../util/random.js';

export { gaussian };

type Core = (ctx: MethodContext, x: Float32Array) => Promise<{ values: Float64Array; quality: Record<string, number>; settings: Record<string, unknown> }>;

const saliencyCore: Core = async (ctx, x) => {
  const abs = ctx.options.absolute ?? true;
  const { grad } = await ctx.scorer.fGrad(x, 1);
  return { values: Float64Array.from(grad, (g) => (abs ? Math.abs(g) : g)), quality: {}, settings: { absolute: abs } };
};

const inputXGradientCore: Core = async (ctx, x) => {
  const { grad } = await ctx.scorer.fGrad(x, 1);
  return { values: Float64Array.from(grad, (g, i) => g * x[i]), quality: {}, settings: {} };
};

const integratedGradientsCore: Core = async (ctx, x) => {
  const { scorer, options } = ctx;
  const steps = options.steps ?? 50;
  if (!Number.isInteger(steps) || steps < 1) fail('BAD_INPUT', `steps must be an integer >= 1, got ${options.steps}`);
  const rule = (options.integration ?? 'gauss-legendre') as IntegrationRule;
  const { alphas, steps: weights } = integrationPoints(rule, steps);
  const baselineSpec = options.baseline ?? 'zero';
  const b = await scorer.baseline(baselineSpec);
  const m = scorer.itemSize;
  const xs = new Float32Array(steps * m);
  for (let k = 0; k < steps; k++) for (let i = 0; i < m; i++) xs[k * m + i] = b[i] + alphas[k] * (x[i] - b[i]);
  const { grad } = await scorer.fGrad(xs, steps, 'integrated gradients');
  const total = new Float64Array(m);
  for (let k = 0; k < steps; k++) for (let i = 0; i < m; i++) total[i] += weights[k] * grad[k * m + i];
  const values = total.map((g, i) => g * (x[i] - b[i]));
  const [fx, fb] = await scorer.f(concat(x, b), 2, 'f(x), f(baseline)');
  const sum = values.reduce((s, v) => s + v, 0);
  return {
    values,
    quality: { fx, fBaseline: fb, completenessDelta: sum - (fx - fb) },
    settings: { steps, integration: rule, baseline: baselineSpec },
  };
};

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** SmoothGrad / VarGrad over a base method: attributions at x + N(0, sigma^2), sigma = noise * (max(x) - min(x)). */
function noiseTunnel(kind: 'smoothgrad' | 'vargrad', base: Core): Core {
  return async (ctx, x) => {
    const samples = ctx.options.samples ?? 20;
    if (!Number.isInteger(samples) || samples < 2) fail('BAD_INPUT', `${kind} needs samples >= 2, got ${ctx.options.samples}`);
    const level = ctx.options.noise ?? 0.15;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of x) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    const sigma = level * (hi - lo);
    const rand = gaussian(ctx.options.seed ?? 0);
    const sum = new Float64Array(x.length);
    const sumSq = new Float64Array(x.length);
    let settings: Record<string, unknown> = {};
    for (let s = 0; s < samples; s++) {
      const noisy = Float32Array.from(x, (v) => v + sigma * rand());
      const r = await base(ctx, noisy);
      settings = r.settings;
      for (let i = 0; i < x.length; i++) {
        sum[i] += r.values[i];
        sumSq[i] += r.values[i] * r.values[i];
      }
      ctx.options.onProgress?.({ done: s + 1, total: samples, stage: kind });
    }
    const mean = sum.map((v) => v / samples);
    const variance = sumSq.map((v, i) => v / samples - mean[i] * mean[i]);
    // Per-token standard error of the SmoothGrad mean: sqrt(var_token / samples).
    const tokVar = sumPerToken(variance.map((v) => Math.max(v, 0)), ctx.scorer.seq);
    const standardError = tokVar.reduce((s, v) => s + Math.sqrt(v / samples), 0) / tokVar.length;
    return {
      values: kind === 'smoothgrad' ? mean : variance,
      quality: { standardError },
      settings: { ...settings, samples, noise: level, sigma, seed: ctx.options.seed ?? 0 },
    };
  };
}

function gradientMethod(name: string, summary: string, core: Core) {
  return defineMethod({
    name,
    summary,
    gradients: true,
    at: 'any',
    async run(ctx): Promise<MethodOutput> {
      const r = await core(ctx, ctx.scorer.input);
      return { tokenScores: sumPerToken(r.values, ctx.scorer.seq), full: toRows(r.values, ctx.scorer.seq), quality: r.quality, settings: r.settings };
    },
  });
}

export const saliency = gradientMethod('saliency', 'absolute (or signed) gradient of the target with respect to the input embeddings', saliencyCore);
export const inputXGradient = gradientMethod('input-x-gradient', 'input times gradient; at a hook (--at): gradient x activation', inputXGradientCore);
export const integratedGradients = gradientMethod(
  'integrated-gradients',
  'path integral of gradients from a baseline (Gauss-Legendre or Riemann rules), with the completeness delta; at a hook: layer integrated gradients',
  integratedGradientsCore,
);

const BASES: Record<string, Core> = { saliency: saliencyCore, 'input-x-gradient': inputXGradientCore, 'integrated-gradients': integratedGradientsCore };

export function noiseMethod(kind: 'smoothgrad' | 'vargrad') {
  return defineMethod({
    name: kind,
    summary: `${kind === 'smoothgrad' ? 'mean' : 'variance'} of a gradient method's attributions over noisy inputs (--base saliency|input-x-gradient|integrated-gradients, --samples, --noise, --seed)`,
    gradients: true,
    at: 'any',
    async run(ctx): Promise<MethodOutput> {
      const baseName = ctx.options.base ?? 'saliency';
      const base = BASES[baseName];
      if (!base) fail('BAD_INPUT', `${kind} cannot wrap '${baseName}'`, { hint: `Base methods: ${Object.keys(BASES).join(', ')}` });
      const r = await noiseTunnel(kind, base)(ctx, ctx.scorer.input);
      return { tokenScores: sumPerToken(r.values, ctx.scorer.seq), full: toRows(r.values, ctx.scorer.seq), quality: r.quality, settings: { ...r.settings, base: baseName } };
    },
  });
}

export const smoothgrad = noiseMethod('smoothgrad');
export const vargrad = noiseMethod('vargrad');
