/**
 * Model benchmark: a GPT-2-small-shaped random checkpoint (124M parameters, float32) written
 * to a temporary folder in Hugging Face layout, then, in a fresh process so that nothing
 * else inflates the figure, load time and peak RSS against the weights file size (goal:
 * peak RSS <= 1.3x the file), and forward throughput (tokens/s) at batch 1 and batch 32.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GPT2_SMALL, writeRandomCheckpoint } from './checkpoints.js';

const fmt = (x: number, d = 1) => x.toFixed(d);

export async function benchModels(): Promise<void> {
  const dir = await writeRandomCheckpoint(GPT2_SMALL, 'gpt2');
  try {
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
