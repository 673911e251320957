/**
 * AdamW, gradient clipping and learning-rate schedules against closed forms.
 *
 * Reference: torch.optim.AdamW's update (decoupled decay, then bias-corrected Adam), written
 * out by hand below in float64; the implementation stores float32, so the tolerance is 1e-6
 * relative to the parameter's size.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clipGradNorm, createAdamW, learningRateSchedule, noDecay } from '../../src/train/optim.js';

test('AdamW: three steps on two parameters equal the hand-computed update', () => {
  const lr = 0.1;
  const wd = 0.5;
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const opt = createAdamW({ lr, weightDecay: wd });
  // 'w' decays; 'b.bias' is exempt (a bias).
  const params = { w: Float32Array.of(1, -2), 'b.bias': Float32Array.of(0.5) };
  const gradsPerStep = [
    { w: [0.5, -1], b: [2] },
    { w: [-0.25, 0.5], b: [1] },
    { w: [1, 1], b: [-3] },
  ];
  // The closed form, step by step, in float64.
  const ref = { w: [1, -2], b: [0.5] };
  const m = { w: [0, 0], b: [0] };
  const v = { w: [0, 0], b: [0] };
  gradsPerStep.forEach((g, k) => {
    const t = k + 1;
    for (const key of ['w', 'b'] as const) {
      for (let i = 0; i < ref[key].length; i++) {
        const gi = g[key][i]!;
        if (key === 'w') ref.w[i]! *= 1 - lr * wd; // decoupled weight decay
        m[key][i] = b1 * m[key][i]! + (1 - b1) * gi;
        v[key][i] = b2 * v[key][i]! + (1 - b2) * gi * gi;
        const mHat = m[key][i]! / (1 - b1 ** t);
        const vHat = v[key][i]! / (1 - b2 ** t);
        ref[key][i]! -= (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
    }
    opt.step(params, { w: Float32Array.from(g.w), 'b.bias': Float32Array.from(g.b) });
    params.w.forEach((x, i) => assert.ok(Math.abs(x - ref.w[i]!) < 1e-6, `step ${t}: w[${i}] = ${x}, expected ${ref.w[i]}`));
    assert.ok(Math.abs(params['b.bias'][0]! - ref.b[0]!) < 1e-6, `step ${t}: bias ${params['b.bias'][0]}, expected ${ref.b[0]}`);
  });
  assert.equal(opt.steps, 3);
});

test('AdamW: no decay on biases and LayerNorm weights (Hugging Face Trainer rule)', () => {
  assert.equal(noDecay('bert.encoder.layer.0.attention.output.LayerNorm.weight'), true);
  assert.equal(noDecay('bert.embeddings.LayerNorm.bias'), true);
  assert.equal(noDecay('classifier.bias'), true);
  assert.equal(noDecay('classifier.weight'), false);
  assert.equal(noDecay('bert.embeddings.word_embeddings.weight'), false);
  // With a zero gradient only the decay acts: p <- p (1 - lr wd).
  const opt = createAdamW({ lr: 0.1, weightDecay: 0.1 });
  const params = { 'x.weight': Float32Array.of(2), 'x.bias': Float32Array.of(2) };
  opt.step(params, { 'x.weight': Float32Array.of(0), 'x.bias': Float32Array.of(0) });
  assert.ok(Math.abs(params['x.weight'][0]! - 2 * 0.99) < 1e-6);
  assert.equal(params['x.bias'][0], 2);
});

test('clipGradNorm scales the global norm down to the limit and leaves small gradients alone', () => {
  const a = Float32Array.of(3, 0);
  const b = Float32Array.of(0, 4); // global norm 5
  const norm = clipGradNorm([a, b], 1);
  assert.equal(norm, 5);
  const after = Math.hypot(...a, ...b);
  assert.ok(Math.abs(after - 1) < 1e-6, `norm after clipping ${after}`);
  assert.ok(Math.abs(a[0]! - 0.6) < 1e-6 && Math.abs(b[1]! - 0.8) < 1e-6, 'direction kept');
  const c = Float32Array.of(0.3, 0.4);
  clipGradNorm([c], 1);
  assert.deepEqual([...c], [Math.fround(0.3), Math.fround(0.4)]);
});

test('learning-rate schedules: linear warm-up, then linear or cosine decay to 0 (transformers schedulers)', () => {
  const lin = learningRateSchedule({ lr: 1, totalSteps: 110, warmupSteps: 10 });
  assert.equal(lin(0), 0);
  assert.equal(lin(5), 0.5);
  assert.equal(lin(10), 1);
  assert.equal(lin(60), 0.5);
  assert.equal(lin(110), 0);
  const cos = learningRateSchedule({ lr: 1, totalSteps: 110, warmupSteps: 10, kind: 'cosine' });
  assert.equal(cos(10), 1);
  assert.ok(Math.abs(cos(60) - 0.5) < 1e-12);
  assert.ok(Math.abs(cos(110)) < 1e-12);
});
