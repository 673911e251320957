/** `npm run bench`: prints the figures of every benchmark section in one run. */
import { benchEngine } from './engine.js';
import { defaultExecutor } from '../src/runtime/index.js';

await benchEngine();
await defaultExecutor().dispose();
