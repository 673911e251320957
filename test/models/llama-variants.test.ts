/**
 * Llama-family variants the fixture does not cover: Qwen2 (q/k/v biases, tied embeddings) and
 * rope_scaling of type llama3. References: the tiny-llama fixture (a Qwen2 checkpoint with zero
 * q/k/v biases must give tiny-llama's logits exactly, 1e-5), and the llama3 rule's closed-form
 * cases (wavelengths below original_max/high_freq_factor unchanged, above original_max/
 * low_freq_factor divided by the factor).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ropeInvFreq, llama } from '../../src/models/llama.js';
import { loadModel } from '../../src/models/model.js';
import { readSafetensors, writeSafetensors } from '../../src/models/safetensors.js';
import type { HostTensor } from '../../src/runtime/tensor.js';

const FIXTURE = join(import.meta.dirname, '../../../shared/fixtures/hf-reference/tiny-llama');
const temp = mkdtempSync(join(tmpdir(), 'glassbox-llama-variants-'));
after(() => rmSync(temp, { recursive: true, force: true }));

describe('Llama variants', () => {
  it('Qwen2 with zero q/k/v biases reproduces the Llama fixture; non-zero biases change it', async () => {
    const config = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8'));
    const ref = JSON.parse(readFileSync(join(FIXTURE, 'reference.json'), 'utf8'));
    const file = await readSafetensors(join(FIXTURE, 'model.safetensors'));
    const tensors: Record<string, HostTensor> = {};
    for (const [name, e] of file.tensors) tensors[name] = e.tensor();
    const dir = join(temp, 'qwen2');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'] }));
    const kv = config.num_key_value_heads * (config.hidden_size / config.num_attention_heads);
    const withBias = { ...tensors };
    for (let l = 0; l < config.num_hidden_layers; l++) {
      for (const [p, n] of [['q_proj', config.hidden_size], ['k_proj', kv], ['v_proj', kv]] as const) {
        withBias[`model.layers.${l}.self_attn.${p}.bias`] = { dtype: 'float32', dims: [n], data: new Float32Array(n) };
      }
    }
    await writeSafetensors(join(dir, 'model.safetensors'), withBias);
    const model = await loadModel(dir);
    assert.equal(model.className, 'Qwen2ForCausalLM');
    const c = ref.cases[0];
    const out = await model.forward({ inputIds: [c.input_ids], attentionMask: [c.input_ids.map(() => 1)] });
    const expected = (c.logits as number[][]).flat();
    const got = out.logits.data as Float32Array;
    const maxDiff = expected.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i])), 0);
    assert.ok(maxDiff <= 1e-5, `max diff ${maxDiff}`);

    // A bias on v shifts every value vector: the logits must move.
    const b = withBias['model.layers.0.self_attn.v_proj.bias'].data as Float32Array;
    b.fill(0.5);
    await writeSafetensors(join(dir, 'model.safetensors'), withBias);
    const moved = await (await loadModel(dir)).forward({ inputIds: [c.input_ids], attentionMask: [c.input_ids.map(() => 1)] });
    const change = expected.reduce((m, v, i) => Math.max(m, Math.abs(v - (moved.logits.data as Float32Array)[i])), 0);
    assert.ok(change > 1e-3, 'the v bias is used');
  });

  it('tied embeddings: a Llama checkpoint without lm_head.weight uses embed_tokens', async () => {
    const config = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8'));
    const dir = join(temp, 'tied');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, tie_word_embeddings: true }));
    const file = await readSafetensors(join(FIXTURE, 'model.safetensors'));
    const tensors: Record<string, HostTensor> = {};
    for (const [name, e] of file.tensors) if (name !== 'lm_head.weight') tensors[name] = e.tensor();
    await writeSafetensors(join(dir, 'model.safetensors'), tensors);
    const model = await loadModel(dir);
    assert.equal(model.weights['lm_head.weight'], model.weights['model.embed_tokens.weight'], 'the head shares the embedding tensor');
  });

  it('rope_scaling llama3 keeps high frequencies, divides low ones by the factor, blends between', () => {
    const raw = { model_type: 'llama', hidden_size: 4096, num_attention_heads: 32, num_hidden_layers: 1, intermediate_size: 8, vocab_size: 8, rope_theta: 500000 };
    const plain = ropeInvFreq(llama.parseConfig(raw));
    const scaled = ropeInvFreq(llama.parseConfig({ ...raw, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }));
    assert.equal(plain.length, 64);
    let kept = 0, divided = 0, blended = 0;
    plain.forEach((f, i) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < 8192 / 4) {
        assert.equal(scaled[i], f);
        kept++;
      } else if (wavelen > 8192 / 1) {
        assert.ok(Math.abs(scaled[i] - f / 8) < 1e-15 * f);
        divided++;
      } else {
        assert.ok(scaled[i] < f && scaled[i] > f / 8, `blend at ${i}`);
        blended++;
      }
    });
    assert.ok(kept > 0 && divided > 0 && blended > 0, `${kept} kept, ${divided} divided, ${blended} blended`);
    assert.throws(() => ropeInvFreq(llama.parseConfig({ ...raw, rope_scaling: { rope_type: 'yarn', factor: 4 } })), /rope_scaling of type 'yarn' is not supported/);
  });
});
