/**
 * GPT-2 and Llama against Hugging Face transformers 4.37 (the fixtures in
 * ../shared/fixtures/hf-reference, computed in float32 on the CPU): logits, attention
 * patterns and hidden states, max abs error <= 1e-5 (the fixtures' suggested tolerance;
 * the issue asks for 1e-4). Padding (left and right) must not change a row's numbers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadModel, type Model } from '../../src/models/model.js';
import type { HostTensor } from '../../src/runtime/tensor.js';
import { FIXTURES, maxAbsDiff, flat } from '../helpers/reference.js';

const TOL = 1e-5;

interface Case {
  input_ids: number[];
  logits: number[] | number[][];
  attentions: number[][][][];
  hidden_states: number[][][];
  last_block_output_pre_final_norm: number[][];
}


const data = (t: HostTensor) => t.data as Float32Array;

for (const name of ['tiny-gpt2', 'tiny-llama']) {
  describe(`${name} vs transformers`, async () => {
    const folder = join(FIXTURES, name);
    const ref = JSON.parse(readFileSync(join(folder, 'reference.json'), 'utf8')) as { cases: Case[] };
    let model: Model;

    it('loads', async () => {
      model = await loadModel(folder);
      assert.equal(model.head, 'causal_lm');
      assert.equal(model.config.nLayers, 2);
    });

    for (const [ci, c] of ref.cases.entries()) {
      it(`case ${ci} (S=${c.input_ids.length}): logits, attentions, hidden states within ${TOL}`, async () => {
        const L = model.config.nLayers;
        const capture = [
          ...Array.from({ length: L }, (_, l) => `blocks.${l}.attn.hook_pattern`),
          ...Array.from({ length: L }, (_, l) => `blocks.${l}.hook_resid_pre`),
          `blocks.${L - 1}.hook_resid_post`,
          'ln_final.hook_normalized',
        ];
        const out = await model.forward({ inputIds: [c.input_ids], attentionMask: [c.input_ids.map(() => 1)] }, { capture });
        assert.ok(maxAbsDiff(data(out.logits), flat(c.logits)) <= TOL, `logits: ${maxAbsDiff(data(out.logits), flat(c.logits))}`);
        for (let l = 0; l < L; l++) {
          const d = maxAbsDiff(data(out.captured[`blocks.${l}.attn.hook_pattern`]), flat(c.attentions[l]));
          assert.ok(d <= TOL, `attentions[${l}]: ${d}`);
          const h = maxAbsDiff(data(out.captured[`blocks.${l}.hook_resid_pre`]), flat(c.hidden_states[l]));
          assert.ok(h <= TOL, `hidden_states[${l}]: ${h}`);
        }
        const last = maxAbsDiff(data(out.captured[`blocks.${L - 1}.hook_resid_post`]), flat(c.last_block_output_pre_final_norm));
        assert.ok(last <= TOL, `last block output: ${last}`);
        const fin = maxAbsDiff(data(out.captured['ln_final.hook_normalized']), flat(c.hidden_states[L]));
        assert.ok(fin <= TOL, `final norm: ${fin}`);
      });
    }

    it('a padded batch (left and right) gives each row the numbers it gives alone', async () => {
      const [a, b] = [ref.cases[0].input_ids, ref.cases[2].input_ids]; // 5 and 8 tokens
      const S = b.length;
      const pad = (ids: number[], left: boolean) => (left ? [...Array(S - ids.length).fill(0), ...ids] : [...ids, ...Array(S - ids.length).fill(0)]);
      const maskOf = (ids: number[], left: boolean) => pad(ids.map(() => 1), left).map((x) => x);
      for (const left of [false, true]) {
        const padMask = left ? [...Array(S - a.length).fill(0), ...a.map(() => 1)] : [...a.map(() => 1), ...Array(S - a.length).fill(0)];
        const out = await model.forward({ inputIds: [pad(a, left), b], attentionMask: [padMask, maskOf(b, left)] });
        const V = model.config.vocabSize;
        const logits = data(out.logits);
        const off = left ? S - a.length : 0;
        const rowA = Array.from(logits.subarray(off * V, (off + a.length) * V));
        const rowB = Array.from(logits.subarray(S * V, 2 * S * V));
        assert.ok(maxAbsDiff(rowA, flat(ref.cases[0].logits)) <= TOL, `${left ? 'left' : 'right'}-padded row vs alone`);
        assert.ok(maxAbsDiff(rowB, flat(ref.cases[2].logits)) <= TOL, 'unpadded row in the batch vs alone');
      }
    });

    it('every documented hook exists as a tap', () => {
      const { graph } = model.buildGraph(1, 4);
      const missing = model.hookNames.filter((h) => !graph.taps.has(h));
      assert.deepEqual(missing, []);
    });
  });
}
