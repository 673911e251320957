/** docs/REFERENCE.md is generated from the registries; this fails when it is stale. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { referenceMarkdown } from '../src/docs.js';

it('docs/REFERENCE.md matches the registries (run `npm run docs` to refresh it)', () => {
  assert.equal(readFileSync(join(import.meta.dirname, '../docs/REFERENCE.md'), 'utf8'), referenceMarkdown());
});
