/**
 * runWithCache and runWithHooks: the cache equals the forward pass's captures; every
 * intervention kind against what it means, exactly (float32, atol 1e-5):
 *  - a plain configuration reproduces the forward logits;
 *  - patching resid-pre of block 0 at every position from another input gives that input's logits;
 *  - scaling by 0 equals zero ablation, scaling by 1 changes nothing;
 *  - mean ablation over positions equals a patch with the mean;
 *  - steering the final norm's output by v adds W_U v to the logits (the LM head is linear);
 * and names, positions and heads are validated.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runWithCache } from '../../src/causal/hooks.js';
import { runWithHooks } from '../../src/causal/interventions.js';
import { fixture, rejects } from './helpers.js';

const ids = [5, 17, 42, 8, 33, 21, 9];
const other = [5, 17, 11, 8, 33, 21, 9];
const f32 = (x: { data: unknown }) => x.data as Float32Array;
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
/** Row r of a [n, ...] tensor. */
const row = (t: { data: unknown; dims: number[] }, r: number) => {
  const size = t.dims.slice(1).reduce((a, b) => a * b, 1);
  return f32(t).subarray(r * size, (r + 1) * size);
};

describe('runWithCache', () => {
  it('returns every requested hook with the forward pass values', async () => {
    const model = await fixture('tiny-gpt2');
    const names = ['hook_embed', 'blocks.0.attn.hook_pattern', 'blocks.1.hook_resid_post'];
    const r = await runWithCache(model, { ids }, { names });
    const fwd = await model.forward({ inputIds: [ids], attentionMask: [ids.map(() => 1)] }, { capture: names });
    for (const n of names) assert.equal(maxDiff(f32(r.cache[n]), f32(fwd.captured[n])), 0);
    assert.deepEqual(r.cache['blocks.0.attn.hook_pattern'].dims, [1, 2, 7, 7]);
    const all = await runWithCache(model, { ids });
    assert.equal(Object.keys(all.cache).length, model.hookNames.length);
  });

  it('an unknown hook fails with UNKNOWN_TAP and the nearest names', async () => {
    const model = await fixture('tiny-llama');
    await rejects(() => runWithCache(model, { ids }, { names: ['blocks.1.attn.hook_result'] }), 'UNKNOWN_TAP', /Llama.* has no hook 'blocks.1.attn.hook_result'.*Similar hooks: .*blocks.1.attn.hook_/);
    await rejects(() => runWithCache(model, { ids }, { names: ['blocks.5.hook_resid_pre'] }), 'UNKNOWN_TAP', /has 2 layers/);
  });
});

describe('runWithHooks', () => {
  it('a plain configuration and a patch of resid-pre 0 from another input, in one batch', async () => {
    const model = await fixture('tiny-gpt2');
    const plain = await model.forward({ inputIds: [ids, other], attentionMask: [ids.map(() => 1), other.map(() => 1)] });
    const r = await runWithHooks(model, { ids }, [[], [{ kind: 'patch', hook: 'blocks.0.hook_resid_pre', from: { ids: other } }]]);
    assert.deepEqual(r.logits.dims, [2, 7, 64]);
    assert.ok(maxDiff(row(r.logits, 0), row(plain.logits, 0)) < 1e-5);
    assert.ok(maxDiff(row(r.logits, 1), row(plain.logits, 1)) < 1e-5);
  });

  it('scale 0 = zero ablation, scale 1 = nothing; mean ablation = a patch with the mean over positions', async () => {
    const model = await fixture('tiny-llama');
    const { cache } = await runWithCache(model, { ids }, { names: ['blocks.1.attn.hook_z'] });
    const z = f32(cache['blocks.1.attn.hook_z']); // [1, 7, 4, 8]
    const [H, dh] = [4, 8];
    const mean = new Float32Array(7 * H * dh);
    for (let i = 0; i < 7; i++) for (let k = 0; k < H * dh; k++) {
      let s = 0;
      for (let j = 0; j < 7; j++) s += z[j * H * dh + k];
      mean[i * H * dh + k] = s / 7;
    }
    // Head 2 at positions 3 and 6 only: the patch carries the mean there and z elsewhere.
    const patched = Float32Array.from(z);
    for (const i of [3, 6]) for (let d = 0; d < dh; d++) patched[(i * H + 2) * dh + d] = mean[(i * H + 2) * dh + d];
    const where = { hook: 'blocks.1.attn.hook_z', heads: [2], positions: [3, 6] };
    const r = await runWithHooks(model, { ids }, [
      [{ kind: 'scale', ...where, factor: 0 }],
      [{ kind: 'ablate', ...where, mode: 'zero' }],
      [{ kind: 'scale', ...where, factor: 1 }],
      [],
      [{ kind: 'ablate', ...where, mode: 'mean' }],
      [{ kind: 'patch', hook: where.hook, from: { dtype: 'float32', dims: [1, 7, H, dh], data: patched } }],
    ], { capture: ['blocks.1.attn.hook_z'] });
    assert.ok(maxDiff(row(r.logits, 0), row(r.logits, 1)) < 1e-6);
    assert.ok(maxDiff(row(r.logits, 2), row(r.logits, 3)) < 1e-6);
    assert.ok(maxDiff(row(r.logits, 4), row(r.logits, 5)) < 1e-5);
    assert.ok(maxDiff(row(r.logits, 0), row(r.logits, 3)) > 1e-4, 'ablation changes the logits');
    const zAblated = row(r.captured['blocks.1.attn.hook_z'], 1);
    for (let i = 0; i < 7; i++) for (let h = 0; h < H; h++) for (let d = 0; d < dh; d++) {
      const k = (i * H + h) * dh + d;
      assert.equal(zAblated[k], h === 2 && (i === 3 || i === 6) ? 0 : z[k]);
    }
  });

  it('steering the final norm output by v adds W_U v to the logits at the chosen position', async () => {
    const model = await fixture('tiny-gpt2');
    const v = Array.from({ length: 32 }, (_, d) => Math.sin(d));
    const r = await runWithHooks(model, { ids }, [[], [{ kind: 'steer', hook: 'ln_final.hook_normalized', vector: v, coefficient: 2, positions: [6] }]]);
    const W = f32(model.weights['lm_head.weight']); // [64, 32]
    const base = row(r.logits, 0);
    const steered = row(r.logits, 1);
    for (let i = 0; i < 7; i++) for (let t = 0; t < 64; t++) {
      let dv = 0;
      if (i === 6) for (let d = 0; d < 32; d++) dv += 2 * v[d] * W[t * 32 + d];
      assert.ok(Math.abs(steered[i * 64 + t] - base[i * 64 + t] - dv) < 1e-4);
    }
  });

  it('resample ablation takes the other input\'s value', async () => {
    const model = await fixture('tiny-bert-cls');
    const r = await runWithHooks(model, { ids: [2, 17, 42, 8, 33, 21, 3] }, [
      [{ kind: 'ablate', mode: 'resample', hook: 'blocks.0.hook_resid_pre', from: { ids: [2, 17, 11, 8, 33, 21, 3] } }],
    ]);
    const plain = await model.forward({ inputIds: [[2, 17, 11, 8, 33, 21, 3]], attentionMask: [[1, 1, 1, 1, 1, 1, 1]] });
    assert.ok(maxDiff(row(r.logits, 0), f32(plain.logits)) < 1e-5);
  });

  it('bad interventions: head out of range, heads on a hook without heads, two at one hook, unaligned source, wrong steering size', async () => {
    const model = await fixture('tiny-llama');
    await rejects(() => runWithHooks(model, { ids }, [{ kind: 'ablate', hook: 'blocks.0.attn.hook_z', heads: [4] }]), 'BAD_INPUT', /head 4 is out of range.*4 heads there \(0..3\)/);
    await rejects(() => runWithHooks(model, { ids }, [{ kind: 'ablate', hook: 'blocks.0.attn.hook_v', heads: [2] }]), 'BAD_INPUT', /head 2 is out of range.*2 heads/);
    await rejects(() => runWithHooks(model, { ids }, [{ kind: 'ablate', hook: 'blocks.0.hook_mlp_out', heads: [0] }]), 'BAD_INPUT', /has no head axis/);
    await rejects(() => runWithHooks(model, { ids }, [{ kind: 'scale', hook: 'hook_embed', factor: 2 }, { kind: 'ablate', hook: 'hook_embed' }]), 'INVALID_ARGUMENT', /2 interventions at 'hook_embed'/);
    await rejects(() => runWithHooks(model, { ids }, [{ kind: 'patch', hook: 'hook_embed', from: { ids: [1, 2, 3] } }]), 'BAD_INPUT', /3 tokens but the input has 7.*must align/);
    await rejects(() => runWithHooks(model, { ids }, [{ kind: 'steer', hook: 'hook_embed', vector: [1, 2] }]), 'SHAPE_MISMATCH', /needs 32 values/);
    await rejects(() => runWithHooks(model, { ids }, [{ kind: 'scale', hook: 'blocks.0.hook_mlp_out', positions: [7], factor: 0 }]), 'BAD_INPUT', /position 7 is outside/);
    await rejects(() => runWithHooks(model, { ids }, [{ kind: 'scale', hook: 'blocks.0.hook_mlp_outt', factor: 0 }]), 'UNKNOWN_TAP', /blocks.0.hook_mlp_out/);
  });
});
