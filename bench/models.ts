/**
 * Model benchmark: a GPT-2-small-shaped random checkpoint (124M parameters, float32) written
 * to a temporary folder in Hugging Face layout, then, in a fresh process so that nothing
 * else inflates the figure, load time and peak RSS against the weights file size (goal:
 * peak RSS <= 1.3x the file), and forward throughput (tokens/s) at batch 1 and batch 32.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpt2 } from '../src/models/gpt2.js';
import { writeSafetensors } from '../src/models/safetensors.js';
import type { HostTensor } from '../src/runtime/tensor.js';

const fmt = (x: number, d = 1) => x.toFixed(d);

export async function benchModels(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'glassbox-bench-gpt2-'));
  try {
    const config = { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_embd: 768, n_head: 12, n_layer: 12, n_positions: 1024, vocab_size: 50257, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5 };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const spec = gpt2.weights(gpt2.parseConfig(config), 'GPT2LMHeadModel');
    const tensors: Record<string, HostTensor> = {};
    let s = 12345;
    for (const [name, shape] of spec.expected) {
      if (spec.optional.has(name)) continue; // the tied head is not saved, as save_pretrained does
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      const isGain = /ln_.*\.weight$/.test(name);
      for (let i = 0; i < n; i++) {
        s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
        data[i] = isGain ? 1 : ((s / 4294967296) * 2 - 1) * 0.035;
      }
      tensors[name] = { dtype: 'float32', dims: shape, data };
    }
    await writeSafetensors(join(dir, 'model.safetensors'), tensors);
    const bytes = statSync(join(dir, 'model.safetensors')).size;
    console.log(`# GPT-2-small-shaped random checkpoint: ${fmt(bytes / 1e6)} MB of float32 weights`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'models-child.ts'), dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`benchmark child failed: ${r.stdout}`);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
    console.log(`  load (config, weights, checks): ${fmt(res.loadMs)} ms`);
    console.log(`  peak RSS after load: ${fmt(res.rssAfterLoad / 1e6)} MB = ${fmt(res.rssAfterLoad / bytes, 2)}x the weights file (process baseline before loading ${fmt(res.rssBaseline / 1e6)} MB)`);
    for (const t of res.throughput) {
      console.log(`  forward, batch ${t.batch} x ${t.seq} tokens (full vocabulary logits): ${fmt(t.ms)} ms, ${fmt(t.tokensPerSecond, 0)} tokens/s`);
    }
    console.log(`  peak RSS after the forward passes: ${fmt(res.rssEnd / 1e6)} MB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
