/** `npm run bench`: prints the figures of every benchmark section in one run. */
import { benchEngine } from './engine.js';
import { benchModels } from './models.js';
import { defaultExecutor } from '../src/runtime/index.js';

const only = process.argv.slice(2);
if (only.length === 0 || only.includes('engine')) await benchEngine();
if (only.length === 0 || only.includes('models')) await benchModels();
await defaultExecutor().dispose();
