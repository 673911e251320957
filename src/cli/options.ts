/**
 * Option checks shared by the commands: numbers that name the flag in their error, and output
 * folders that are never replaced without --overwrite.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fail } from '../errors.js';

/** A numeric option, checked: the flag is named in the error. */
export function number(value: string, flag: string, o: { integer?: boolean; min?: number; max?: number } = {}): number {
  const x = Number(value);
  const ok = value.trim() !== '' && Number.isFinite(x) && (!o.integer || Number.isInteger(x)) && (o.min === undefined || x >= o.min) && (o.max === undefined || x <= o.max);
  if (!ok) {
    const what = o.integer ? 'an integer' : 'a number';
    const range = o.min !== undefined && o.max !== undefined ? ` in [${o.min}, ${o.max}]` : o.min !== undefined ? ` >= ${o.min}` : '';
    fail('INVALID_ARGUMENT', `${flag} must be ${what}${range}, got '${value}'`);
  }
  return x;
}

/** Refuse an existing non-empty output folder unless --overwrite. */
export function checkOutFolder(out: string, overwrite: boolean | undefined): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) fail('BAD_INPUT', `--out ${out} is a file, not a folder`);
  if (!overwrite && readdirSync(out).length > 0) {
    fail('BAD_INPUT', `the output folder ${out} already exists`, { hint: 'Choose another --out, or pass --overwrite to replace its checkpoint' });
  }
}


/** An optional integer flag (at least `min`), as given or undefined. */
export function optionalInt(v: string | undefined, flag: string, min = 0): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v) || Number(v) < min) fail('BAD_INPUT', `${flag} must be an integer >= ${min}, got '${v}'`);
  return Number(v);
}

/** An optional finite number flag. */
export function optionalNumber(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x)) fail('BAD_INPUT', `${flag} must be a number, got '${v}'`);
  return x;
}

/** A comma-separated list of token ids. */
export function idList(v: string, flag: string): number[] {
  if (!/^\s*\d+(\s*,\s*\d+)*\s*$/.test(v)) fail('BAD_INPUT', `${flag} '${v}' is not a comma-separated list of token ids`, { hint: `For example ${flag} 5,17,3` });
  return v.split(',').map((x) => Number(x.trim()));
}
