/** `npm run docs`: write docs/REFERENCE.md from the registries. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { referenceMarkdown } from '../src/docs.js';

writeFileSync(join(import.meta.dirname, '../docs/REFERENCE.md'), referenceMarkdown());
console.log('wrote docs/REFERENCE.md');
