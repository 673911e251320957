/**
 * Counterfactuals (greedy HotFlip): every reported prediction is what the model computes on
 * the edited ids; a flip changes the label (classifier) or the top next token (LM); at most
 * max-edits substitutions, never at a special token; the HotFlip scores are the first-order
 * change (e_w − e_x)·∇_e log p, checked by a central finite difference (step 1e-2, rtol 1e-2).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { counterfactual } from '../../src/causal/counterfactual.js';
import { runWithHooks } from '../../src/causal/interventions.js';
import type { Model } from '../../src/models/model.js';
import { bertWithTokenizer, fixture } from './helpers.js';

async function predict(model: Model, ids: number[], position: number | null): Promise<number> {
  const { logits } = await model.forward({ inputIds: [ids], attentionMask: [ids.map(() => 1)] });
  const V = logits.dims[logits.dims.length - 1];
  const d = logits.data as Float32Array;
  const row = position === null ? d.subarray(0, V) : d.subarray(position * V, (position + 1) * V);
  let b = 0;
  for (let i = 1; i < V; i++) if (row[i] > row[b]) b = i;
  return b;
}

describe('counterfactual (HotFlip)', () => {
  it('flips a classifier label with verified edits, never touching [CLS]/[SEP]', async () => {
    const bert = await bertWithTokenizer();
    const r = await counterfactual(bert, { text: 'the movie was really great' }, { maxEdits: 3 });
    assert.ok(r.edits.length >= 1 && r.edits.length <= 3);
    assert.equal(await predict(bert, r.newIds, null), r.prediction.id);
    assert.equal(r.flipped, r.prediction.id !== r.original.id);
    assert.ok(r.flipped, 'a 2-class random model flips within 3 edits');
    for (const e of r.edits) {
      assert.ok(e.position > 0 && e.position < r.ids.length - 1, 'not a special token');
      assert.ok(e.to.id > 4, 'no special token inserted');
    }
    assert.equal(new Set(r.edits.map((e) => e.position)).size, r.edits.length, 'each edit at a new position');
    assert.ok(r.edits[r.edits.length - 1].margin < 0);
    assert.equal(typeof r.newText, 'string');
  });

  it('changes a language model\'s top next token', async () => {
    const gpt2 = await fixture('tiny-gpt2');
    const ids = [5, 17, 42, 8, 33, 21, 9];
    const r = await counterfactual(gpt2, { ids }, { maxEdits: 2, candidates: 8 });
    assert.equal(r.position, 6);
    assert.equal(await predict(gpt2, r.newIds, 6), r.prediction.id);
    assert.equal(r.flipped, r.prediction.id !== r.original.id);
    assert.equal(r.newIds.filter((id, i) => id !== ids[i]).length, r.edits.length);
  });

  it('the HotFlip estimate is the directional derivative of log p along e_to − e_from (finite difference)', async () => {
    const llama = await fixture('tiny-llama');
    const ids = [1, 17, 42, 8, 33, 21, 9];
    const r = await counterfactual(llama, { ids }, { maxEdits: 1, candidates: 4 });
    assert.equal(r.edits.length, 1, 'the prediction is the argmax, so a first edit is always tried');
    const e = r.edits[0];
    const E = llama.weights['model.embed_tokens.weight'].data as Float32Array; // [64, 32]
    const eps = 1e-2;
    const dir = Array.from({ length: 32 }, (_, d) => E[e.to.id * 32 + d] - E[e.from.id * 32 + d]);
    const logp = async (k: number) => {
      const w = await runWithHooks(llama, { ids }, [[{ kind: 'steer', hook: 'hook_embed', vector: dir, coefficient: k, positions: [e.position] }]]);
      const row = Array.from((w.logits.data as Float32Array).subarray(6 * 64, 7 * 64));
      const m = Math.max(...row);
      return row[r.original.id] - m - Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    };
    const fd = (await logp(eps)) - (await logp(-eps));
    assert.ok(Math.abs(fd / (2 * eps) - e.estimate) < 1e-2 * Math.max(1, Math.abs(e.estimate)), `${fd / (2 * eps)} vs ${e.estimate}`);
  });
});
