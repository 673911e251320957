/**
 * Causal benchmark: the full resid-pre activation-patching sweep (12 layers × 32 positions = 384
 * configurations, target logit at the last position) on a GPT-2-small-shaped random checkpoint.
 *
 * The TransformerLens way — one hooked PyTorch forward per configuration
 * (patching.get_act_patch_resid_pre) — takes about 60 s on the reference machine. glassbox runs
 * the sweep batched: one run per layer, each configuration a batch row with its own mask, each
 * layer's runs starting from the corrupted residual stream before that layer (so layers before
 * the patch are not recomputed), and cells whose clean and corrupted activations are identical
 * (positions before the corrupted token at every layer, untouched positions at layer 0) are not
 * run at all, since patching them is a no-op. Printed: the first run (sessions created), the
 * second (warm sessions), and the warm time with every one of the 384 configurations run. Each
 * figure includes the clean and corrupted reference runs.
 */
import { rmSync } from 'node:fs';
import { activationPatching } from '../src/causal/patching.js';
import { loadModel } from '../src/models/model.js';
import { GPT2_SMALL, writeRandomCheckpoint } from './checkpoints.js';

const TORCH_SECONDS = 60;
const fmt = (x: number, d = 2) => x.toFixed(d);

export async function benchCausal(): Promise<void> {
  const dir = await writeRandomCheckpoint(GPT2_SMALL, 'gpt2-causal');
  try {
    const model = await loadModel(dir);
    const S = 32;
    const clean = Array.from({ length: S }, (_, i) => 1000 + ((i * 7919) % 40000));
    const corrupted = clean.map((id, i) => (i === 5 ? id + 1 : id));
    const pair = { clean: { ids: clean }, corrupted: { ids: corrupted } };
    const time = async (skipUnchanged: boolean) => {
      const t0 = performance.now();
      const r = await activationPatching(model, pair, { component: 'resid-pre', target: 7, skipUnchanged });
      const n = r.values.flat().length;
      if (n !== 12 * S) throw new Error(`expected ${12 * S} configurations, got ${n}`);
      return (performance.now() - t0) / 1000;
    };
    const cold = await time(true);
    const warm = await time(true);
    await time(false); // other batch sizes: new sessions
    const all = await time(false);
    const vs = (s: number) => `${fmt(TORCH_SECONDS / s, 1)}x faster`;
    console.log('# causal (activation patching, resid-pre, 12 layers x 32 positions = 384 configurations, GPT-2-small-shaped random checkpoint, corrupted token at position 5)');
    console.log(`  TransformerLens, one hooked forward per configuration: ~${TORCH_SECONDS} s`);
    console.log(`  glassbox, first run (creates 13 sessions):            ${fmt(cold)} s  (${vs(cold)})`);
    console.log(`  glassbox, warm:                                       ${fmt(warm)} s  (${vs(warm)})`);
    console.log(`  glassbox, warm, all 384 configurations run:           ${fmt(all)} s  (${vs(all)}; no skipping of no-op patches)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
