/**
 * Integration rules for integrated gradients, as Captum defines them
 * (captum/attr/_utils/approximation_methods.py): points `alphas` in [0, 1] and weights
 * `steps` with sum_k steps[k] g(alphas[k]) ~ integral_0^1 g.
 *
 *  - gauss-legendre: the n-point Gauss-Legendre nodes x_k on [-1, 1] mapped to (1 + x_k)/2,
 *    weights w_k / 2. Exact for polynomials of degree 2n - 1.
 *  - riemann-left / right / middle: step 1/n at k/n, (k+1)/n, (k+1/2)/n.
 *  - riemann-trapezoid: alphas linspace(0, 1, n), steps 1/n with the first and last halved
 *    (Captum's rule; they sum to (n-1)/n, not 1 — kept to match Captum's numbers).
 */
import { fail } from '../errors.js';

export type IntegrationRule = 'gauss-legendre' | 'riemann-left' | 'riemann-right' | 'riemann-middle' | 'riemann-trapezoid';
export const INTEGRATION_RULES: IntegrationRule[] = ['gauss-legendre', 'riemann-left', 'riemann-right', 'riemann-middle', 'riemann-trapezoid'];

/**
 * Gauss-Legendre nodes and weights on [-1, 1], ascending: Newton's method on the Legendre
 * polynomial P_n from the Tricomi initial guesses, P_n and P_n' by the three-term recurrence
 * (Numerical Recipes' gauleg). Weights w = 2 / ((1 - x^2) P_n'(x)^2).
 */
export function gaussLegendre(n: number): { nodes: number[]; weights: number[] } {
  const nodes = new Array<number>(n);
  const weights = new Array<number>(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) [p0, p1] = [p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k];
      const pn = n === 1 ? x : p1;
      const pn1 = n === 1 ? 1 : p0;
      dp = (n * (x * pn - pn1)) / (x * x - 1);
      const dx = pn / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    // recompute the derivative at the converged root
    let p0 = 1;
    let p1 = x;
    for (let k = 2; k <= n; k++) [p0, p1] = [p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k];
    dp = n === 1 ? 1 : (n * (x * p1 - p0)) / (x * x - 1);
    const w = 2 / ((1 - x * x) * dp * dp);
    nodes[i] = -x;
    nodes[n - 1 - i] = x;
    weights[i] = w;
    weights[n - 1 - i] = w;
  }
  return { nodes, weights };
}

export function integrationPoints(rule: IntegrationRule, n: number): { alphas: number[]; steps: number[] } {
  if (!Number.isInteger(n) || n < 1) fail('BAD_INPUT', `steps must be a positive integer, got ${n}`);
  switch (rule) {
    case 'gauss-legendre': {
      const { nodes, weights } = gaussLegendre(n);
      return { alphas: nodes.map((x) => (1 + x) / 2), steps: weights.map((w) => w / 2) };
    }
    case 'riemann-left':
      return { alphas: Array.from({ length: n }, (_, k) => k / n), steps: Array(n).fill(1 / n) };
    case 'riemann-right':
      return { alphas: Array.from({ length: n }, (_, k) => (k + 1) / n), steps: Array(n).fill(1 / n) };
    case 'riemann-middle':
      return { alphas: Array.from({ length: n }, (_, k) => (k + 0.5) / n), steps: Array(n).fill(1 / n) };
    case 'riemann-trapezoid': {
      const steps = Array(n).fill(1 / n);
      if (n > 1) steps[0] = steps[n - 1] = 1 / (2 * n);
      return { alphas: n === 1 ? [0] : Array.from({ length: n }, (_, k) => k / (n - 1)), steps };
    }
    default:
      return fail('BAD_INPUT', `unknown integration rule '${rule}'`, { hint: `Rules: ${INTEGRATION_RULES.join(', ')}` });
  }
}
