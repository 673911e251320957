/**
 * Faithfulness of an attribution: ERASER's comprehensiveness and sufficiency (DeYoung et al.
 * 2020, "ERASER: A Benchmark to Evaluate Rationalized NLP Models", section 4), averaged over
 * the top-k% bins {1, 5, 10, 20, 50} (AOPC), beside the same figures for random rankings so a
 * reader sees whether the explanation beats chance.
 *
 *   comprehensiveness_k = p(x) − p(x without the top-k% features)   (higher is better)
 *   sufficiency_k       = p(x) − p(only the top-k% features)         (lower is better)
 *
 * p is the probability of the explained target (the target class, or the target token at
 * its position; for a contrastive target, p(target) − p(foil)). "Without" replaces a
 * feature's word embeddings by the baseline's (default: zero vectors), in one batched run;
 * special tokens ([CLS], [SEP], ...) are never removed or ranked. k% of n features is
 * rounded up, so the 1% bin removes at least one feature.
 */
import { fail } from '../errors.js';
import { createScorer } from '../explain/scorer.js';
import type { Attribution, BaselineSpec, Progress } from '../explain/types.js';
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';
import { uniform } from '../util/random.js';

export const ERASER_BINS = [1, 5, 10, 20, 50];

export interface FaithfulnessOptions {
  bins?: number[];
  baseline?: BaselineSpec;
  /** Random rankings averaged for the chance figures (default 10). */
  randomRankings?: number;
  seed?: number;
  executor?: Executor;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface FaithfulnessCurve {
  /** Per bin. */
  comprehensiveness: number[];
  sufficiency: number[];
  /** Means over the bins (AOPC). */
  aopcComprehensiveness: number;
  aopcSufficiency: number;
}

export interface Faithfulness extends FaithfulnessCurve {
  bins: number[];
  /** Features removed (or kept) per bin. */
  counts: number[];
  /** p(x) for the target. */
  p: number;
  random: FaithfulnessCurve;
  /** comprehensiveness above random and sufficiency below random. */
  beatsRandom: { comprehensiveness: boolean; sufficiency: boolean };
  baseline: BaselineSpec;
}

export async function faithfulness(model: Model, a: Attribution, opts: FaithfulnessOptions = {}): Promise<Faithfulness> {
  const bins = opts.bins ?? ERASER_BINS;
  if (bins.some((b) => !(b > 0 && b <= 100))) fail('BAD_INPUT', `faithfulness bins must be percentages in (0, 100], got [${bins}]`);
  if (a.at !== 'embed') fail('BAD_INPUT', 'faithfulness is measured on input features; this attribution was taken at a hook', { hint: 'Explain with --at embed' });
  const baseline = opts.baseline ?? 'zero';
  const seq = a.tokens.length;
  const ids = a.tokens.map((t) => t.id);
  const target = { ...a.target, score: 'prob' as const };
  const scorer = await createScorer(model, { tokens: a.tokens, ids, typeIds: a.tokens.map((t) => t.typeId) }, target, {
    at: 'embed',
    executor: opts.executor,
    signal: opts.signal,
    onProgress: opts.onProgress,
  });
  const base = await scorer.baseline(baseline);

  // Rankable features: those with at least one non-special token.
  const rankable = a.features.map((f, i) => ({ f, i })).filter(({ f }) => f.tokens.some((t) => !a.tokens[t].special));
  const n = rankable.length;
  if (n === 0) fail('BAD_INPUT', 'no features to rank: the input holds special tokens only');
  const counts = bins.map((b) => Math.min(n, Math.ceil((b / 100) * n)));
  const byScore = [...rankable].sort((x, y) => a.scores[y.i] - a.scores[x.i]).map(({ i }) => i);

  const R = opts.randomRankings ?? 10;
  const rand = uniform(opts.seed ?? 0);
  const rankings: number[][] = [byScore];
  for (let r = 0; r < R; r++) {
    const perm = rankable.map(({ i }) => i);
    for (let k = perm.length - 1; k > 0; k--) {
      const j = Math.floor(rand() * (k + 1));
      [perm[k], perm[j]] = [perm[j], perm[k]];
    }
    rankings.push(perm);
  }

  // Masks: for every ranking and bin, one "remove top-k" and one "keep only top-k" row.
  const rows = rankings.length * counts.length * 2;
  const drop = new Float32Array(rows * seq);
  let row = 0;
  for (const ranking of rankings) {
    for (const c of counts) {
      const top = new Set(ranking.slice(0, c));
      for (const { i } of rankable) {
        const removeInComp = top.has(i);
        for (const t of a.features[i].tokens) {
          if (a.tokens[t].special) continue;
          if (removeInComp) drop[row * seq + t] = 1; // comprehensiveness row
          else drop[(row + 1) * seq + t] = 1; // sufficiency row
        }
      }
      row += 2;
    }
  }
  const p = scorer.fx;
  const f = await scorer.fMix(drop, rows, base, 'faithfulness');
  const curve = (r: number): FaithfulnessCurve => {
    const comprehensiveness = counts.map((_, b) => p - f[(r * counts.length + b) * 2]);
    const sufficiency = counts.map((_, b) => p - f[(r * counts.length + b) * 2 + 1]);
    const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
    return { comprehensiveness, sufficiency, aopcComprehensiveness: mean(comprehensiveness), aopcSufficiency: mean(sufficiency) };
  };
  const own = curve(0);
  const randoms = Array.from({ length: R }, (_, r) => curve(r + 1));
  const avg = (pick: (c: FaithfulnessCurve) => number[]) => counts.map((_, b) => randoms.reduce((s, c) => s + pick(c)[b], 0) / R);
  const rc = avg((c) => c.comprehensiveness);
  const rs = avg((c) => c.sufficiency);
  const random: FaithfulnessCurve = {
    comprehensiveness: rc,
    sufficiency: rs,
    aopcComprehensiveness: rc.reduce((s, v) => s + v, 0) / rc.length,
    aopcSufficiency: rs.reduce((s, v) => s + v, 0) / rs.length,
  };
  return {
    bins,
    counts,
    p,
    ...own,
    random,
    beatsRandom: { comprehensiveness: own.aopcComprehensiveness > random.aopcComprehensiveness, sufficiency: own.aopcSufficiency < random.aopcSufficiency },
    baseline,
  };
}

/**
 * The figures as a table: one row per curve (the explanation's and the random rankings'), one
 * column per top-k% bin, plus the AOPC. Renderers show it as is.
 */
export function faithfulnessTable(f: Faithfulness): Record<string, Record<string, number>> {
  const row = (xs: number[], aopc: number) => ({ ...Object.fromEntries(f.bins.map((b, i) => [`top ${b}%`, xs[i]])), AOPC: aopc });
  const verdict = (beats: boolean) => (beats ? 'beats chance' : 'does not beat chance');
  return {
    [`comprehensiveness (higher is better; ${verdict(f.beatsRandom.comprehensiveness)})`]: row(f.comprehensiveness, f.aopcComprehensiveness),
    'comprehensiveness, random ranking': row(f.random.comprehensiveness, f.random.aopcComprehensiveness),
    [`sufficiency (lower is better; ${verdict(f.beatsRandom.sufficiency)})`]: row(f.sufficiency, f.aopcSufficiency),
    'sufficiency, random ranking': row(f.random.sufficiency, f.random.aopcSufficiency),
  };
}
