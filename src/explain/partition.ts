/**
 * Partition SHAP: Owen (Winter) values over a hierarchy of the features, as SHAP's Partition
 * explainer with its Text masker (shap/explainers/_partition.py, shap/maskers/_text.py).
 *
 * The hierarchy is SHAP's text clustering: adjacent features are merged bottom-up by a
 * heuristic score that joins word pieces first, then apostrophe endings, and reaches across
 * connectors ('and', 'but', 'or'), commas and sentence ends last (`partitionTree`, a port of
 * SHAP's partition_tree / merge_score). The features must be contiguous for it to mean much;
 * they are taken in text order.
 *
 * The values: starting from the root with contexts (∅, N), each node is split into its two
 * children L and R, evaluating v(ctx + L) and v(ctx + R); each child then recurses twice, with
 * the sibling absent and present, at half the weight. At a leaf (or when the evaluation budget
 * runs out) the node keeps (v(ctx + node) - v(ctx)) * weight, and credit left on an internal
 * node is shared among its leaves in proportion to their number (SHAP's lower_credit). Every
 * split conserves the total, so the values always sum to v(N) - v(∅) exactly; with a budget
 * that reaches every leaf they are the exact Owen values of the binary hierarchy (the average
 * marginal contribution over the orderings in which every cluster stays contiguous). Nodes are
 * expanded largest |change| * weight first, as SHAP's priority queue; ties go first-in
 * first-out (SHAP breaks them at random), so the result is deterministic.
 *
 * `samples` = the evaluation budget (SHAP's max_evals, default 500), v(∅) and v(N) included.
 * A balanced tree over n features needs about 2 n^2 / 3 evaluations to be exact.
 */
import type { Feature, Token } from './types.js';
import { evaluate, type GameResult, intOption, perturbationMethod, type ValueFn } from './perturbation.js';

/** One merge of the hierarchy, as scipy / SHAP clustering rows: children, height, leaf count. */
export type ClusterRow = [left: number, right: number, distance: number, size: number];

// ---------------------------------------------------------------------------------------------
// SHAP's text hierarchy

const OPENERS: Record<string, string> = { '(': ')' };
const CLOSERS: Record<string, string> = { ')': '(' };
const CONNECTORS = new Set(['but', 'and', 'or']);

interface Tok {
  s: string;
  balanced: boolean;
}

/** SHAP's merge_score: how much two adjacent token groups want to be merged (higher first). */
function mergeScore(g1: Tok[], g2: Tok[], special: Set<string>): number {
  let score = 0;
  // special tokens (separators) are merged last, so each subtree is one sentence
  if (special.size > 0 && special.has(g1[g1.length - 1].s) && special.has(g2[0].s)) score -= Infinity;
  // word pieces first
  if (g2[0].s.startsWith('##')) score += 20;
  // apostrophe endings next
  if (g2[0].s === "'" && (g2.length === 1 || (g2.length === 2 && ['t', 's'].includes(g2[1].s)))) score += 15;
  if (g1[g1.length - 1].s === "'" && ['t', 's'].includes(g2[0].s)) score += 15;
  const startCtrl = g1[0].s.startsWith('[') && g1[0].s.endsWith(']');
  const endCtrl = g2[g2.length - 1].s.startsWith('[') && g2[g2.length - 1].s.endsWith(']');
  if (startCtrl !== endCtrl) score -= 1000;
  if (g2[0].s in OPENERS && !g2[0].balanced) score -= 100;
  if (g1[g1.length - 1].s in CLOSERS && !g1[g1.length - 1].balanced) score -= 100;
  // attach openers a bit later (SHAP's test `group2[-1] not in closers` compares a Token with
  // the closers' keys and is always true, so this applies whenever g1 starts with an opener)
  if (g1[0].s in OPENERS) score -= 2;
  // reach across connectors, commas and sentence ends later
  if (CONNECTORS.has(g1[g1.length - 1].s) || CONNECTORS.has(g2[0].s)) score -= 2;
  if (g1[g1.length - 1].s === ',') score -= 10;
  if (g2[0].s === ',') score -= g2.length > 1 ? 10 : 1;
  if (['.', '?', '!'].includes(g1[g1.length - 1].s)) score -= 20;
  if (['.', '?', '!'].includes(g2[0].s)) score -= g2.length > 1 ? 20 : 1;
  return score - (g1.length + g2.length);
}

/**
 * SHAP's partition_tree: merge the best-scoring adjacent pair (the first on ties) until one
 * group is left. Rows are [left, right, -score + 10, size]; leaves are 0..M-1 and the j-th merge
 * is node M + j.
 */
export function partitionTree(tokens: string[], specialTokens: string[] = []): ClusterRow[] {
  const special = new Set(specialTokens);
  const M = tokens.length;
  let groups = tokens.map((s, i) => ({ toks: [{ s, balanced: !(s in OPENERS || s in CLOSERS) }] as Tok[], index: i }));
  const rows: ClusterRow[] = [];
  const sizeOf = (i: number) => (i >= M ? rows[i - M][3] : 1);
  while (groups.length > 1) {
    let best = 0;
    let bestScore = -Infinity;
    for (let i = 0; i < groups.length - 1; i++) {
      const s = mergeScore(groups[i].toks, groups[i + 1].toks, special);
      if (s > bestScore || i === 0) [best, bestScore] = [i, s];
    }
    const [l, r] = [groups[best], groups[best + 1]];
    rows.push([l.index, r.index, -bestScore, sizeOf(l.index) + sizeOf(r.index)]);
    const merged = { toks: [...l.toks, ...r.toks], index: M + rows.length - 1 };
    // balance an opener with its closer
    if (merged.toks[0].s in OPENERS && r.toks[r.toks.length - 1].s === OPENERS[merged.toks[0].s]) {
      merged.toks[0].balanced = true;
      r.toks[r.toks.length - 1].balanced = true;
    }
    groups = [...groups.slice(0, best), merged, ...groups.slice(best + 2)];
  }
  // negative distances mean "never split" in SHAP; +10 keeps word pieces tight
  return rows.map(([a, b, d, s]) => [a, b, d + 10, s]);
}

/**
 * The Text masker's clustering: segments (each token's text with the whitespace up to the next
 * token) become partition_tree tokens, a segment that continues a word (the previous segment
 * does not end in a non-word character and this one starts with a letter) marked '##'; the
 * heights are then the cluster sizes over the largest (so every cluster can be split).
 */
export function textClustering(segments: string[], specialTokens: string[] = []): ClusterRow[] {
  const tokens: string[] = [];
  segments.forEach((seg, i) => {
    const continues = i > 0 && !/[^\p{L}\p{N}_]$/u.test(segments[i - 1]) && /^[A-Za-z]/.test(seg) && tokens[i - 1] !== '';
    tokens.push(continues ? '##' + seg.trim() : seg.trim());
  });
  const rows = partitionTree(tokens, specialTokens);
  const top = Math.max(1, ...rows.map((r) => r[3]));
  return rows.map(([a, b, , s]) => [a, b, s / top, s]);
}

/**
 * The text segment of each feature, in the given order, as the Text masker cuts them: from its
 * first token's start to its last token's end or the next feature's start, whichever is later;
 * special tokens give ''. Without the text (token ids), the token strings stand in, with
 * byte-level BPE ('Ġ') and SentencePiece ('▁') space markers turned into spaces.
 */
export function featureSegments(text: string | null, tokens: Token[], features: Feature[]): string[] {
  return features.map((f, k) => {
    const first = tokens[Math.min(...f.tokens)];
    const last = tokens[Math.max(...f.tokens)];
    if (f.tokens.every((t) => tokens[t].special)) return '';
    if (text === null || first.end <= first.start) return f.label.replace(/^[Ġ▁]/, ' ');
    const next = features[k + 1] ? tokens[Math.min(...features[k + 1].tokens)].start : last.end;
    return text.slice(first.start, Math.max(last.end, next));
  });
}

// ---------------------------------------------------------------------------------------------
// Owen values

interface Item {
  m00: Uint8Array;
  f00: number;
  f11: number;
  node: number;
  weight: number;
}

/** A binary min-heap on (priority, insertion order). */
function heap() {
  const a: { p: number; seq: number; item: Item }[] = [];
  let seq = 0;
  const less = (i: number, j: number) => a[i].p < a[j].p || (a[i].p === a[j].p && a[i].seq < a[j].seq);
  const swap = (i: number, j: number) => ([a[i], a[j]] = [a[j], a[i]]);
  return {
    get size() {
      return a.length;
    },
    push(p: number, item: Item) {
      a.push({ p, seq: seq++, item });
      for (let i = a.length - 1; i > 0 && less(i, (i - 1) >> 1); i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
    },
    pop(): Item {
      const top = a[0].item;
      const last = a.pop()!;
      if (a.length > 0) {
        a[0] = last;
        for (let i = 0; ; ) {
          const [l, r] = [2 * i + 1, 2 * i + 2];
          let m = i;
          if (l < a.length && less(l, m)) m = l;
          if (r < a.length && less(r, m)) m = r;
          if (m === i) break;
          swap(i, m);
          i = m;
        }
      }
      return top;
    },
  };
}

export interface OwenOptions {
  /** Evaluation budget, v(∅) and v(N) included (SHAP's max_evals, default 500). */
  maxEvals?: number;
  /** Nodes expanded per batch of evaluations (default 32: 64 coalitions). */
  batchNodes?: number;
}

/** Owen values of v over n players for a binary hierarchy (ClusterRow[] with n - 1 rows). */
export async function owenValues(v: ValueFn, n: number, clustering: ClusterRow[], opts: OwenOptions = {}): Promise<GameResult> {
  const maxEvals = intOption(opts.maxEvals, 500, 2, 'partition-shap: samples (evaluation budget)');
  const batchNodes = opts.batchNodes ?? 32;
  const M = n;
  if (clustering.length !== Math.max(0, M - 1)) throw new RangeError(`owenValues: a hierarchy over ${M} players has ${M - 1} merges, got ${clustering.length}`);
  const nodes = 2 * M - 1;
  const leaves: number[][] = Array.from({ length: M }, (_, i) => [i]);
  clustering.forEach(([l, r]) => leaves.push([...leaves[l], ...leaves[r]]));

  const ends = new Uint8Array(2 * M).fill(1, M); // empty, full
  const [f00, f11] = await evaluate(v, ends, 2, 'partition-shap');
  const dvalues = new Float64Array(Math.max(nodes, 1));
  const q = heap();
  q.push(0, { m00: new Uint8Array(M), f00, f11, node: nodes - 1, weight: 1 });
  const budget = maxEvals - 2;
  let evals = 0;
  let truncated = false;
  while (q.size > 0) {
    const batch: { it: Item; l: number; r: number; m10: Uint8Array; m01: Uint8Array }[] = [];
    while (q.size > 0 && batch.length < batchNodes && evals + 2 * (batch.length + 1) <= budget) {
      const it = q.pop();
      const row = it.node >= M ? clustering[it.node - M] : null;
      if (!row || row[2] < 0) {
        dvalues[it.node] += (it.f11 - it.f00) * it.weight; // a leaf, or a cluster not to be split
        continue;
      }
      const [l, r] = row;
      const m10 = it.m00.slice();
      for (const i of leaves[l]) m10[i] = 1;
      const m01 = it.m00.slice();
      for (const i of leaves[r]) m01[i] = 1;
      batch.push({ it, l, r, m10, m01 });
    }
    if (batch.length === 0) {
      if (q.size > 0 && evals + 2 > budget) {
        // Budget spent: what is left stays on the internal nodes.
        while (q.size > 0) {
          const it = q.pop();
          if (it.node >= M) truncated = true;
          dvalues[it.node] += (it.f11 - it.f00) * it.weight;
        }
      }
      continue;
    }
    const rows = new Uint8Array(2 * batch.length * M);
    batch.forEach((b, i) => {
      rows.set(b.m10, 2 * i * M);
      rows.set(b.m01, (2 * i + 1) * M);
    });
    const f = await evaluate(v, rows, 2 * batch.length, 'partition-shap');
    evals += 2 * batch.length;
    batch.forEach(({ it, l, r, m10, m01 }, i) => {
      const [f10, f01] = [f[2 * i], f[2 * i + 1]];
      const w = it.weight / 2;
      // sibling absent: contexts (m00 -> m10) for L, (m00 -> m01) for R; sibling present: (m01 -> N) for L, (m10 -> N) for R
      q.push(-Math.abs(f10 - it.f00) * w, { m00: it.m00, f00: it.f00, f11: f10, node: l, weight: w });
      q.push(-Math.abs(f01 - it.f00) * w, { m00: it.m00, f00: it.f00, f11: f01, node: r, weight: w });
      q.push(-Math.abs(it.f11 - f01) * w, { m00: m01, f00: f01, f11: it.f11, node: l, weight: w });
      q.push(-Math.abs(it.f11 - f10) * w, { m00: m10, f00: f10, f11: it.f11, node: r, weight: w });
    });
  }
  // SHAP's lower_credit: credit on a node goes to its children in proportion to their sizes.
  const values = Float64Array.from(dvalues);
  const size = (i: number) => (i >= M ? clustering[i - M][3] : 1);
  for (let i = nodes - 1; i >= M; i--) {
    const [l, r, , s] = clustering[i - M];
    values[l] += (values[i] * size(l)) / s;
    values[r] += (values[i] * size(r)) / s;
  }
  return {
    values: Array.from(values.subarray(0, M)),
    fFull: f11,
    fEmpty: f00,
    quality: {},
    settings: { samples: maxEvals, evaluationsUsed: evals + 2, exact: !truncated },
  };
}

export const partitionShap = perturbationMethod(
  'partition-shap',
  "Owen values over SHAP's text hierarchy of the features, summing exactly to f(x) - f(baseline) (--samples 500: evaluation budget)",
  async (game, ctx) => {
    const { features, input } = ctx;
    // Build the hierarchy over the features in text order, then map leaves back to feature indices.
    const order = features.map((f, k) => [Math.min(...f.tokens), k]).sort((a, b) => a[0] - b[0]).map(([, k]) => k);
    const segments = featureSegments(input.text, input.tokens, order.map((k) => features[k]));
    const M = features.length;
    const clustering: ClusterRow[] = textClustering(segments).map(([l, r, d, s]) => [l < M ? order[l] : l, r < M ? order[r] : r, d, s]);
    const r = await owenValues(game.value, game.n, clustering, { maxEvals: ctx.options.samples });
    return { ...r, settings: { ...r.settings, hierarchy: 'SHAP Text masker partition_tree' }, extra: { clustering } };
  },
);
