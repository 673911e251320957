/**
 * Logit lens: the last row (the last block's output through the model's own head) equals the
 * model's logits — top tokens, probabilities and ranks — for decoders (GPT-2, Llama) and for
 * masked-LM encoders through their MLM heads (BERT, DistilBERT); a classifier is refused with
 * an explanation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logitLens } from '../../src/causal/lens.js';
import type { Model } from '../../src/models/model.js';
import { BERT_MLM, DISTILBERT_MLM, fixture, randomModel, rejects } from './helpers.js';

const ids = [5, 17, 42, 8, 33, 21, 9];

async function checkLastRow(model: Model, input: number[]): Promise<void> {
  const lens = await logitLens(model, { ids: input }, { topK: 3 });
  const L = model.config.nLayers;
  assert.deepEqual(lens.rows, ['embed', ...Array.from({ length: L }, (_, l) => `L${l}`)]);
  const { logits } = await model.forward({ inputIds: [input], attentionMask: [input.map(() => 1)] });
  const V = logits.dims[2];
  const d = logits.data as Float32Array;
  for (let i = 0; i < input.length; i++) {
    const row = Array.from(d.subarray(i * V, (i + 1) * V));
    const order = row.map((v, id) => [v, id]).sort((a, b) => b[0] - a[0]);
    const m = order[0][0];
    const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
    const top = lens.top[L][i];
    top.forEach((t, k) => {
      assert.equal(t.id, order[k][1], `${model.className} position ${i} rank ${k}`);
      assert.ok(Math.abs(t.logit - order[k][0]) < 1e-5);
      assert.ok(Math.abs(t.prob - Math.exp(order[k][0] - m) / z) < 1e-6);
    });
    assert.equal(lens.targetIds[i], order[0][1], 'default tracked token: the final prediction');
    assert.equal(lens.targetRanks[L][i], 0);
  }
}

describe('logit lens', () => {
  it('the last layer equals the model\'s own logits (GPT-2, Llama)', async () => {
    await checkLastRow(await fixture('tiny-gpt2'), ids);
    await checkLastRow(await fixture('tiny-llama'), ids);
  });

  it('masked-LM encoders read through their MLM heads (BERT, DistilBERT)', async () => {
    await checkLastRow(randomModel(BERT_MLM), [2, 7, 4, 11, 3]);
    await checkLastRow(randomModel(DISTILBERT_MLM), [2, 7, 4, 11, 3]);
  });

  it('a fixed target: its rank and probability at every layer and position', async () => {
    const lens = await logitLens(await fixture('tiny-gpt2'), { ids }, { target: 7, topK: 1 });
    assert.ok(lens.targetIds.every((t) => t === 7));
    assert.equal(lens.targetProbs.length, 3);
    for (const row of lens.targetRanks) for (const r of row) assert.ok(r >= 0 && r < 64);
  });

  it('a classifier has no unembedding: a clear error', async () => {
    await rejects(async () => logitLens(await fixture('tiny-distilbert-cls'), { ids: [2, 5, 3] }), 'BAD_INPUT', /the logit lens needs a language-model head: DistilBertForSequenceClassification is a sequence classifier/);
  });
});
