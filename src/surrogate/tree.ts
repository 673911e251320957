/**
 * A depth-limited classification tree (CART with the Gini criterion: Breiman, Friedman, Olshen
 * & Stone 1984, "Classification and Regression Trees", ch. 4) over presence features, the
 * tree global surrogate: its root-to-leaf paths read as rules ("if 'great' present and 'not'
 * absent → positive").
 *
 * Every feature is binary here (present where its value is non-zero), so a split is "present
 * / absent" and the best split of a node is found in one pass over its rows' non-zero entries:
 * count the classes among the rows where each feature is present, and the absent side is the
 * node's counts minus those. A split is taken when it lowers the weighted Gini impurity
 *     G(node) − (n_p/n)·G(present) − (n_a/n)·G(absent),    G = 1 − Σ_k p_k²,
 * by more than 1e-12; ties go to the lower feature index (the more frequent feature, in a
 * vocabulary's order), so a fit is deterministic. Nodes stop at `maxDepth`, when pure, or when
 * no split leaves `minLeaf` rows on both sides. Afterwards a split whose leaves all predict the
 * same class is collapsed (a Gini gain can separate 60/40 from 90/10 without changing a
 * prediction), unless `merge: false`.
 *
 * Why hand-written rather than ml-cart (mljs): ml-cart works on dense matrices and transposes
 * the node's whole matrix at every node (slow for thousands of word columns), stops a child
 * whenever its best gain equals its parent's (which cuts valid splits), and keeps no
 * per-leaf sample counts, which the rules report.
 */
import { fail } from '../errors.js';
import { toFeatureMatrix, type FeatureMatrix } from './features.js';
import { argmax } from './logistic.js';

export interface TreeOptions {
  /** Most splits on a root-to-leaf path. Default 4. */
  maxDepth?: number;
  /** Least rows in a leaf. Default 1. */
  minLeaf?: number;
  /** Number of classes; default max(y) + 1. */
  numClasses?: number;
  /**
   * Collapse a split whose leaves all predict the same class into one leaf (default true):
   * the predictions stay the same and the rules get shorter.
   */
  merge?: boolean;
  signal?: AbortSignal;
}

export interface TreeNode {
  /** Fit rows that reach this node. */
  n: number;
  /** [class] fit rows of each class here. */
  counts: number[];
  /** The majority class (the lowest index on ties). */
  prediction: number;
  gini: number;
  /** The split feature, for inner nodes; `present` and `absent` are then set. */
  feature?: number;
  /** Gini decrease of the split, G(node) minus the children's weighted Gini. */
  gain?: number;
  present?: TreeNode;
  absent?: TreeNode;
}

export interface TreeModel {
  kind: 'cart';
  numClasses: number;
  nFeatures: number;
  maxDepth: number;
  minLeaf: number;
  root: TreeNode;
  /** Splits on the longest root-to-leaf path (0: a single leaf). */
  depth: number;
  leaves: number;
}

const gini = (counts: ArrayLike<number>, n: number): number => {
  if (n === 0) return 0;
  let s = 0;
  for (let k = 0; k < counts.length; k++) s += (counts[k] / n) ** 2;
  return 1 - s;
};

/**
 * Fit a CART tree (Gini) on presence features.
 *
 * @example
 * const t = fitTree([[1, 0], [0, 1], [1, 1]], [1, 0, 1], { maxDepth: 2 });
 * predictTree(t, [[1, 0]]); // [1]
 */
export function fitTree(X: FeatureMatrix | number[][], y: ArrayLike<number>, opts: TreeOptions = {}): TreeModel {
  const M = toFeatureMatrix(X);
  const n = M.indices.length;
  if (n === 0) fail('BAD_INPUT', 'no rows to fit');
  if (y.length !== n) fail('BAD_INPUT', `X has ${n} rows but y has ${y.length} labels`);
  const maxDepth = opts.maxDepth ?? 4;
  const minLeaf = opts.minLeaf ?? 1;
  if (!Number.isInteger(maxDepth) || maxDepth < 0) fail('BAD_INPUT', `maxDepth must be an integer >= 0, got ${maxDepth}`);
  if (!Number.isInteger(minLeaf) || minLeaf < 1) fail('BAD_INPUT', `minLeaf must be an integer >= 1, got ${minLeaf}`);
  let maxLabel = 0;
  for (let i = 0; i < n; i++) maxLabel = Math.max(maxLabel, y[i]);
  const K = opts.numClasses ?? Math.max(2, maxLabel + 1);
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(y[i]) || y[i] < 0 || y[i] >= K) fail('BAD_INPUT', `label y[${i}] = ${y[i]} is not a class index in 0..${K - 1}`);
  }
  const p = M.nFeatures;
  const presentCounts = new Float64Array(p * K); // [feature][class], reused by every node
  const touched = new Uint8Array(p);

  function build(rows: Int32Array, depth: number): TreeNode {
    if (opts.signal?.aborted) fail('CANCELLED', 'surrogate fitting was cancelled');
    const m = rows.length;
    const counts = new Array<number>(K).fill(0);
    for (const i of rows) counts[y[i]]++;
    const node: TreeNode = { n: m, counts, prediction: argmax(counts), gini: gini(counts, m) };
    if (depth >= maxDepth || node.gini === 0 || m < 2 * minLeaf) return node;

    const used: number[] = [];
    for (const i of rows) {
      const idx = M.indices[i];
      const val = M.values?.[i];
      for (let k = 0; k < idx.length; k++) {
        if (val && val[k] === 0) continue;
        const j = idx[k];
        if (!touched[j]) {
          touched[j] = 1;
          used.push(j);
        }
        presentCounts[j * K + y[i]]++;
      }
    }
    used.sort((a, b) => a - b);
    let best = -1;
    let bestGain = 1e-12;
    const absent = new Float64Array(K);
    for (const j of used) {
      const pc = presentCounts.subarray(j * K, j * K + K);
      let np = 0;
      for (let k = 0; k < K; k++) np += pc[k];
      const na = m - np;
      if (np >= minLeaf && na >= minLeaf) {
        for (let k = 0; k < K; k++) absent[k] = counts[k] - pc[k];
        const gain = node.gini - (np / m) * gini(pc, np) - (na / m) * gini(absent, na);
        if (gain > bestGain) {
          bestGain = gain;
          best = j;
        }
      }
    }
    for (const j of used) {
      touched[j] = 0;
      presentCounts.fill(0, j * K, j * K + K);
    }
    if (best < 0) return node;

    const present: number[] = [];
    const rest: number[] = [];
    for (const i of rows) (hasFeature(M, i, best) ? present : rest).push(i);
    node.feature = best;
    node.gain = bestGain;
    node.present = build(Int32Array.from(present), depth + 1);
    node.absent = build(Int32Array.from(rest), depth + 1);
    return node;
  }

  const root = build(Int32Array.from({ length: n }, (_, i) => i), 0);
  if (opts.merge ?? true) merge(root);
  const shape = (t: TreeNode): { depth: number; leaves: number } => {
    if (t.feature === undefined) return { depth: 0, leaves: 1 };
    const a = shape(t.present!);
    const b = shape(t.absent!);
    return { depth: 1 + Math.max(a.depth, b.depth), leaves: a.leaves + b.leaves };
  };
  return { kind: 'cart', numClasses: K, nFeatures: p, maxDepth, minLeaf, root, ...shape(root) };
}

/** Collapse subtrees whose leaves all predict one class; returns that class, or -1 when mixed. */
function merge(t: TreeNode): number {
  if (t.feature === undefined) return t.prediction;
  const a = merge(t.present!);
  const b = merge(t.absent!);
  if (a >= 0 && a === b) {
    delete t.feature;
    delete t.gain;
    delete t.present;
    delete t.absent;
    t.prediction = a;
    return a;
  }
  return -1;
}

function hasFeature(M: FeatureMatrix, row: number, feature: number): boolean {
  const idx = M.indices[row];
  // indices are sorted: binary search
  let lo = 0;
  let hi = idx.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (idx[mid] === feature) return M.values ? M.values[row][mid] !== 0 : true;
    if (idx[mid] < feature) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** The leaf each row reaches. */
export function treeLeaf(tree: TreeModel, X: FeatureMatrix, row: number): TreeNode {
  let t = tree.root;
  while (t.feature !== undefined) t = hasFeature(X, row, t.feature) ? t.present! : t.absent!;
  return t;
}

export function predictTree(tree: TreeModel, X: FeatureMatrix | number[][]): number[] {
  const M = toFeatureMatrix(X);
  return M.indices.map((_, i) => treeLeaf(tree, M, i).prediction);
}

export interface TreeRule {
  /** The path's tests, root first. */
  conditions: { feature: string; present: boolean }[];
  /** The leaf's class index. */
  prediction: number;
  label: string;
  /** Fit rows in the leaf. */
  n: number;
  /** Share of the leaf's fit rows in its predicted class. */
  purity: number;
  /** `if "great" present and "not" absent → positive (n=120, purity 0.93)` */
  text: string;
}

/** One rule per leaf, in depth-first order (present branch first). */
export function treeRules(tree: TreeModel, featureNames: string[], labels: string[]): TreeRule[] {
  const rules: TreeRule[] = [];
  const walk = (t: TreeNode, path: { feature: string; present: boolean }[]) => {
    if (t.feature !== undefined) {
      const f = featureNames[t.feature] ?? `#${t.feature}`;
      walk(t.present!, [...path, { feature: f, present: true }]);
      walk(t.absent!, [...path, { feature: f, present: false }]);
      return;
    }
    const label = labels[t.prediction] ?? String(t.prediction);
    const purity = t.n > 0 ? t.counts[t.prediction] / t.n : 0;
    const cond = path.length === 0 ? 'always' : `if ${path.map((c) => `${JSON.stringify(c.feature)} ${c.present ? 'present' : 'absent'}`).join(' and ')}`;
    rules.push({ conditions: path, prediction: t.prediction, label, n: t.n, purity, text: `${cond} → ${label} (n=${t.n}, purity ${purity.toFixed(2)})` });
  };
  walk(tree.root, []);
  return rules;
}

/** Gini importance (Breiman 1984): each feature's impurity decrease, weighted by its nodes' share of rows, normalised to sum 1. */
export function treeImportance(tree: TreeModel): number[] {
  const imp = new Array<number>(tree.nFeatures).fill(0);
  const walk = (t: TreeNode) => {
    if (t.feature === undefined) return;
    imp[t.feature] += (t.n / tree.root.n) * t.gain!;
    walk(t.present!);
    walk(t.absent!);
  };
  walk(tree.root);
  const total = imp.reduce((a, b) => a + b, 0);
  return total > 0 ? imp.map((v) => v / total) : imp;
}
