/**
 * Occlusion / feature ablation / leave-one-out (Zeiler & Fergus 2014; Captum's Occlusion and
 * FeatureAblation, captum/attr/_core/occlusion.py and feature_ablation.py):
 *
 *   score_i = f(x) - f(x with feature i replaced by the baseline)
 *
 * Over tokens this is Captum's Occlusion with a [1, d_model] window and stride (one window per
 * token) and FeatureAblation with one group per token; over words or spans it is FeatureAblation
 * with those groups. All n ablations and f(baseline) run in one batch.
 */
import { evaluate, type GameResult, perturbationMethod, type ValueFn } from './perturbation.js';

/** Occlusion over n players: v(N) - v(N \ {i}) for each i, from one batch of n + 2 coalitions. */
export async function occlusionValues(v: ValueFn, n: number): Promise<GameResult> {
  const rows = new Uint8Array((n + 2) * n).fill(1); // row 0: full; rows 1..n: all but i; row n+1: empty
  for (let i = 0; i < n; i++) rows[(1 + i) * n + i] = 0;
  rows.fill(0, (n + 1) * n);
  const f = await evaluate(v, rows, n + 2, 'occlusion');
  return {
    values: Array.from({ length: n }, (_, i) => f[0] - f[1 + i]),
    fFull: f[0],
    fEmpty: f[n + 1],
    quality: {},
    settings: {},
  };
}

export const occlusion = perturbationMethod(
  'occlusion',
  'f(x) minus f with one feature (token, word or span) replaced by the baseline; also feature-ablation, leave-one-out',
  (game) => occlusionValues(game.value, game.n),
);
