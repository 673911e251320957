/**
 * Writing result files: never over a user's file unless asked, and atomically (a temporary
 * file beside the target, renamed into place), so an error or Ctrl-C leaves no partial file.
 */
import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fail } from '../errors.js';

export async function writeOutput(path: string, content: string | Uint8Array, opts: { overwrite?: boolean } = {}): Promise<void> {
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) fail('BAD_INPUT', `--out ${path} is a folder`, { hint: 'Give a file path' });
    if (!opts.overwrite) fail('BAD_INPUT', `${path} already exists`, { hint: 'Pass --overwrite to replace it, or choose another --out' });
  }
  const dir = dirname(path);
  if (!existsSync(dir)) fail('BAD_INPUT', `the folder of --out ${path} does not exist`);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    return fail('BAD_INPUT', `cannot write ${path}: ${(e as Error).message}`);
  }
}
