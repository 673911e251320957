/**
 * Where the bundled default model lives: models/sst2-bert-tiny at the package root, found
 * relative to this file so it works from src/ (tsx) and from dist/ alike.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_MODEL_NAME = 'sst2-bert-tiny';

export function defaultModelPath(): string {
  // src/train/default-model.ts and dist/train/default-model.js are both two levels below the root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'models', DEFAULT_MODEL_NAME);
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'models'))) return candidate;
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', DEFAULT_MODEL_NAME);
}
