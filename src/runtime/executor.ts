/**
 * The executor contract: run a compiled ONNX model on host tensors. This file is the pure
 * core — it imports no runtime, so it loads in the browser and in Node alike; backends
 * (`node.ts`, `web.ts`) implement `Executor` on top of an ONNX Runtime package.
 *
 * It also holds what every backend must do the same way: `compileModel` (encode once, key by
 * a structural hash so sessions can be cached) and `checkFeeds` / `resolveFetches` (validate a
 * call against the model signature before any runtime sees it, so errors name the input).
 */
import { GlassboxError } from '../errors.js';
import { dtypeOfArray, sizeOf } from '../graph/dtype.js';
import { encodeModel } from '../onnx/codec.js';
import type { OnnxModel, OnnxValueInfo } from '../onnx/model.js';
import { describeType, type HostTensor } from './tensor.js';

/** A model ready to hand to an executor: its bytes, its signature and a cache key. */
export interface CompiledModel {
  /** Structural key: equal bytes give equal keys (FNV-1a 64 of the bytes plus their length). */
  key: string;
  bytes: Uint8Array;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface RunOptions {
  /** Checked before the run starts and when it ends; an aborted run rejects with CANCELLED. */
  signal?: AbortSignal;
}

export interface Executor {
  readonly name: string;
  /**
   * Runs `model` on `feeds` (one per model input) and returns the outputs named in `fetch`
   * (all outputs when omitted). Feed data is handed to the runtime without copying.
   */
  run(
    model: CompiledModel,
    feeds: Record<string, HostTensor>,
    fetch?: string[],
    opts?: RunOptions,
  ): Promise<Record<string, HostTensor>>;
  /**
   * Creates (or finds) the cached session for `model` without running it: session creation
   * can then be timed, or done ahead of the first call.
   */
  prepare(model: CompiledModel): Promise<void>;
  /** Releases every cached session; the executor cannot be used afterwards. */
  dispose(): Promise<void>;
}

/**
 * Encodes `m` and keys it by its bytes.
 *
 * @example
 * const compiled = compileModel(model);
 * const { y } = await executor.run(compiled, { x });
 */
export function compileModel(m: OnnxModel): CompiledModel {
  const bytes = encodeModel(m);
  return {
    key: `${fnv1a64(bytes)}-${bytes.length}`,
    bytes,
    inputs: m.inputs.map((v) => ({ ...v, dims: [...v.dims] })),
    outputs: m.outputs.map((v) => ({ ...v, dims: [...v.dims] })),
  };
}

/**
 * FNV-1a, 64-bit (http://www.isthe.com/chongo/tech/comp/fnv/), as 16 hex digits. Computed in
 * four 16-bit limbs so every intermediate stays an exact integer without BigInt:
 * prime = 2^40 + 0x1b3, so h·prime = h·0x1b3 + (h << 40), and h << 40 only touches limbs 2–3.
 */
export function fnv1a64(bytes: Uint8Array): string {
  // offset basis 0xcbf29ce484222325, least significant limb first
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (let i = 0; i < bytes.length; i++) {
    h0 ^= bytes[i]!;
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16);
    const t3 = h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  const hex = (n: number) => n.toString(16).padStart(4, '0');
  return hex(h3) + hex(h2) + hex(h1) + hex(h0);
}

/**
 * Checks `feeds` against the model inputs: every input fed (MISSING_FEED), no unknown names
 * and each feed of the declared dtype and dims, -1 matching any size (BAD_FEED).
 */
export function checkFeeds(inputs: readonly OnnxValueInfo[], feeds: Record<string, HostTensor>): void {
  const byName = new Map(inputs.map((v) => [v.name, v]));
  for (const name of Object.keys(feeds)) {
    if (!byName.has(name)) {
      const valid = inputs.map((v) => `'${v.name}'`).join(', ') || '(none)';
      throw new GlassboxError('BAD_FEED', `unknown feed '${name}'; the model inputs are ${valid}`, { where: name });
    }
  }
  for (const v of inputs) {
    const expected = describeType(v.dtype, v.dims);
    const t = feeds[v.name];
    if (t === undefined) {
      throw new GlassboxError('MISSING_FEED', `missing feed for input '${v.name}' (expected ${expected})`, {
        where: v.name,
      });
    }
    const found = describeType(t.dtype, t.dims);
    const dimsMatch = t.dims.length === v.dims.length && v.dims.every((d, i) => d < 0 || d === t.dims[i]);
    if (t.dtype !== v.dtype || !dimsMatch) {
      throw new GlassboxError('BAD_FEED', `feed '${v.name}' is ${found}, expected ${expected}`, { where: v.name });
    }
    if (dtypeOfArray(t.data) !== t.dtype) {
      throw new GlassboxError('BAD_FEED', `feed '${v.name}' is declared ${t.dtype} but holds ${t.data.constructor.name}`, {
        where: v.name,
      });
    }
    if (t.data.length !== sizeOf(t.dims)) {
      throw new GlassboxError(
        'BAD_FEED',
        `feed '${v.name}' has dims [${t.dims.join(', ')}] (${sizeOf(t.dims)} elements) but holds ${t.data.length} values`,
        { where: v.name },
      );
    }
  }
}

/** The output names to fetch: all outputs by default; an unknown name lists the outputs. */
export function resolveFetches(outputs: readonly OnnxValueInfo[], fetch?: readonly string[]): string[] {
  const names = outputs.map((v) => v.name);
  if (fetch === undefined) return names;
  for (const f of fetch) {
    if (!names.includes(f)) {
      const valid = names.map((n) => `'${n}'`).join(', ') || '(none)';
      throw new GlassboxError('INVALID_ARGUMENT', `unknown fetch '${f}'; the model outputs are ${valid}`, { where: f });
    }
  }
  return [...fetch];
}

/** Throws CANCELLED if `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) {
    throw new GlassboxError('CANCELLED', `${what} was cancelled`, { cause: signal.reason });
  }
}
