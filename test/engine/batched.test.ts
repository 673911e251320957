/**
 * runBatched: chunked runs give exactly the numbers of one unchunked run, report progress
 * per chunk and stop when cancelled.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { activationBytes, runBatched } from '../../src/engine/batched.js';
import { defaultExecutor } from '../../src/runtime/index.js';
import { tensor } from '../../src/runtime/tensor.js';

const build = (batch: number) => {
  const g = new Graph('mlp');
  const x = g.input('x', 'float32', [batch, 4]);
  const w = g.weight('w', 'float32', [4, 3]);
  g.output('y', op.softmax(op.tanh(op.matmul(x, w)), -1));
  return g;
};

const X = Float32Array.from({ length: 10 * 4 }, (_, i) => Math.sin(i));
const W = tensor('float32', [4, 3], Float32Array.from({ length: 12 }, (_, i) => Math.cos(i)));

describe('runBatched', () => {
  it('chunks under a memory budget and matches one full run exactly', async () => {
    const perItem = activationBytes(build(1));
    const events: number[] = [];
    const chunked = await runBatched({
      executor: defaultExecutor(), build, batched: { x: tensor('float32', [10, 4], X) }, shared: { w: W },
      budgetBytes: perItem * 4, onProgress: (p) => events.push(p.done),
    });
    assert.deepEqual(events, [4, 8, 10]);
    const full = await runBatched({ executor: defaultExecutor(), build, batched: { x: tensor('float32', [10, 4], X) }, shared: { w: W } });
    assert.deepEqual(chunked.y.dims, [10, 3]);
    assert.deepEqual([...chunked.y.data as Float32Array], [...full.y.data as Float32Array]);
  });

  it('stops between chunks when cancelled', async () => {
    const ac = new AbortController();
    await assert.rejects(
      runBatched({ executor: defaultExecutor(), build, batched: { x: tensor('float32', [10, 4], X) }, shared: { w: W }, maxChunk: 2, signal: ac.signal, onProgress: (p) => p.done >= 4 && ac.abort() }),
      (e: Error & { code?: string }) => e.code === 'CANCELLED' && /after 4 of 10/.test(e.message),
    );
  });
});
