/**
 * Generation mode on tiny-gpt2: the greedy tokens follow the fixture's logits (transformers'
 * arg-max), each matrix row is the attribution of that generated token, and the cells of
 * tokens not yet generated at that row are 0.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { explain } from '../../src/explain/explain.js';
import { explainGeneration } from '../../src/explain/generation.js';
import { loadModel } from '../../src/models/model.js';

const FIXTURES = join(import.meta.dirname, '../../../shared/fixtures/hf-reference');

describe('generation mode', () => {
  it('attributes each greedy token to the prompt and earlier tokens', async () => {
    const model = await loadModel(join(FIXTURES, 'tiny-gpt2'));
    const ref = JSON.parse(readFileSync(join(FIXTURES, 'tiny-gpt2', 'reference.json'), 'utf8'));
    const c = ref.cases[0];
    const last: number[] = c.logits[c.logits.length - 1];
    const expectedFirst = last.indexOf(Math.max(...last));
    const gen = await explainGeneration(model, { ids: c.input_ids }, 3, { method: 'input-x-gradient' });
    assert.equal(gen.generated.length, 3);
    assert.equal(gen.generated[0].id, expectedFirst);
    assert.equal(gen.matrix.length, 3);
    const S = c.input_ids.length;
    const row0 = await explain(model, { ids: c.input_ids }, { method: 'input-x-gradient', target: expectedFirst });
    row0.scores.forEach((s, i) => assert.ok(Math.abs(gen.matrix[0][i] - s) < 1e-6, `row 0 token ${i}`));
    for (let j = 0; j < 3; j++) for (let i = S + j; i < gen.matrix[j].length; i++) assert.equal(gen.matrix[j][i], 0, `row ${j} col ${i}`);
  });

  it('refuses a classifier', async () => {
    const model = await loadModel(join(FIXTURES, 'tiny-bert-cls'));
    await assert.rejects(explainGeneration(model, { ids: [2, 17, 3] }, 2, { method: 'saliency' }), /needs a causal language model/);
  });
});
