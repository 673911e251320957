/**
 * Head importance: each cell equals the same ablation done with runWithHooks (zero ablation of
 * hook_z, or a patch with its mean over positions), atol 1e-5; mean ablation over reference
 * inputs; a layer × head grid for grouped-query attention (query heads).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headImportance } from '../../src/causal/heads.js';
import { runWithHooks } from '../../src/causal/interventions.js';
import { fixture, rejects } from './helpers.js';

const ids = [5, 17, 42, 8, 33, 21, 9];

describe('head importance', () => {
  for (const ablation of ['zero', 'mean'] as const) {
    it(`${ablation} ablation: each cell = runWithHooks with that head ablated`, async () => {
      const model = await fixture('tiny-llama');
      const r = await headImportance(model, { ids }, { target: 7, ablation });
      assert.deepEqual([r.values.length, r.values[0].length], [2, 4]);
      const configs = [0, 1].flatMap((l) => [0, 1, 2, 3].map((h) => [{ kind: 'ablate' as const, mode: ablation, hook: `blocks.${l}.attn.hook_z`, heads: [h] }]));
      const w = await runWithHooks(model, { ids }, configs);
      const V = 64;
      const d = w.logits.data as Float32Array;
      configs.forEach((_, c) => {
        const logit = d[(c * 7 + 6) * V + 7];
        assert.ok(Math.abs(logit - r.base - r.values[Math.floor(c / 4)][c % 4]) < 1e-5);
      });
    });
  }

  it('mean over reference inputs, logit-diff and prob metrics', async () => {
    const model = await fixture('tiny-gpt2');
    const r = await headImportance(model, { ids }, { target: 7, foil: 3, metric: 'logit-diff', ablation: 'mean', reference: [{ ids: [1, 2, 3] }, { ids: [9, 8, 7, 6, 5] }] });
    assert.ok(r.values.flat().every(Number.isFinite));
    const p = await headImportance(model, { ids }, { target: 7, metric: 'prob' });
    assert.ok(p.values.flat().every((v) => Math.abs(v) <= 1));
    await rejects(() => headImportance(model, { ids }, { target: 7, ablation: 'random' as never }), 'BAD_INPUT', /unknown ablation 'random'/);
  });
});
