/**
 * Comparing against the reference fixtures (../shared/fixtures/hf-reference): where they are,
 * flattening nested JSON arrays, and the two checks the numerical tests use.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';

export const FIXTURES = join(import.meta.dirname, '../../../shared/fixtures/hf-reference');

/** Nested JSON arrays to one flat list, row-major. */
export const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);

/** Largest absolute difference of two equally long lists. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Element by element: |actual - expected| <= atol + rtol * |expected|, naming the first failure. */
export function close(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    assert.ok(d <= atol + rtol * Math.abs(expected[i]), `${what}[${i}]: ${actual[i]} vs ${expected[i]} (|diff| ${d.toExponential(2)})`);
  }
}
