/**
 * Training throughput for the bundled model's configuration (BERT, 2 layers, hidden 128, 4
 * heads, MLP 512, 8000-token vocabulary): one training step = forward, loss and the gradient
 * of every weight, batch 32 x 32 tokens, timed without the host-side optimizer. FLOPs count
 * the matrix products only (forward 2mnk; backward twice that: input and weight gradients),
 * and the fraction is against the matmul peak measured the same way as the engine section.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Graph } from '../src/graph/graph.js';
import * as op from '../src/graph/ops.js';
import { compile, runProgram } from '../src/engine/program.js';
import { defaultExecutor } from '../src/runtime/index.js';
import type { HostTensor } from '../src/runtime/tensor.js';
import { buildTrainGraph } from '../src/train/graphs.js';
import { createBertClassifier } from '../src/train/init.js';
import { defaultModelPath } from '../src/train/default-model.js';

const fmt = (x: number, d = 1) => x.toFixed(d);

async function peak(): Promise<number> {
  const g = new Graph('matmul');
  g.output('c', op.matmul(g.input('a', 'float32', [1600, 768]), g.input('b', 'float32', [768, 3072])));
  const p = compile(g);
  const feeds = { a: { dtype: 'float32' as const, dims: [1600, 768], data: new Float32Array(1600 * 768).fill(0.01) }, b: { dtype: 'float32' as const, dims: [768, 3072], data: new Float32Array(768 * 3072).fill(0.01) } };
  await runProgram(defaultExecutor(), p, feeds);
  let best = Infinity;
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    await runProgram(defaultExecutor(), p, feeds);
    best = Math.min(best, performance.now() - t0);
  }
  return (2 * 1600 * 768 * 3072) / (best / 1000) / 1e9;
}

export async function benchTrain(): Promise<void> {
  const config = JSON.parse(readFileSync(join(defaultModelPath(), 'config.json'), 'utf8'));
  const model = createBertClassifier(config, { seed: 0 });
  const B = 32, S = 32;
  const { graph } = buildTrainGraph(model, B, S);
  const p = compile(graph);
  const ids = Array.from({ length: B }, (_, b) => Array.from({ length: S }, (_, i) => (i === 0 ? 2 : 5 + ((b * 31 + i * 17) % 7000))));
  const feeds: Record<string, HostTensor> = {
    ...model.weights,
    ...model.feeds({ inputIds: ids, attentionMask: ids.map((r) => r.map(() => 1)) }),
    example_weights: { dtype: 'float32', dims: [B], data: new Float32Array(B).fill(1 / B) },
    targets: { dtype: 'float32', dims: [B, 2], data: Float32Array.from({ length: B * 2 }, (_, i) => (i % 2 === (i >> 1) % 2 ? 1 : 0)) },
  };
  await runProgram(defaultExecutor(), p, feeds);
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    await runProgram(defaultExecutor(), p, feeds);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ms = times[5];
  const { dModel: d, dMlp: m, nLayers: L } = model.config;
  const n = B * S;
  const fwd = L * (2 * n * (4 * d * d + 2 * d * m) + 2 * 2 * B * S * S * d) + 2 * B * d * d;
  const flops = 3 * fwd;
  const peakGflops = await peak();
  const achieved = flops / (ms / 1000) / 1e9;
  console.log(`# training step, bundled model's configuration (${L} layers, d ${d}, MLP ${m}), batch ${B} x ${S} tokens`);
  console.log(`  forward + loss + all weight gradients: ${fmt(ms)} ms (median of 10), ${fmt((B * S) / (ms / 1000), 0)} tokens/s, ${fmt(achieved)} GFLOP/s = ${fmt((100 * achieved) / peakGflops)}% of the ${fmt(peakGflops)} GFLOP/s matmul peak`);
  console.log('  (matrices this small are dominated by elementwise work and launch overhead; the bundled model trains in about 4 minutes end to end)');
}
