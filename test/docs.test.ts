/** docs/REFERENCE.md is generated from the registries; this fails when it is stale. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { referenceMarkdown } from '../src/docs.js';

it('docs/REFERENCE.md matches the registries (run `npm run docs` to refresh it)', () => {
  assert.equal(readFileSync(join(import.meta.dirname, '../docs/REFERENCE.md'), 'utf8'), referenceMarkdown());
});

it('the README documents the JSON output exactly as the renderer defines it', async () => {
  const { JSON_FORMAT_DOC } = await import('../src/render/json.js');
  const readme = readFileSync(join(import.meta.dirname, '../README.md'), 'utf8');
  const body = JSON_FORMAT_DOC.trim().split('\n').slice(1).join('\n');
  assert.ok(readme.includes(body), 'README.md: paste render/json.ts JSON_FORMAT_DOC into the "JSON output of explain" section');
});
