/**
 * Direct logit attribution: the pieces (embeddings, every head with its share of b_O, every
 * MLP) sum to the final residual stream (max error 1e-5), and their projections plus the final
 * norm's bias term β·u sum to the model's logit or logit difference (atol 1e-4): for GPT-2
 * (LayerNorm, β ≠ 0), Llama (RMSNorm, no centering, β = 0) and a GPT-2 classifier (score head
 * at the last token). Post-LN encoders are refused with an explanation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { directLogitAttribution } from '../../src/causal/dla.js';
import { fixture, GPT2_CLS, randomModel, rejects } from './helpers.js';

const ids = [5, 17, 42, 8, 33, 21, 9];

describe('direct logit attribution', () => {
  for (const name of ['tiny-gpt2', 'tiny-llama']) {
    it(`${name}: pieces + norm bias = logit, and = logit difference with a foil`, async () => {
      const model = await fixture(name);
      for (const opts of [{ target: 7 }, { target: 7, foil: 3 }, { target: 12, position: 3 }]) {
        const r = await directLogitAttribution(model, { ids }, opts);
        assert.ok(r.reconstruction < 1e-5, `reconstruction ${r.reconstruction}`);
        assert.ok(Math.abs(r.total - r.logit) < 1e-4, `${JSON.stringify(opts)}: ${r.total} vs ${r.logit}`);
        const { nLayers: L, nHeads: H } = model.config;
        assert.equal(r.pieces.length, (name === 'tiny-gpt2' ? 2 : 1) + L * (H + 1));
        assert.deepEqual([r.heads.length, r.heads[0].length, r.mlp.length], [L, H, L]);
        const sum = r.pieces.reduce((s, p) => s + p.value, 0);
        assert.ok(Math.abs(sum + r.normBias - r.logit) < 1e-4);
        if (name === 'tiny-llama') assert.equal(r.normBias, 0, 'RMSNorm has no bias');
        else assert.notEqual(r.normBias, 0);
      }
    });
  }

  it('a GPT-2 classifier: the score row at the last token', async () => {
    const model = randomModel(GPT2_CLS);
    const r = await directLogitAttribution(model, { ids: [1, 2, 3, 4] }, { target: 2, foil: 0 });
    assert.equal(r.position, 3);
    assert.ok(Math.abs(r.total - r.logit) < 1e-4, `${r.total} vs ${r.logit}`);
  });

  it('post-LN encoders do not decompose: a clear error', async () => {
    await rejects(async () => directLogitAttribution(await fixture('tiny-bert-cls'), { ids: [2, 5, 3] }), 'BAD_INPUT', /does not apply to BERT: it is a post-LN encoder/);
  });
});
