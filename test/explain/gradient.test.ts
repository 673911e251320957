/**
 * Gradient methods against Captum 0.7 on the hf-reference fixtures (target: class 1 logit for
 * classifiers, logit of token 7 at the last position for language models; attributions with
 * respect to the word-embedding output). Tolerance: the fixtures' suggested atol 1e-4 plus
 * rtol 1e-3 for gradients and attributions; the ill-conditioned tiny-llama zero-baseline IG is
 * compared with a relative tolerance only (see the fixtures' README).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { explain } from '../../src/explain/explain.js';
import { gaussLegendre, integrationPoints } from '../../src/explain/quadrature.js';
import { loadModel, type Model } from '../../src/models/model.js';
import { FIXTURES, close, flat } from '../helpers/reference.js';



describe('quadrature', () => {
  it('Gauss-Legendre integrates polynomials of degree 2n-1 exactly and matches known nodes', () => {
    const { nodes, weights } = gaussLegendre(3);
    close(nodes, [-Math.sqrt(3 / 5), 0, Math.sqrt(3 / 5)], 1e-15, 0, 'nodes');
    close(weights, [5 / 9, 8 / 9, 5 / 9], 1e-15, 0, 'weights');
    const { alphas, steps } = integrationPoints('gauss-legendre', 50);
    // integral_0^1 x^99 dx = 1/100
    close([alphas.reduce((s, a, k) => s + steps[k] * a ** 99, 0)], [0.01], 1e-14, 0, 'x^99');
  });
  it('trapezoid steps sum to (n-1)/n as in Captum', () => {
    const { steps } = integrationPoints('riemann-trapezoid', 50);
    close([steps.reduce((a, b) => a + b, 0)], [49 / 50], 1e-15, 0, 'sum');
  });
});

for (const name of ['tiny-gpt2', 'tiny-bert-cls', 'tiny-distilbert-cls', 'tiny-llama']) {
  describe(`${name}: gradient attributions vs Captum`, async () => {
    const ref = JSON.parse(readFileSync(join(FIXTURES, name, 'reference.json'), 'utf8'));
    const target = ref.kind === 'causal_lm' ? 7 : 1;
    let model: Model;
    it('loads', async () => {
      model = await loadModel(join(FIXTURES, name));
    });
    for (const [ci, c] of (ref.cases as { input_ids: number[]; attribution: Record<string, any> }[]).entries()) {
      it(`case ${ci}: saliency, input x gradient, integrated gradients (both rules), layer IG`, async () => {
        const a = c.attribution;
        const input = { ids: c.input_ids };
        const common = { target, score: 'logit' as const, full: true };
        const sal = await explain(model, input, { ...common, method: 'saliency' });
        close(sal.full!.flat(), flat(a.saliency.values), 1e-4, 1e-3, 'saliency');
        assert.ok(Math.abs(sal.quality.fx! - a.f_x) <= 1e-4, `f(x) ${sal.quality.fx} vs ${a.f_x}`);
        const signed = await explain(model, input, { ...common, method: 'saliency', absolute: false });
        close(signed.full!.flat(), flat(a.gradient.values), 1e-4, 1e-3, 'gradient');
        const ixg = await explain(model, input, { ...common, method: 'input-x-gradient' });
        close(ixg.full!.flat(), flat(a.input_x_gradient.values), 1e-4, 1e-3, 'input x gradient');
        close(ixg.scores, a.input_x_gradient.per_token_sum, 1e-4, 1e-3, 'input x gradient per token');
        for (const [rule, key] of [['gauss-legendre', 'gausslegendre'], ['riemann-trapezoid', 'riemann_trapezoid']] as const) {
          const r = a.integrated_gradients[key];
          const ig = await explain(model, input, { ...common, method: 'integrated-gradients', steps: 50, integration: rule });
          const illConditioned = Math.abs(r.convergence_delta) > 0.05 * Math.abs(r.completeness_target);
          if (illConditioned) {
            close(ig.scores, r.per_token_sum, 0, 1e-3, `IG ${rule} per token (relative)`);
          } else {
            close(ig.full!.flat(), flat(r.values), 1e-4, 1e-3, `IG ${rule}`);
            close(ig.scores, r.per_token_sum, 1e-4, 1e-3, `IG ${rule} per token`);
            assert.ok(Math.abs(ig.quality.completenessDelta! - r.convergence_delta) <= 1e-4 + 1e-3 * Math.abs(r.convergence_delta), `delta ${ig.quality.completenessDelta} vs ${r.convergence_delta}`);
          }
          const l = a.layer_integrated_gradients[key];
          const lig = await explain(model, input, { ...common, method: 'integrated-gradients', steps: 50, integration: rule, baseline: 'token:0' });
          close(lig.scores, l.per_token_sum, 1e-4, 1e-3, `layer IG ${rule} per token`);
          assert.ok(Math.abs(lig.quality.completenessDelta! - l.convergence_delta) <= 1e-4 + 1e-3 * Math.abs(l.convergence_delta), `LIG delta ${lig.quality.completenessDelta} vs ${l.convergence_delta}`);
        }
      });
    }
  });
}
