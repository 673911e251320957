/**
 * The runtime layer for Node: executors, tensors, batching. Browser code imports `web.ts`
 * (and `executor.ts`, `tensor.ts`, `chunk.ts`) directly; this entry loads onnxruntime-node.
 */
import type { Executor } from './executor.js';
import { createNodeExecutor } from './node.js';

export { tensor, describeType, numel, type HostTensor } from './tensor.js';
export {
  compileModel,
  checkFeeds,
  resolveFetches,
  fnv1a64,
  type CompiledModel,
  type Executor,
  type RunOptions,
} from './executor.js';
export { createSessionCache, type SessionCache, type SessionCacheOptions } from './session-cache.js';
export { planChunks, sliceBatch, concatBatch } from './chunk.js';
export { toOrtTensor, fromOrtTensor } from './ort-executor.js';
export { createNodeExecutor, type NodeExecutorOptions } from './node.js';

let shared: Executor | undefined;

/**
 * The process-wide Node executor, created on first use (all cores, default cache). Disposing
 * it is allowed: the next call creates a fresh one.
 *
 * @example
 * const { logits } = await defaultExecutor().run(compiled, { input_ids });
 */
export function defaultExecutor(): Executor {
  if (shared) return shared;
  const exec = createNodeExecutor();
  const handle: Executor = {
    name: exec.name,
    run: (model, feeds, fetch, opts) => exec.run(model, feeds, fetch, opts),
    prepare: (model) => exec.prepare(model),
    dispose: async () => {
      if (shared === handle) shared = undefined;
      await exec.dispose();
    },
  };
  shared = handle;
  return handle;
}
