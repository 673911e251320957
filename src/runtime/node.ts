/**
 * The Node executor: ONNX Runtime's native CPU backend (onnxruntime-node). Sessions use every
 * core by default and full graph optimisation; everything else is shared with the web backend
 * in `ort-executor.ts`.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { Executor } from './executor.js';
import { createOrtExecutor, float64SafeOptions } from './ort-executor.js';

export interface NodeExecutorOptions {
  /** Intra-op threads per session (default: os.availableParallelism()). */
  threads?: number;
  /** Cached sessions at most (default 32). */
  cacheSize?: number;
  /** Model bytes over all cached sessions at most (default 256 MB). */
  cacheBytes?: number;
}

/**
 * @example
 * const exec = createNodeExecutor({ threads: 4 });
 * const { y } = await exec.run(compileModel(model), { x });
 * await exec.dispose();
 */
export function createNodeExecutor(opts: NodeExecutorOptions = {}): Executor {
  return createOrtExecutor({
    name: 'onnxruntime-node',
    ort,
    sessionOptions: {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: opts.threads ?? availableParallelism(),
      // Measured on the GPT-2-small-shaped forward+backward benchmark: with the memory
      // pattern planner on, the first two runs take 6-7 s and later ones 2.4 s; with it off,
      // 4.2 s then 2.1 s.
      enableMemPattern: false,
    },
    adjustOptions: float64SafeOptions,
    cacheSize: opts.cacheSize,
    cacheBytes: opts.cacheBytes,
  });
}
