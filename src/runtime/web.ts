/**
 * The web executor: ONNX Runtime's WebAssembly backend (onnxruntime-web). Runs in browsers and,
 * for tests and for parity checks against the native backend, in Node. It never imports
 * onnxruntime-node, so bundlers can ship it alone.
 *
 * Threads: multi-threaded WASM needs workers (and cross-origin isolation in a browser), so we
 * default to 1. `ort.env.wasm.numThreads` is global and read once, when the WASM module first
 * loads: the first executor to run decides it for the whole process.
 */
import * as ort from 'onnxruntime-web';
import type { Executor } from './executor.js';
import { createOrtExecutor, float64SafeOptions } from './ort-executor.js';

export interface WebExecutorOptions {
  /** WASM threads (default 1). Global to the process; only effective before the first session. */
  threads?: number;
  /** Cached sessions at most (default 32). */
  cacheSize?: number;
  /** Model bytes over all cached sessions at most (default 256 MB). */
  cacheBytes?: number;
}

/**
 * @example
 * const exec = createWebExecutor();
 * const { y } = await exec.run(compileModel(model), { x });
 */
export function createWebExecutor(opts: WebExecutorOptions = {}): Executor {
  ort.env.wasm.numThreads = opts.threads ?? 1;
  return createOrtExecutor({
    name: 'onnxruntime-web',
    ort,
    sessionOptions: { executionProviders: ['wasm'], graphOptimizationLevel: 'all' },
    adjustOptions: float64SafeOptions,
    cacheSize: opts.cacheSize,
    cacheBytes: opts.cacheBytes,
    exclusiveRuns: true,
  });
}
