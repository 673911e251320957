/**
 * HostTensor: a tensor living in JS memory, the currency of every executor. Plain data (dtype,
 * dims, a typed array), no methods, so it crosses worker and backend boundaries unchanged.
 * `tensor()` is the checked constructor: it names the problem when dims and data disagree.
 */
import { GlassboxError } from '../errors.js';
import { dtypeOfArray, sizeOf, type AnyTypedArray, type DType, type TypedArrayOf } from '../graph/dtype.js';

export interface HostTensor {
  dtype: DType;
  dims: number[];
  /** Row-major element values; bool is a Uint8Array of 0/1. */
  data: AnyTypedArray;
}

/**
 * Builds a HostTensor, checking that dims are non-negative integers, that `data` is the typed
 * array of `dtype` and that it holds exactly product(dims) elements. Plain number arrays are
 * converted (to BigInt for int64, to 0/1 for bool).
 *
 * @example
 * const x = tensor('float32', [2, 3], new Float32Array(6)); // [batch, d]
 */
export function tensor<D extends DType>(dtype: D, dims: readonly number[], data: TypedArrayOf<D> | readonly number[]): HostTensor {
  for (const [i, d] of dims.entries()) {
    if (!Number.isInteger(d) || d < 0) {
      throw new GlassboxError('SHAPE_MISMATCH', `dim ${i} of dims [${dims.join(', ')}] is ${d}; dims must be non-negative integers`);
    }
  }
  const array = Array.isArray(data) ? fromNumbers(dtype, data) : (data as AnyTypedArray);
  if (dtypeOfArray(array) !== dtype) {
    throw new GlassboxError('DTYPE_MISMATCH', `a ${dtype} tensor needs a ${arrayName(dtype)}, got ${array.constructor.name}`);
  }
  const n = sizeOf(dims);
  if (array.length !== n) {
    throw new GlassboxError(
      'SHAPE_MISMATCH',
      `dims [${dims.join(', ')}] need ${n} elements but the data holds ${array.length}`,
    );
  }
  return { dtype, dims: [...dims], data: array };
}

function fromNumbers(dtype: DType, values: readonly number[]): AnyTypedArray {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'int64':
      return BigInt64Array.from(values, (v) => BigInt(v));
    case 'int32':
      return Int32Array.from(values);
    case 'bool':
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
  }
}

function arrayName(dtype: DType): string {
  return {
    float32: 'Float32Array',
    float64: 'Float64Array',
    int64: 'BigInt64Array',
    int32: 'Int32Array',
    bool: 'Uint8Array',
  }[dtype];
}

/** `float32[2, 3]`: dtype and dims, for messages. A -1 dim prints as `?`. */
export function describeType(dtype: DType, dims: readonly number[]): string {
  return `${dtype}[${dims.map((d) => (d < 0 ? '?' : String(d))).join(', ')}]`;
}

/** Number of elements in a tensor. */
export function numel(t: HostTensor): number {
  return sizeOf(t.dims);
}
