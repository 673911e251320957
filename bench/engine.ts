/**
 * Engine benchmark (`npm run bench`): not a test, a figure printer.
 *
 *  1. The fp32 matmul peak as ONNX Runtime measures it here (1600x768x768, 1600x768x3072).
 *  2. A GPT-2-small-shaped stack (12 pre-norm blocks, d_model 768, 12 heads, MLP 3072,
 *     causal, random weights, batch 50 x 32 tokens): graph build, session creation,
 *     forward, and forward + backward with respect to the input embeddings; achieved
 *     GFLOP/s and the fraction of the measured peak; peak RSS.
 *
 * FLOP counts are of the matrix products only (2mnk each); elementwise work is ignored.
 */
import { vjp } from '../src/autodiff/vjp.js';
import { Graph } from '../src/graph/graph.js';
import * as op from '../src/graph/ops.js';
import { causalMask, declarePreNormBlock, preNormBlock } from '../src/nn/layers.js';
import { compile, runProgram, type Program } from '../src/engine/program.js';
import { defaultExecutor } from '../src/runtime/index.js';
import type { HostTensor } from '../src/runtime/tensor.js';

const exec = defaultExecutor();

function randomTensor(shape: number[], scale: number, seed: number): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    // xorshift32 -> uniform(-1, 1) * scale * sqrt(3): unit variance times scale.
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    data[i] = ((s / 4294967296) * 2 - 1) * scale * 1.7320508;
  }
  return { dtype: 'float32', dims: shape, data };
}

async function time(fn: () => Promise<unknown>, reps: number): Promise<{ median: number; min: number }> {
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return { median: ts[Math.floor(ts.length / 2)], min: ts[0] };
}

/** Session creation (executor.prepare), then the first run (which also grows ONNX Runtime's memory arena). */
async function sessionCreation(p: Program, feeds: Record<string, HostTensor>): Promise<{ create: number; first: number }> {
  const t0 = performance.now();
  await exec.prepare(p.compiled);
  const create = performance.now() - t0;
  const t1 = performance.now();
  await runProgram(exec, p, feeds);
  return { create, first: performance.now() - t1 };
}

const fmt = (x: number, d = 1) => x.toFixed(d);

async function matmulPeak(): Promise<number> {
  let best = 0;
  for (const [m, k, n] of [[1600, 768, 768], [1600, 768, 3072]]) {
    const g = new Graph('matmul');
    const a = g.input('a', 'float32', [m, k]);
    const b = g.input('b', 'float32', [k, n]);
    g.output('c', op.matmul(a, b));
    const p = compile(g);
    const feeds = { a: randomTensor([m, k], 1, 1), b: randomTensor([k, n], 1, 2) };
    await runProgram(exec, p, feeds);
    const t = await time(() => runProgram(exec, p, feeds), 20);
    const gflops = (2 * m * k * n) / (t.min / 1000) / 1e9;
    console.log(`  matmul ${m}x${k}x${n}: ${fmt(t.min, 2)} ms (min of 20), ${fmt(gflops)} GFLOP/s`);
    best = Math.max(best, gflops);
  }
  return best;
}

export async function benchEngine(): Promise<void> {
  console.log('# engine (onnxruntime-node, CPU)');
  const peak = await matmulPeak();
  console.log(`  fp32 matmul peak: ${fmt(peak)} GFLOP/s`);

  const L = 12, D = 768, H = 12, M = 3072, B = 50, S = 32;
  const N = B * S;
  const linearFlops = L * 2 * N * (4 * D * D + 2 * D * M);
  const attnFlops = L * 2 * 2 * B * S * S * D; // QK^T and PV
  const fwdFlops = linearFlops + attnFlops;
  // Backward to the input only: one dX product per linear layer, four per attention pair.
  const bwdFlops = linearFlops + 2 * attnFlops;

  const weights: Record<string, HostTensor> = {};
  const build = (withGrad: boolean) => {
    const g = new Graph('gpt2-small-stack');
    const x = g.input('embeds', 'float32', [B, S, D]); // [batch, pos, d_model]
    const mask = causalMask(g, S);
    let h = x;
    for (let l = 0; l < L; l++) {
      const w = declarePreNormBlock(g, `blocks.${l}`, 'float32', D, M);
      h = preNormBlock(h, w, { layer: l, nHeads: H, mask, act: 'gelu_new', eps: 1e-5 });
    }
    const out = op.layerNorm(h, g.weight('ln_f.weight', 'float32', [D]), g.weight('ln_f.bias', 'float32', [D]));
    g.output('out', out);
    if (withGrad) {
      const cot = g.input('cotangent', 'float32', [B, S, D]);
      const [dx] = vjp([out], [cot], [x]);
      g.output('d_embeds', dx);
    }
    return g;
  };

  let t0 = performance.now();
  const gFwd = build(false);
  const pFwd = compile(gFwd);
  const buildFwd = performance.now() - t0;
  t0 = performance.now();
  const gBwd = build(true);
  const pBwd = compile(gBwd);
  const buildBwd = performance.now() - t0;

  let seed = 10;
  for (const v of gBwd.inputs) {
    if (v.role !== 'weight') continue;
    const isNorm = v.name.includes('ln');
    weights[v.name] = isNorm && v.name.endsWith('weight') ? { dtype: 'float32', dims: [...v.shape], data: new Float32Array(v.shape[0]).fill(1) } : randomTensor([...v.shape], isNorm ? 0 : 0.02, seed++);
  }
  const feeds = { ...weights, embeds: randomTensor([B, S, D], 1, 3), cotangent: randomTensor([B, S, D], 1, 4) };

  console.log(`# GPT-2-small-shaped stack: ${L} layers, d_model ${D}, ${H} heads, MLP ${M}, batch ${B} x ${S} tokens`);
  console.log(`  graph build + encode: forward ${fmt(buildFwd)} ms (${gFwd.nodes.length} nodes), forward+backward ${fmt(buildBwd)} ms (${gBwd.nodes.length} nodes, ${pBwd.compiled.bytes.length} bytes)`);
  const cf = await sessionCreation(pFwd, feeds);
  const cb = await sessionCreation(pBwd, feeds);
  console.log(`  session creation: forward ${fmt(cf.create)} ms, forward+backward ${fmt(cb.create)} ms (first runs, with memory warm-up: ${fmt(cf.first)} ms, ${fmt(cb.first)} ms)`);

  const tf = await time(() => runProgram(exec, pFwd, feeds), 5);
  const tb = await time(() => runProgram(exec, pBwd, feeds), 5);
  const gf = fwdFlops / (tf.median / 1000) / 1e9;
  const gb = (fwdFlops + bwdFlops) / (tb.median / 1000) / 1e9;
  console.log(`  forward: ${fmt(tf.median)} ms (median of 5), ${fmt(fwdFlops / 1e9)} GFLOP, ${fmt(gf)} GFLOP/s = ${fmt((100 * gf) / peak)}% of peak`);
  console.log(`  forward+backward (d/d embeddings): ${fmt(tb.median)} ms (median of 5), ${fmt((fwdFlops + bwdFlops) / 1e9)} GFLOP, ${fmt(gb)} GFLOP/s = ${fmt((100 * gb) / peak)}% of peak`);
  console.log(`  peak RSS so far: ${fmt(process.resourceUsage().maxRSS / 1024)} MB`);
}
