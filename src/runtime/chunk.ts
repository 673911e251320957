/**
 * Batching as a first-class dimension. Attribution methods evaluate many perturbed inputs
 * (integrated-gradient steps, occlusion windows, samples); `planChunks` splits them into
 * batches that fit a memory budget and `sliceBatch` / `concatBatch` cut and rejoin tensors
 * along axis 0 — the batch axis by convention (`[batch, ...]`).
 *
 * Chunks are planned greedily (full chunks, then the remainder) rather than balanced: graphs
 * have concrete dims, so each distinct chunk size is a distinct compiled model, and greedy
 * plans reuse the same full-chunk model across calls with different totals.
 */
import { GlassboxError } from '../errors.js';
import { allocate, sizeOf } from '../graph/dtype.js';
import { describeType, type HostTensor } from './tensor.js';

/**
 * Sizes of consecutive chunks covering `total` items, each at most
 * max(1, floor(budgetBytes / bytesPerItem)) and at most `maxChunk`.
 *
 * @example
 * planChunks(10, 100, 400); // [4, 4, 2]
 */
export function planChunks(total: number, bytesPerItem: number, budgetBytes: number, maxChunk?: number): number[] {
  if (!Number.isInteger(total) || total < 0) {
    throw new GlassboxError('INVALID_ARGUMENT', `planChunks: total must be a non-negative integer, got ${total}`);
  }
  if (!(bytesPerItem > 0)) {
    throw new GlassboxError('INVALID_ARGUMENT', `planChunks: bytesPerItem must be positive, got ${bytesPerItem}`);
  }
  if (!(budgetBytes >= 0)) {
    throw new GlassboxError('INVALID_ARGUMENT', `planChunks: budgetBytes must be non-negative, got ${budgetBytes}`);
  }
  if (maxChunk !== undefined && !(Number.isInteger(maxChunk) && maxChunk >= 1)) {
    throw new GlassboxError('INVALID_ARGUMENT', `planChunks: maxChunk must be a positive integer, got ${maxChunk}`);
  }
  let per = Math.max(1, Math.floor(budgetBytes / bytesPerItem));
  if (maxChunk !== undefined) per = Math.min(per, maxChunk);
  const chunks: number[] = [];
  for (let left = total; left > 0; left -= per) chunks.push(Math.min(per, left));
  return chunks;
}

/** Items start..start+count along axis 0, as a view sharing `t.data` (no copy). */
export function sliceBatch(t: HostTensor, start: number, count: number): HostTensor {
  if (t.dims.length === 0) {
    throw new GlassboxError('SHAPE_MISMATCH', `sliceBatch needs a batch axis, got a scalar ${describeType(t.dtype, t.dims)}`);
  }
  const batch = t.dims[0]!;
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > batch) {
    throw new GlassboxError(
      'INVALID_ARGUMENT',
      `sliceBatch: items ${start}..${start + count} are outside the batch of ${batch} in ${describeType(t.dtype, t.dims)}`,
    );
  }
  const stride = sizeOf(t.dims.slice(1)); // elements per item
  return {
    dtype: t.dtype,
    dims: [count, ...t.dims.slice(1)],
    data: t.data.subarray(start * stride, (start + count) * stride),
  };
}

/**
 * Joins tensors along axis 0. They must share dtype and the dims after the first. A single
 * part is returned as is (not copied).
 */
export function concatBatch(parts: readonly HostTensor[]): HostTensor {
  const first = parts[0];
  if (!first) throw new GlassboxError('INVALID_ARGUMENT', 'concatBatch needs at least one tensor');
  if (first.dims.length === 0) {
    throw new GlassboxError('SHAPE_MISMATCH', `concatBatch needs a batch axis, got a scalar ${describeType(first.dtype, first.dims)}`);
  }
  const rest = first.dims.slice(1);
  let batch = 0;
  for (const [i, p] of parts.entries()) {
    const same = p.dtype === first.dtype && p.dims.length === first.dims.length && rest.every((d, j) => d === p.dims[j + 1]);
    if (!same) {
      throw new GlassboxError(
        'SHAPE_MISMATCH',
        `concatBatch: part ${i} is ${describeType(p.dtype, p.dims)} but part 0 is ${describeType(first.dtype, first.dims)}; ` +
          'parts must agree on dtype and every dim after the first',
      );
    }
    batch += p.dims[0]!;
  }
  if (parts.length === 1) return first;
  const data = allocate(first.dtype, batch * sizeOf(rest));
  let at = 0;
  for (const p of parts) {
    // Every part has the dtype of `data`, checked above; TS cannot see that through the union.
    (data as Float32Array).set(p.data as Float32Array, at);
    at += p.data.length;
  }
  return { dtype: first.dtype, dims: [batch, ...rest], data };
}
