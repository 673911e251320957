/**
 * Causal tracing (ROME): with zero noise every indirect effect is exactly zero (nothing was
 * corrupted); restoring the last block's output at the target position of a causal LM restores
 * the clean prediction, so that effect is p_clean − p_corrupted; the window rule is ROME's;
 * seeds reproduce; a subject not in the text is a clear error.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { causalTrace, findSubject, traceWindow } from '../../src/causal/tracing.js';
import { prepareInput } from '../../src/explain/target.js';
import { bertWithTokenizer, fixture, rejects } from './helpers.js';

const ids = [5, 17, 42, 8, 33, 21, 9];

describe('causal tracing', () => {
  it('zero noise: every indirect effect is zero', async () => {
    const model = await fixture('tiny-gpt2');
    const r = await causalTrace(model, { ids }, { subject: [1, 3], target: 7, samples: 2, noise: 0, window: 2 });
    assert.equal(r.settings.noiseStd, 0);
    assert.ok(Math.abs(r.clean - r.corrupted) < 1e-6);
    for (const k of ['resid', 'mlp', 'attn'] as const) for (const v of r.effects[k]!.flat()) assert.ok(Math.abs(v) < 1e-6, `${k}: ${v}`);
  });

  it('restoring the last block output at the target position restores the clean prediction', async () => {
    for (const name of ['tiny-gpt2', 'tiny-llama']) {
      const model = await fixture(name);
      const r = await causalTrace(model, { ids }, { subject: [1, 3], target: 7, samples: 3, seed: 1, kinds: ['resid'] });
      assert.ok(r.corrupted !== r.clean);
      const last = r.effects.resid![1][6];
      assert.ok(Math.abs(last - (r.clean - r.corrupted)) < 1e-5, `${name}: ${last} vs ${r.clean - r.corrupted}`);
      // A causal model: the last layer at earlier positions cannot reach the prediction.
      for (let i = 0; i < 6; i++) assert.ok(Math.abs(r.effects.resid![1][i]) < 1e-6);
      // Before the subject nothing was corrupted (causal attention): restoring there is a no-op.
      assert.ok(Math.abs(r.effects.resid![0][0]) < 1e-6);
    }
  });

  it('the same seed gives the same result; reuse of the corrupted stream changes nothing', async () => {
    const model = await fixture('tiny-llama');
    const a = await causalTrace(model, { ids }, { subject: [1, 3], target: 7, samples: 2, seed: 5, window: 1 });
    const b = await causalTrace(model, { ids }, { subject: [1, 3], target: 7, samples: 2, seed: 5, window: 1, reuse: false });
    for (const k of ['resid', 'mlp', 'attn'] as const) {
      assert.deepEqual([a.effects[k]!.length, a.effects[k]![0].length], [2, 7]);
      a.effects[k]!.flat().forEach((v, i) => assert.ok(Math.abs(v - b.effects[k]!.flat()[i]) < 1e-5));
    }
    // window 1 restores a single layer's MLP output, like resid but for the MLP alone.
    assert.deepEqual(a.settings.window, 1);
  });

  it("ROME's window: layers max(0, l − ⌊w/2⌋) .. min(L, l + ⌈w/2⌉) − 1", () => {
    assert.deepEqual(traceWindow(0, 10, 12), [0, 1, 2, 3, 4]);
    assert.deepEqual(traceWindow(6, 10, 12), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(traceWindow(11, 10, 12), [6, 7, 8, 9, 10, 11]);
    assert.deepEqual(traceWindow(3, 1, 12), [3]);
  });

  it('the subject is found by its characters; a subject not in the text is an error', async () => {
    const bert = await bertWithTokenizer();
    const p = prepareInput(bert, { text: 'the movie was really great' });
    assert.deepEqual(findSubject(p, 'the movie'), [1, 3]); // [CLS] the movie ...
    assert.deepEqual(findSubject(p, 'Really'), [4, 5]);
    await rejects(() => causalTrace(bert, { text: 'the movie was really great' }, { subject: 'the film' }), 'BAD_INPUT', /subject "the film" not found in the text "the movie was really great"/);
    await rejects(() => causalTrace(bert, { text: 'the movie was great' }, { subject: [3, 9] }), 'BAD_INPUT', /not inside the 6 tokens/);
  });

  it('works on a classifier (p of the class)', async () => {
    const bert = await bertWithTokenizer();
    const r = await causalTrace(bert, { text: 'the movie was really great' }, { subject: 'movie', samples: 2, window: 1 });
    assert.equal(r.target.position, null);
    assert.deepEqual(r.subject, [2, 3]);
    assert.ok(r.effects.resid!.flat().every(Number.isFinite));
  });
});
