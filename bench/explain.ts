/**
 * Attribution benchmark, random GPT-2-small and BERT-base checkpoints, the same settings each
 * time: integrated gradients (50 steps, internal batch 50) at 32 tokens; KernelSHAP with 200
 * samples at 32 tokens; Partition SHAP with 500 evaluations at 35 tokens. Reference figures
 * on this machine (PyTorch 2.13 with Captum/SHAP): 6.5 s (IG, GPT-2 small), 5.2 s (IG,
 * BERT-base), 10.7 s (KernelSHAP, GPT-2 small), 21.9 s (Partition SHAP, BERT-base).
 * Each timing is the second of two runs (the first builds sessions).
 */
import { rmSync } from 'node:fs';
import { explain } from '../src/explain/explain.js';
import { METHODS } from '../src/explain/registry.js';
import type { ExplainOptions } from '../src/explain/types.js';
import { loadModel, type Model } from '../src/models/model.js';
import { BERT_BASE, GPT2_SMALL, writeRandomCheckpoint } from './checkpoints.js';

const fmt = (x: number, d = 1) => x.toFixed(d);
const ids = (n: number, vocab: number) => Array.from({ length: n }, (_, i) => 1000 + ((i * 7919) % (vocab - 2000)));

async function timed(model: Model, n: number, opts: ExplainOptions): Promise<number> {
  const input = { ids: ids(n, model.config.vocabSize) };
  await explain(model, input, opts);
  const t0 = performance.now();
  await explain(model, input, opts);
  return (performance.now() - t0) / 1000;
}

export async function benchExplain(): Promise<void> {
  const rows: [string, string, number, number][] = [];
  for (const [config, name] of [[GPT2_SMALL, 'GPT-2 small'], [BERT_BASE, 'BERT-base']] as const) {
    const dir = await writeRandomCheckpoint(config, name.replace(/\W/g, ''));
    try {
      const model = await loadModel(dir);
      const target = model.head === 'sequence_classification' ? 1 : 7;
      const ig = await timed(model, 32, { method: 'integrated-gradients', steps: 50, batchSize: 50, target });
      rows.push([name, 'integrated gradients, 50 steps, 32 tokens', ig, name === 'GPT-2 small' ? 6.5 : 5.2]);
      if (METHODS['kernel-shap'] && name === 'GPT-2 small') {
        rows.push([name, 'KernelSHAP, 200 samples, 32 tokens', await timed(model, 32, { method: 'kernel-shap', samples: 200, batchSize: 50, target, seed: 0 }), 10.7]);
      }
      if (METHODS['partition-shap'] && name === 'BERT-base') {
        rows.push([name, 'Partition SHAP, 500 evaluations, 35 tokens', await timed(model, 35, { method: 'partition-shap', samples: 500, batchSize: 50, target, seed: 0 }), 21.9]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log('# attribution (random checkpoints; second of two runs)');
  for (const [model, what, s, ref] of rows) {
    console.log(`  ${model.padEnd(12)} ${what.padEnd(44)} ${fmt(s, 2)} s   (PyTorch+Captum/SHAP here: ${ref} s; ${fmt(ref / s, 2)}x faster)`);
  }
}
