/**
 * Activation patching against transformers 4.37 (../shared/fixtures/hf-reference, the
 * `activation_patching` tables: block output of layer l at position i copied from the clean run
 * into the corrupted run; target logit, difference and normalised tables, atol 1e-4 as the
 * fixtures suggest, widened for the normalised table by the float32 rounding of the logits over
 * clean − corrupted where that difference is small), and the properties that hold whatever the weights:
 *  - patching every position of resid-pre at layer 0 reproduces the clean run;
 *  - the batched sweep equals itself without reusing the stream (one graph) and without skipping no-op cells;
 *  - attribution patching equals real patching when the metric is linear in the patched
 *    activation (ln_final.hook_normalized under a linear LM head, target logit);
 * and every bad input fails with a clear error.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { activationPatching, attributionPatching, patchHeadOut, patchHeadK, patchHeadPattern, pearson } from '../../src/causal/patching.js';
import { bertWithTokenizer, FIXTURES, fixture, maxAbsDiff, MODELS, rejects } from './helpers.js';

const TOL = 1e-4;

interface PatchRef {
  settings: { clean_input_ids: number[]; corrupted_input_ids: number[] };
  clean_target_logit: number;
  corrupted_target_logit: number;
  patched_target_logit: number[][];
  difference: number[][];
  normalized: number[][];
}

const refOf = (name: string): PatchRef => JSON.parse(readFileSync(join(FIXTURES, name, 'reference.json'), 'utf8')).activation_patching;
const pairOf = (ref: PatchRef) => ({ clean: { ids: ref.settings.clean_input_ids }, corrupted: { ids: ref.settings.corrupted_input_ids } });

describe('activation patching vs transformers (block output per layer and position)', () => {
  for (const name of MODELS) {
    it(`${name}: patched logit, difference and normalised tables within ${TOL}`, async (t) => {
      const model = await fixture(name);
      const ref = refOf(name);
      const target = model.head === 'sequence_classification' ? 1 : 7;
      const r = await activationPatching(model, pairOf(ref), { component: 'resid-post', target });
      // Post-LN encoders: resid-post is the block output ln2.hook_normalized (TransformerLens BertBlock).
      assert.equal(r.hooks[0], name.includes('bert') ? 'blocks.0.ln2.hook_normalized' : 'blocks.0.hook_resid_post');
      assert.deepEqual([r.values.length, r.values[0].length], [ref.patched_target_logit.length, ref.patched_target_logit[0].length]);
      const eLogit = maxAbsDiff(r.values, ref.patched_target_logit);
      const eDiff = maxAbsDiff(r.values.map((row) => row.map((v) => v - r.corrupted)), ref.difference);
      const norm = await activationPatching(model, pairOf(ref), { component: 'resid-post', target, metric: 'normalized' });
      const eNorm = maxAbsDiff(norm.values, ref.normalized);
      t.diagnostic(`max abs error: patched ${eLogit.toExponential(2)}, difference ${eDiff.toExponential(2)}, normalized ${eNorm.toExponential(2)}`);
      assert.ok(Math.abs(r.clean - ref.clean_target_logit) < TOL && Math.abs(r.corrupted - ref.corrupted_target_logit) < TOL);
      assert.ok(eLogit < TOL, `patched ${eLogit}`);
      assert.ok(eDiff < TOL, `difference ${eDiff}`);
      // The normalised table divides by clean − corrupted (0.010 for tiny-bert-cls): float32 rounding of
      // the logits (~1e-6) grows by 1/|clean − corrupted| × (1 + |normalized|).
      const normTol = Math.max(TOL, (1e-6 / Math.abs(ref.clean_target_logit - ref.corrupted_target_logit)) * (1 + Math.max(...ref.normalized.flat().map(Math.abs))));
      assert.ok(eNorm < normTol, `normalized ${eNorm} (tolerance ${normTol})`);
    });
  }

  it('the same table from one graph (no reuse) and with every cell run (no skipping)', async () => {
    for (const name of ['tiny-gpt2', 'tiny-bert-cls']) {
      const model = await fixture(name);
      const ref = refOf(name);
      const target = model.head === 'sequence_classification' ? 1 : 7;
      const a = await activationPatching(model, pairOf(ref), { target, component: 'resid-pre' });
      const b = await activationPatching(model, pairOf(ref), { target, component: 'resid-pre', reuse: false, skipUnchanged: false });
      assert.ok(maxAbsDiff(a.values, b.values) < 1e-5, name);
    }
  });
});

describe('activation patching properties', () => {
  it('patching every position of resid-pre at layer 0 reproduces the clean run', async () => {
    for (const name of MODELS) {
      const model = await fixture(name);
      const ref = refOf(name);
      const S = ref.settings.clean_input_ids.length;
      const r = await activationPatching(model, pairOf(ref), {
        component: 'resid-pre',
        layers: [0],
        positionSets: [Array.from({ length: S }, (_, i) => i)],
        target: model.head === 'sequence_classification' ? 1 : 7,
      });
      assert.deepEqual(r.cols, ['all']);
      assert.ok(Math.abs(r.values[0][0] - r.clean) < 1e-5, `${name}: ${r.values[0][0]} vs clean ${r.clean}`);
    }
  });

  it('head sweeps: [layer][head] over all positions, (layer·head, position) per position, k/v over key/value heads', async () => {
    const gpt2 = await fixture('tiny-gpt2');
    const pair = pairOf(refOf('tiny-gpt2'));
    const heads = await patchHeadOut(gpt2, pair, { target: 7 });
    assert.deepEqual(heads.cols, ['H0', 'H1']);
    assert.equal(heads.values.length, 2);
    const per = await patchHeadOut(gpt2, pair, { target: 7, perPosition: true });
    assert.deepEqual(per.rows, ['L0H0', 'L0H1', 'L1H0', 'L1H1']);
    assert.equal(per.values[0].length, 7);
    // Patching one head at every position = the per-head cell.
    const all = await patchHeadOut(gpt2, pair, { target: 7, perPosition: true, positionSets: [[0, 1, 2, 3, 4, 5, 6]] });
    assert.ok(maxAbsDiff(all.values.map((r) => r[0]), heads.values.flat()) < 1e-5);
    const pattern = await patchHeadPattern(gpt2, pair, { target: 7 });
    assert.equal(pattern.values[1].length, 2);
    const llama = await fixture('tiny-llama');
    const k = await patchHeadK(llama, pairOf(refOf('tiny-llama')), { target: 7 });
    assert.deepEqual(k.cols, ['H0', 'H1'], 'tiny-llama has 2 key/value heads');
  });

  it('metrics: logit-diff with a foil, prob in [0, 1], normalized 1 at the clean run', async () => {
    const gpt2 = await fixture('tiny-gpt2');
    const pair = pairOf(refOf('tiny-gpt2'));
    const d = await activationPatching(gpt2, pair, { target: 7, foil: 3, metric: 'logit-diff', component: 'attn-out' });
    const t = await activationPatching(gpt2, pair, { target: 7, component: 'attn-out' });
    const f = await activationPatching(gpt2, pair, { target: 3, component: 'attn-out' });
    assert.ok(maxAbsDiff(d.values, t.values.map((r, l) => r.map((v, i) => v - f.values[l][i]))) < 1e-4);
    const p = await activationPatching(gpt2, pair, { target: 7, metric: 'prob', component: 'mlp-out' });
    assert.ok(p.values.flat().every((v) => v >= 0 && v <= 1));
    const n = await activationPatching(gpt2, pair, { target: 7, metric: 'normalized', component: 'resid-pre', layers: [0], positionSets: [[0, 1, 2, 3, 4, 5, 6]] });
    assert.ok(Math.abs(n.values[0][0] - 1) < 1e-4);
  });
});

describe('attribution patching', () => {
  it('equals real patching where the metric is linear in the activation (final norm output, linear LM head)', async (t) => {
    for (const name of ['tiny-gpt2', 'tiny-llama']) {
      const model = await fixture(name);
      const ap = await attributionPatching(model, pairOf(refOf(name)), { hook: 'ln_final.hook_normalized', target: 7, compare: true });
      const e = maxAbsDiff(ap.values, ap.patched!);
      t.diagnostic(`${name}: max |attribution − activation patching| ${e.toExponential(2)}, correlation ${ap.correlation}`);
      assert.ok(e < 1e-4, `${name}: ${e}`);
      assert.ok(ap.correlation! > 0.9999);
    }
  });

  it('a whole sweep from one forward and one backward pass, with its correlation to real patching', async () => {
    const model = await fixture('tiny-distilbert-cls');
    const ap = await attributionPatching(model, pairOf(refOf('tiny-distilbert-cls')), { component: 'resid-pre', target: 1, compare: true });
    assert.equal(ap.method, 'attribution-patching');
    assert.deepEqual([ap.values.length, ap.values[0].length], [2, 7]);
    assert.ok(Number.isFinite(ap.correlation!));
    const norm = await attributionPatching(model, pairOf(refOf('tiny-distilbert-cls')), { component: 'head-out', target: 1, metric: 'normalized' });
    assert.deepEqual(norm.cols, ['H0', 'H1']);
  });

  it('pearson', () => {
    assert.ok(Math.abs(pearson([1, 2, 3], [2, 4, 6]) - 1) < 1e-12);
    assert.ok(Math.abs(pearson([1, 2, 3], [3, 2, 1]) + 1) < 1e-12);
    assert.ok(Number.isNaN(pearson([1, 1], [1, 2])));
  });
});

describe('patching errors', () => {
  it('clean and corrupted texts of different token counts: both tokenizations, and that they must align', async () => {
    const bert = await bertWithTokenizer();
    await rejects(() => activationPatching(bert, { clean: { text: 'this movie was great' }, corrupted: { text: 'this film was really great' } }, { target: 1 }), 'BAD_INPUT', /6 tokens but the corrupted input has 7; they must align token by token.*"movie".*"really"/s);
  });

  it('a component or hook the architecture lacks, a layer or metric that does not exist', async () => {
    const gpt2 = await fixture('tiny-gpt2');
    const pair = pairOf(refOf('tiny-gpt2'));
    await rejects(() => activationPatching(gpt2, pair, { hook: 'blocks.{l}.attn.hook_rot_q', target: 7 }), 'UNKNOWN_TAP', /GPT-2 has no hook 'blocks.0.attn.hook_rot_q'.*Similar hooks: blocks.0.attn.hook_q/);
    await rejects(() => activationPatching(gpt2, pair, { component: 'resid-final' as never, target: 7 }), 'BAD_INPUT', /unknown component 'resid-final'.*resid-pre/);
    await rejects(() => activationPatching(gpt2, pair, { layers: [2], target: 7 }), 'BAD_INPUT', /layer 2 is out of range: this model has 2 layers/);
    await rejects(() => activationPatching(gpt2, pair, { metric: 'logit-diff', target: 7 }), 'BAD_INPUT', /needs a foil/);
    await rejects(() => activationPatching(gpt2, pair, { metric: 'kl' as never, target: 7 }), 'BAD_INPUT', /unknown metric 'kl'/);
    await rejects(() => activationPatching(gpt2, pair, { positionSets: [[9]], target: 7 }), 'BAD_INPUT', /position 9 is outside the input/);
  });
});
