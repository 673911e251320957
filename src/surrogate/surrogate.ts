/**
 * Global surrogates (distillation-based explanations, issue 6): label a set of texts with the
 * model, fit an interpretable model — a sparse linear model over words, or a shallow tree of
 * word tests — to the MODEL's predictions (not to gold labels), and say how far to trust it:
 * its fidelity, the share of held-out texts on which it agrees with the model (Craven &
 * Shavlik 1996, "Extracting tree-structured representations of trained networks"; Guidotti et
 * al. 2018, "A survey of methods for explaining black box models", §5: global surrogates).
 *
 * Decisions:
 * - One seeded shuffle picks the `maxExamples` texts and splits them into fit and test parts,
 *   so a seed reproduces the whole report; the vocabulary comes from the fit part only.
 * - Fidelity is reported on both parts: a surrogate that agrees on the fit part but not on
 *   the held-out part has memorised the model's labels, not described it.
 * - Gold labels, where given, yield the surrogate's and the model's accuracy on the held-out
 *   part; they are never used for fitting.
 * - The report is plain data (JSON-serialisable); rendering lives in render.ts.
 */
import { fail } from '../errors.js';
import type { Model } from '../models/model.js';
import { uniform } from '../util/random.js';
import { buildVocabulary, selectRows, vectorize, type FeatureMatrix } from './features.js';
import { argmax, fitL1Logistic, predictLinear } from './logistic.js';
import { fitTree, predictTree, treeImportance, treeRules, type TreeRule } from './tree.js';

export const SURROGATE_KINDS = ['linear', 'tree'] as const;
export type SurrogateKind = (typeof SURROGATE_KINDS)[number];
export const SURROGATE_FORMAT = 'glassbox.surrogate.v1';

export interface SurrogateProgress {
  stage: 'label' | 'fit';
  done: number;
  total: number;
}

export interface SurrogateOptions {
  /** 'linear' (L1 logistic regression, default) or 'tree' (CART). */
  kind?: SurrogateKind;
  /** Share of the texts held out to measure fidelity. Default 0.2; 0 fits on everything. */
  testFraction?: number;
  /** Seed of the subsample and the split. Default 0. */
  seed?: number;
  /** Use at most this many texts (a seeded random subset). Default: all. */
  maxExamples?: number;
  /** linear: λ of the L1 penalty on the mean log-loss. Default 0.001. */
  l1?: number;
  /** tree: most splits on a path. Default 4. */
  maxDepth?: number;
  /** tree: least fit texts in a leaf. Default 5 (rules about one or two texts are noise). */
  minLeaf?: number;
  /** 1: words; 2: words and adjacent word pairs. Default 1. */
  ngrams?: 1 | 2;
  /** Least number of fit texts a feature must occur in. Default 2. */
  minCount?: number;
  /** Most features (the most frequent). Default 5000. */
  maxFeatures?: number;
  /** Features listed per class. Default 10. */
  topK?: number;
  /** Gold class indices aligned with the texts (null where unknown), for accuracy only. */
  gold?: (number | null)[];
  /** Texts per forward pass when labelling. Default 32. */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: SurrogateProgress) => void;
}

export interface WeightedFeature {
  feature: string;
  weight: number;
}

export interface SurrogateReport {
  format: typeof SURROGATE_FORMAT;
  kind: SurrogateKind;
  /** The model's id, or null when fitted to given labels. */
  model: string | null;
  /** Class names, by index. */
  classes: string[];
  counts: {
    /** Texts given. */
    texts: number;
    /** Texts used (at most maxExamples); fit + test. */
    used: number;
    fit: number;
    test: number;
    /** [class] how often the model predicted each class, per part. */
    predicted: { fit: number[]; test: number[] };
  };
  features: { ngrams: 1 | 2; minCount: number; maxFeatures: number; vocabulary: number };
  /**
   * Share of texts on which the surrogate predicts what the model predicts (test: null without
   * a test part). `majority`: the same on the test part for the constant surrogate that always
   * says the model's most frequent class in the fit part — the floor a surrogate must beat.
   */
  fidelity: { test: number | null; fit: number; majority: number | null };
  /** Against gold labels, on the test part (the fit part when there is no test part); null without gold. */
  accuracy: { part: 'test' | 'fit'; n: number; surrogate: number; model: number } | null;
  /**
   * Per class, the features that most push toward it. linear: the largest positive
   * coefficients of the class's one-vs-rest model. tree: the words whose presence is tested on
   * paths to leaves of that class, weighted by the fit texts those leaves hold.
   */
  topFeatures: { label: string; features: WeightedFeature[] }[];
  linear: { lambda: number; nonZero: number; intercepts: number[]; sweeps: number; converged: boolean; kktViolation: number } | null;
  tree: { depth: number; leaves: number; importance: { feature: string; importance: number }[] } | null;
  /** tree: one rule per leaf; linear: empty. */
  rules: TreeRule[];
  settings: {
    testFraction: number;
    seed: number;
    maxExamples: number | null;
    l1: number | null;
    maxDepth: number | null;
    minLeaf: number | null;
    topK: number;
  };
}

/** Fisher-Yates with the seeded generator: a permutation of 0..n-1. */
function permutation(n: number, seed: number): number[] {
  const rand = uniform(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

const agreement = (a: number[], b: number[]) => (a.length === 0 ? 0 : a.reduce((s, v, i) => s + (v === b[i] ? 1 : 0), 0) / a.length);

function classCounts(labels: number[], K: number): number[] {
  const c = new Array<number>(K).fill(0);
  for (const l of labels) c[l]++;
  return c;
}

function checkNumber(v: number, name: string, ok: (v: number) => boolean, what: string): void {
  if (typeof v !== 'number' || !ok(v)) fail('BAD_INPUT', `${name} must be ${what}, got ${String(v)}`);
}

/** Class predictions (argmax of the logits) of a sequence classifier, batched. */
export async function labelTexts(
  model: Model,
  texts: string[],
  opts: { batchSize?: number; signal?: AbortSignal; onProgress?: (p: SurrogateProgress) => void } = {},
): Promise<number[]> {
  if (model.head !== 'sequence_classification') {
    fail('UNSUPPORTED_MODEL', `a surrogate needs a sequence classifier, ${model.id} is ${model.className} (${model.head})`, {
      hint: 'Use a *ForSequenceClassification model',
    });
  }
  const tok = model.tokenizer;
  if (!tok) fail('BAD_TOKENIZER', `${model.folder} has no tokenizer.json, so texts cannot be labelled`);
  const batchSize = opts.batchSize ?? 32;
  checkNumber(batchSize, 'batchSize', (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1');
  // Texts of similar length share a batch: less padding, same predictions (padding is masked).
  const order = Array.from(texts.keys()).sort((a, b) => texts[a].length - texts[b].length || a - b);
  const out = new Array<number>(texts.length);
  const K = model.config.numLabels;
  for (let start = 0; start < order.length; start += batchSize) {
    if (opts.signal?.aborted) fail('CANCELLED', 'labelling was cancelled');
    const rows = order.slice(start, start + batchSize);
    // Padded here rather than by encodeBatch: many tokenizer.json files name no pad token, and
    // the id under a 0 in the attention mask does not matter.
    const enc = rows.map((i) => tok.encode(texts[i], { maxLength: model.config.maxPositions, truncation: true }));
    const width = Math.max(...enc.map((e) => e.ids.length));
    const padId = tok.padId ?? model.config.padTokenId ?? 0;
    const padded = (xs: number[], v: number) => [...xs, ...new Array<number>(width - xs.length).fill(v)];
    const { logits } = await model.forward(
      {
        inputIds: enc.map((e) => padded(e.ids, padId)),
        attentionMask: enc.map((e) => padded(e.attentionMask, 0)),
        tokenTypeIds: enc.map((e) => padded(e.typeIds, 0)),
      },
      { signal: opts.signal },
    );
    const d = logits.data as Float32Array; // [batch, num_labels]
    rows.forEach((i, r) => (out[i] = argmax(d.subarray(r * K, (r + 1) * K))));
    opts.onProgress?.({ stage: 'label', done: Math.min(start + batchSize, order.length), total: order.length });
  }
  return out;
}

/**
 * Label `texts` with the model and fit a global surrogate to its predictions.
 *
 * @example
 * const report = await fitSurrogate(model, texts, { kind: 'tree', maxDepth: 3, seed: 1 });
 * report.fidelity.test; // e.g. 0.91: the tree agrees with the model on 91% of held-out texts
 * report.rules.map((r) => r.text); // ['if "great" present → positive (n=120, purity 0.93)', ...]
 */
export async function fitSurrogate(model: Model, texts: string[], opts: SurrogateOptions = {}): Promise<SurrogateReport> {
  const { used } = validate(texts, opts);
  const chosen = used.map((i) => texts[i]);
  const predictions = await labelTexts(model, chosen, opts);
  const K = model.config.numLabels;
  const classes = Array.from({ length: K }, (_, k) => model.config.id2label[k] ?? `LABEL_${k}`);
  return fitOnLabels(texts.length, used, chosen, predictions, classes, opts, model.id);
}

/**
 * The fitting core without a model: fit a surrogate to given `labels` (class indices, one per
 * text) exactly as fitSurrogate fits it to a model's predictions.
 */
export function fitSurrogateToLabels(texts: string[], labels: number[], classes: string[], opts: SurrogateOptions = {}): SurrogateReport {
  if (labels.length !== texts.length) fail('BAD_INPUT', `${texts.length} texts but ${labels.length} labels`);
  labels.forEach((l, i) => {
    if (!Number.isInteger(l) || l < 0 || l >= classes.length) fail('BAD_INPUT', `label ${l} of text ${i} is not a class index in 0..${classes.length - 1}`);
  });
  const { used } = validate(texts, opts);
  return fitOnLabels(texts.length, used, used.map((i) => texts[i]), used.map((i) => labels[i]), classes, opts, null);
}

function validate(texts: string[], opts: SurrogateOptions): { used: number[] } {
  if (!Array.isArray(texts) || texts.length === 0) fail('BAD_INPUT', 'no texts to fit a surrogate on');
  texts.forEach((t, i) => {
    if (typeof t !== 'string') fail('BAD_INPUT', `text ${i} is not a string`);
  });
  const kind = opts.kind ?? 'linear';
  if (!SURROGATE_KINDS.includes(kind)) fail('BAD_INPUT', `unknown surrogate kind '${String(kind)}'`, { hint: `Kinds: ${SURROGATE_KINDS.join(', ')}` });
  const f = opts.testFraction ?? 0.2;
  checkNumber(f, 'testFraction', (v) => v >= 0 && v < 1, 'a number in [0, 1)');
  const seed = opts.seed ?? 0;
  checkNumber(seed, 'seed', (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0');
  if (opts.maxExamples !== undefined) checkNumber(opts.maxExamples, 'maxExamples', (v) => Number.isInteger(v) && v >= 2, 'an integer >= 2');
  if (opts.gold !== undefined && opts.gold.length !== texts.length) fail('BAD_INPUT', `${texts.length} texts but ${opts.gold.length} gold labels`);
  const n = Math.min(texts.length, opts.maxExamples ?? Infinity);
  if (n < 2) fail('BAD_INPUT', `a surrogate needs at least 2 texts, got ${n}`);
  const used = permutation(texts.length, seed).slice(0, n);
  return { used };
}

function fitOnLabels(
  given: number,
  used: number[],
  texts: string[],
  labels: number[],
  classes: string[],
  opts: SurrogateOptions,
  modelId: string | null,
): SurrogateReport {
  const kind = opts.kind ?? 'linear';
  const testFraction = opts.testFraction ?? 0.2;
  const topK = opts.topK ?? 10;
  const K = classes.length;
  const n = texts.length;
  // The used texts are already in seeded random order: the first nTest are held out.
  const nTest = testFraction > 0 ? Math.min(n - 1, Math.max(1, Math.round(n * testFraction))) : 0;
  const testRows = Array.from({ length: nTest }, (_, i) => i);
  const fitRows = Array.from({ length: n - nTest }, (_, i) => nTest + i);

  const vocab = buildVocabulary(
    fitRows.map((i) => texts[i]),
    { ngrams: opts.ngrams, minCount: opts.minCount, maxFeatures: opts.maxFeatures },
  );
  const X = vectorize(texts, vocab);
  const Xfit = selectRows(X, fitRows);
  const Xtest: FeatureMatrix = selectRows(X, testRows);
  const yFit = fitRows.map((i) => labels[i]);
  const yTest = testRows.map((i) => labels[i]);
  opts.onProgress?.({ stage: 'fit', done: 0, total: 1 });

  let predictFit: number[];
  let predictTest: number[];
  let linear: SurrogateReport['linear'] = null;
  let tree: SurrogateReport['tree'] = null;
  let rules: TreeRule[] = [];
  let topFeatures: SurrogateReport['topFeatures'];
  if (kind === 'linear') {
    const m = fitL1Logistic(Xfit, yFit, { lambda: opts.l1, numClasses: K, signal: opts.signal });
    predictFit = predictLinear(m, Xfit);
    predictTest = predictLinear(m, Xtest);
    linear = { lambda: m.lambda, nonZero: m.nonZero, intercepts: m.intercepts, sweeps: m.sweeps, converged: m.converged, kktViolation: m.kktViolation };
    topFeatures = classes.map((label, c) => ({
      label,
      features: m.weights[c]
        .map((weight, j) => ({ feature: vocab.names[j], weight }))
        .filter((f) => f.weight > 0)
        .sort((a, b) => b.weight - a.weight)
        .slice(0, topK),
    }));
  } else {
    const t = fitTree(Xfit, yFit, { maxDepth: opts.maxDepth, minLeaf: opts.minLeaf ?? 5, numClasses: K, signal: opts.signal });
    predictFit = predictTree(t, Xfit);
    predictTest = predictTree(t, Xtest);
    rules = treeRules(t, vocab.names, classes);
    const importance = treeImportance(t)
      .map((importance, j) => ({ feature: vocab.names[j], importance }))
      .filter((f) => f.importance > 0)
      .sort((a, b) => b.importance - a.importance);
    tree = { depth: t.depth, leaves: t.leaves, importance };
    topFeatures = classes.map((label, c) => {
      const weight = new Map<string, number>();
      for (const r of rules) {
        if (r.prediction !== c) continue;
        for (const cond of r.conditions) if (cond.present) weight.set(cond.feature, (weight.get(cond.feature) ?? 0) + r.n);
      }
      const features = [...weight].map(([feature, w]) => ({ feature, weight: w })).sort((a, b) => b.weight - a.weight || (a.feature < b.feature ? -1 : 1));
      return { label, features: features.slice(0, topK) };
    });
  }
  opts.onProgress?.({ stage: 'fit', done: 1, total: 1 });

  let accuracy: SurrogateReport['accuracy'] = null;
  if (opts.gold) {
    const part = nTest > 0 ? 'test' : 'fit';
    const rows = part === 'test' ? testRows : fitRows;
    const surrogatePred = part === 'test' ? predictTest : predictFit;
    let count = 0;
    let s = 0;
    let m = 0;
    rows.forEach((row, k) => {
      const g = opts.gold![used[row]];
      if (g === null || g === undefined) return;
      if (!Number.isInteger(g) || g < 0 || g >= K) fail('BAD_INPUT', `gold label ${g} of text ${used[row]} is not a class index in 0..${K - 1}`);
      count++;
      if (surrogatePred[k] === g) s++;
      if (labels[row] === g) m++;
    });
    if (count > 0) accuracy = { part, n: count, surrogate: s / count, model: m / count };
  }

  return {
    format: SURROGATE_FORMAT,
    kind,
    model: modelId,
    classes,
    counts: { texts: given, used: n, fit: fitRows.length, test: nTest, predicted: { fit: classCounts(yFit, K), test: classCounts(yTest, K) } },
    features: { ngrams: vocab.ngrams, minCount: vocab.minCount, maxFeatures: vocab.maxFeatures, vocabulary: vocab.names.length },
    fidelity: {
      test: nTest > 0 ? agreement(predictTest, yTest) : null,
      fit: agreement(predictFit, yFit),
      majority: nTest > 0 ? agreement(yTest.map(() => argmax(classCounts(yFit, K))), yTest) : null,
    },
    accuracy,
    topFeatures,
    linear,
    tree,
    rules,
    settings: {
      testFraction,
      seed: opts.seed ?? 0,
      maxExamples: opts.maxExamples ?? null,
      l1: kind === 'linear' ? (opts.l1 ?? 0.001) : null,
      maxDepth: kind === 'tree' ? (opts.maxDepth ?? 4) : null,
      minLeaf: kind === 'tree' ? (opts.minLeaf ?? 5) : null,
      topK,
    },
  };
}
