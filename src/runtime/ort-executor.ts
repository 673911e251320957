/**
 * What the ONNX Runtime backends share: HostTensor <-> ort.Tensor conversion and the run loop
 * (validate, fetch a cached session, run, convert, wrap errors). `node.ts` and `web.ts` only
 * say which ORT package and which session options; everything else lives here, once.
 *
 * Only *types* come from onnxruntime-common, so this file imports no runtime: each backend
 * passes in its own package's `Tensor` and `InferenceSession` (onnxruntime-web bundles its own
 * copy of the common classes, so the constructors differ between the two packages).
 */
import type { InferenceSession, InferenceSessionFactory, Tensor, TensorConstructor } from 'onnxruntime-common';
import { GlassboxError } from '../errors.js';
import type { AnyTypedArray, DType } from '../graph/dtype.js';
import { checkFeeds, resolveFetches, throwIfAborted, type CompiledModel, type Executor } from './executor.js';
import { createSessionCache } from './session-cache.js';
import type { HostTensor } from './tensor.js';

/** The two values a backend needs from its ORT package. */
export interface OrtApi {
  Tensor: TensorConstructor;
  InferenceSession: InferenceSessionFactory;
}

export interface OrtExecutorSpec {
  name: string;
  ort: OrtApi;
  sessionOptions: InferenceSession.SessionOptions;
  /** Per-model adjustments to `sessionOptions` (see `float64SafeOptions`). */
  adjustOptions?: (model: CompiledModel, base: InferenceSession.SessionOptions) => InferenceSession.SessionOptions;
  cacheSize?: number;
  cacheBytes?: number;
  /** Run one call at a time per session (onnxruntime-web rejects overlapping runs on one session). */
  exclusiveRuns?: boolean;
}

const HOST_DTYPES: ReadonlySet<string> = new Set<DType>(['float32', 'float64', 'int64', 'int32', 'bool']);

/**
 * Wraps a HostTensor as an ort.Tensor over the very same typed array: no copy. The ORT
 * type names for our dtypes are the dtype names themselves; bool data is a Uint8Array in both.
 */
export function toOrtTensor(Ctor: TensorConstructor, t: HostTensor): Tensor {
  return new Ctor(t.dtype, t.data, t.dims);
}

/** Converts an ORT output (CPU, already a JS-owned array) to a HostTensor without copying. */
export function fromOrtTensor(name: string, t: Tensor): HostTensor {
  if (!HOST_DTYPES.has(t.type)) {
    throw new GlassboxError('RUNTIME', `output '${name}' has element type ${t.type}, which glassbox does not support`, {
      where: name,
    });
  }
  if (t.location !== 'cpu') {
    throw new GlassboxError('RUNTIME', `output '${name}' is on ${t.location}, expected cpu`, { where: name });
  }
  return { dtype: t.type as DType, dims: [...t.dims], data: t.data as AnyTypedArray };
}

/** Any failure from ORT becomes GlassboxError('RUNTIME'), keeping its message and cause. */
function wrap(err: unknown, what: string, where: string): GlassboxError {
  if (err instanceof GlassboxError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new GlassboxError('RUNTIME', `${what}: ${message}`, { where, cause: err });
}

/**
 * ONNX Runtime's extended fusions can replace float64 subgraphs by kernels that exist only
 * for float32 (x * sigmoid(x) becomes com.microsoft.QuickGelu, which then fails to load).
 * Models that read or write float64 get the basic level: constant folding and redundant
 * node elimination, no fusions.
 */
export function float64SafeOptions(model: CompiledModel, base: InferenceSession.SessionOptions): InferenceSession.SessionOptions {
  const f64 = [...model.inputs, ...model.outputs].some((v) => v.dtype === 'float64');
  return f64 && base.graphOptimizationLevel !== 'disabled' ? { ...base, graphOptimizationLevel: 'basic' } : base;
}

export function createOrtExecutor(spec: OrtExecutorSpec): Executor {
  const { ort } = spec;
  const cache = createSessionCache<InferenceSession>({
    maxEntries: spec.cacheSize,
    maxBytes: spec.cacheBytes,
    create: async (model) => {
      try {
        const options = spec.adjustOptions ? spec.adjustOptions(model, spec.sessionOptions) : spec.sessionOptions;
        return await ort.InferenceSession.create(model.bytes, options);
      } catch (err) {
        throw wrap(err, `${spec.name} could not load the model`, `model ${model.key}`);
      }
    },
  });
  /** Tail of the run queue per session, when runs must not overlap. */
  const queues = new WeakMap<InferenceSession, Promise<unknown>>();

  const runOnSession = async (
    session: InferenceSession,
    model: CompiledModel,
    feeds: Record<string, HostTensor>,
    names: string[],
    signal: AbortSignal | undefined,
  ): Promise<Record<string, HostTensor>> => {
    throwIfAborted(signal, 'run');
    const ortFeeds: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(ort.Tensor, t);
    let results: InferenceSession.ReturnType;
    try {
      results = await session.run(ortFeeds, names);
    } catch (err) {
      throw wrap(err, `${spec.name} failed to run the model`, `model ${model.key}`);
    }
    // ORT cannot stop a run midway; a run aborted while it ran is discarded here.
    throwIfAborted(signal, 'run');
    const out: Record<string, HostTensor> = {};
    for (const name of names) {
      const r = results[name];
      if (!r) throw new GlassboxError('RUNTIME', `${spec.name} returned no value for output '${name}'`, { where: name });
      out[name] = fromOrtTensor(name, r);
    }
    return out;
  };

  return {
    name: spec.name,
    async run(model, feeds, fetch, opts = {}) {
      throwIfAborted(opts.signal, 'run');
      checkFeeds(model.inputs, feeds);
      const names = resolveFetches(model.outputs, fetch);
      return cache.use(model, (session) => {
        if (!spec.exclusiveRuns) return runOnSession(session, model, feeds, names, opts.signal);
        const previous = queues.get(session) ?? Promise.resolve();
        const mine = previous.then(
          () => runOnSession(session, model, feeds, names, opts.signal),
          () => runOnSession(session, model, feeds, names, opts.signal),
        );
        queues.set(session, mine.catch(() => undefined));
        return mine;
      });
    },
    prepare: (model) => cache.use(model, async () => undefined),
    dispose: () => cache.clear(),
  };
}
