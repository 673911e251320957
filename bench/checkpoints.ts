/**
 * Random checkpoints in Hugging Face layout for the benchmarks: GPT-2 small (124M) and
 * BERT-base (110M) shapes, float32, small random weights, unit LayerNorm gains.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { architectureFor } from '../src/models/registry.js';
import { writeSafetensors } from '../src/models/safetensors.js';
import type { HostTensor } from '../src/runtime/tensor.js';

export const GPT2_SMALL = { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_embd: 768, n_head: 12, n_layer: 12, n_positions: 1024, vocab_size: 50257, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5 };
export const BERT_BASE = { model_type: 'bert', architectures: ['BertForSequenceClassification'], hidden_size: 768, num_attention_heads: 12, num_hidden_layers: 12, intermediate_size: 3072, max_position_embeddings: 512, vocab_size: 30522, type_vocab_size: 2, hidden_act: 'gelu', layer_norm_eps: 1e-12, num_labels: 2, pad_token_id: 0 };

/** Write a random checkpoint for `config` into a new temporary folder; returns the folder and the weights file size. */
export async function writeRandomCheckpoint(config: Record<string, unknown>, prefix: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `glassbox-bench-${prefix}-`));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const arch = architectureFor(config.model_type, 'bench');
  const cls = (config.architectures as string[])[0];
  const spec = arch.weights(arch.parseConfig(config), cls);
  const tensors: Record<string, HostTensor> = {};
  let s = 12345;
  for (const [name, shape] of spec.expected) {
    if (spec.optional.has(name)) continue; // tied heads are not saved, as save_pretrained does
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const isGain = /(ln_[^.]*|LayerNorm|layernorm|norm)\.weight$/.test(name);
    for (let i = 0; i < n; i++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      data[i] = isGain ? 1 : ((s / 4294967296) * 2 - 1) * 0.035;
    }
    tensors[name] = { dtype: 'float32', dims: shape, data };
  }
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}
