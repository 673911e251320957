/**
 * ERASER comprehensiveness / sufficiency against an independent computation: the same
 * probabilities obtained by feeding edited embedding matrices through the tap-replacement
 * path (not the masked-mix path the metric uses), for a hand-made ranking. Tolerance 1e-5
 * (float32 probabilities).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { explain } from '../../src/explain/explain.js';
import { createScorer } from '../../src/explain/scorer.js';
import type { Attribution } from '../../src/explain/types.js';
import { faithfulness } from '../../src/metrics/faithfulness.js';
import { loadModel } from '../../src/models/model.js';

const FIXTURES = join(import.meta.dirname, '../../../shared/fixtures/hf-reference');

describe('faithfulness (ERASER)', () => {
  it('matches probabilities of explicitly edited inputs, and random rankings are averaged', async () => {
    const model = await loadModel(join(FIXTURES, 'tiny-bert-cls'));
    const ids = [2, 17, 42, 8, 3];
    const base = await explain(model, { ids }, { method: 'saliency', target: 1 });
    // A hand-made ranking: token 1 first, then 3, then 2, then 0 and 4.
    const a: Attribution = { ...base, scores: [0.1, 3, 1, 2, 0] };
    const f = await faithfulness(model, a, { bins: [20, 40, 60], randomRankings: 4, seed: 1 });
    assert.deepEqual(f.counts, [1, 2, 3]);

    const scorer = await createScorer(model, { tokens: a.tokens, ids, typeIds: ids.map(() => 0) }, { ...a.target, score: 'prob' }, { at: 'embed' });
    const D = model.config.dModel;
    const without = (rows: number[]) => {
      const x = Float32Array.from(scorer.input);
      for (const r of rows) x.fill(0, r * D, (r + 1) * D);
      return x;
    };
    const order = [1, 3, 2, 0, 4];
    for (const [b, c] of f.counts.entries()) {
      const top = order.slice(0, c);
      const rest = order.slice(c);
      const [pWithout, pOnly] = await scorer.f(new Float32Array([...without(top), ...without(rest)]), 2);
      assert.ok(Math.abs(f.comprehensiveness[b] - (scorer.fx - pWithout)) < 1e-5, `comprehensiveness bin ${b}`);
      assert.ok(Math.abs(f.sufficiency[b] - (scorer.fx - pOnly)) < 1e-5, `sufficiency bin ${b}`);
    }
    assert.ok(Math.abs(f.aopcComprehensiveness - f.comprehensiveness.reduce((s, v) => s + v, 0) / 3) < 1e-12);
    assert.equal(f.random.comprehensiveness.length, 3);
    // Removing everything: comprehensiveness at 100% equals sufficiency at 0% kept.
    const all = await faithfulness(model, a, { bins: [100], randomRankings: 2 });
    assert.ok(Math.abs(all.comprehensiveness[0] - all.random.comprehensiveness[0]) < 1e-6, 'at 100% every ranking removes the same set');
    assert.ok(Math.abs(all.sufficiency[0]) < 1e-6, 'keeping every feature changes nothing');
  });

  it('rejects bins outside (0, 100]', async () => {
    const model = await loadModel(join(FIXTURES, 'tiny-bert-cls'));
    const a = await explain(model, { ids: [2, 17, 3] }, { method: 'saliency' });
    await assert.rejects(faithfulness(model, a, { bins: [0] }), /bins must be percentages/);
  });
});
