/** `npm run bench [engine models explain causal train]`: prints the figures of every benchmark section in one run. */
import { benchEngine } from './engine.js';
import { benchExplain } from './explain.js';
import { benchModels } from './models.js';
import { benchTrain } from './train.js';
import { defaultExecutor } from '../src/runtime/index.js';

const only = process.argv.slice(2);
const want = (s: string) => only.length === 0 || only.includes(s);
if (want('engine')) await benchEngine();
if (want('models')) await benchModels();
if (want('explain')) await benchExplain();
if (want('causal')) await (await import('./causal.js')).benchCausal();
if (want('train')) await benchTrain();
await defaultExecutor().dispose();
