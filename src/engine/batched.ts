/**
 * Run a graph over a large batch in chunks that fit a memory budget.
 *
 * Graphs have concrete shapes, so the caller gives a builder `(batch) => Graph`; one program
 * is compiled per distinct chunk size (at most two: the full chunk and the remainder). The
 * memory a chunk needs is estimated from the graph itself: the bytes of every value the
 * batch-1 graph computes, an upper bound on what ONNX Runtime keeps alive at once.
 *
 * Progress is reported per chunk and an AbortSignal stops between chunks.
 */
import { fail } from '../errors.js';
import { BYTES_PER_ELEMENT, sizeOf } from '../graph/dtype.js';
import type { Graph } from '../graph/graph.js';
import { concatBatch, planChunks, sliceBatch } from '../runtime/chunk.js';
import type { Executor } from '../runtime/executor.js';
import type { HostTensor } from '../runtime/tensor.js';
import { compile, type Program, runProgram } from './program.js';

export interface Progress {
  /** Items finished so far and in all. */
  done: number;
  total: number;
}

export interface RunBatchedOptions {
  executor: Executor;
  /** Builds the graph for a batch of `batch` items; every batched input and output has the batch on axis 0. */
  build: (batch: number) => Graph;
  /** Inputs with the whole batch on axis 0 (sliced per chunk, without copying). */
  batched: Record<string, HostTensor>;
  /** Inputs shared by every chunk (weights). */
  shared?: Record<string, HostTensor>;
  /** Bytes of activations a chunk may use (default 2 GiB). */
  budgetBytes?: number;
  /** Largest chunk (default: no limit beyond the budget). */
  maxChunk?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export const DEFAULT_BUDGET_BYTES = 2 * 1024 ** 3;

/** Bytes of every value a graph computes (node outputs): an upper bound on its activation memory. */
export function activationBytes(g: Graph): number {
  let total = 0;
  for (const n of g.nodes) for (const v of n.outputs) total += sizeOf(v.shape) * BYTES_PER_ELEMENT[v.dtype];
  return total;
}

export async function runBatched(opts: RunBatchedOptions): Promise<Record<string, HostTensor>> {
  const entries = Object.entries(opts.batched);
  if (entries.length === 0) fail('INVALID_ARGUMENT', 'runBatched: no batched inputs');
  const total = entries[0][1].dims[0];
  for (const [name, t] of entries) {
    if (t.dims[0] !== total) {
      fail('SHAPE_MISMATCH', `runBatched: batched input '${name}' has ${t.dims[0]} items on axis 0, but '${entries[0][0]}' has ${total}`);
    }
  }
  const programs = new Map<number, Program>();
  const programFor = (batch: number): Program => {
    let p = programs.get(batch);
    if (!p) programs.set(batch, (p = compile(opts.build(batch))));
    return p;
  };
  const perItem = Math.max(1, activationBytes(opts.build(1)));
  const chunks = planChunks(total, perItem, opts.budgetBytes ?? DEFAULT_BUDGET_BYTES, opts.maxChunk);

  const parts: Record<string, HostTensor>[] = [];
  let done = 0;
  for (const size of chunks) {
    if (opts.signal?.aborted) fail('CANCELLED', `cancelled after ${done} of ${total} items`);
    const feeds: Record<string, HostTensor> = { ...opts.shared };
    for (const [name, t] of entries) feeds[name] = sliceBatch(t, done, size);
    parts.push(await runProgram(opts.executor, programFor(size), feeds, { signal: opts.signal }));
    done += size;
    opts.onProgress?.({ done, total });
  }
  const out: Record<string, HostTensor> = {};
  for (const name of Object.keys(parts[0] ?? {})) out[name] = concatBatch(parts.map((p) => p[name]));
  return out;
}
