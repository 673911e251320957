/**
 * Bag-of-words features for global surrogates: each text becomes the set of words (and, with
 * `ngrams: 2`, adjacent word pairs) it contains — binary presence, not counts — so a linear
 * coefficient or a tree split reads as "the text contains 'great'".
 *
 * Decisions:
 * - Lower-cased; a token is a run of letters/digits (inner apostrophes kept: "don't", "n't")
 *   or a single punctuation character, so "!" and "?" can be features too.
 * - The vocabulary is built from the fit part only (the held-out part must not leak into the
 *   surrogate); it keeps n-grams found in at least `minCount` texts, the `maxFeatures` most
 *   frequent, ties broken alphabetically so the column order is reproducible.
 * - A matrix is stored by rows as sorted column indices (CSR without values), which is what
 *   both fitting cores need; dense `number[][]` is accepted by the cores for tests.
 */
import { fail } from '../errors.js';

/** Row i has value `values[i][k]` (1 where `values` is absent) at column `indices[i][k]`. */
export interface FeatureMatrix {
  nFeatures: number;
  indices: Int32Array[];
  values?: Float64Array[];
}

export interface VocabularyOptions {
  /** 1: words; 2: words and adjacent word pairs. Default 1. */
  ngrams?: 1 | 2;
  /** Least number of texts a feature must occur in. Default 2. */
  minCount?: number;
  /** Most features kept (the most frequent). Default 5000. */
  maxFeatures?: number;
}

export interface Vocabulary {
  /** Feature names in column order: "great", or "not good" for a bigram. */
  names: string[];
  /** Number of texts (of those it was built from) that contain each feature. */
  documentFrequency: number[];
  ngrams: 1 | 2;
  minCount: number;
  maxFeatures: number;
}

const TOKEN = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu;

/** Lower-cased word and punctuation tokens: "Not GOOD!" → ["not", "good", "!"]. */
export function tokenizeWords(text: string): string[] {
  return text.toLowerCase().match(TOKEN) ?? [];
}

/** The distinct n-grams of one text (unigrams, plus "a b" bigrams when ngrams is 2). */
export function textNgrams(text: string, ngrams: 1 | 2 = 1): Set<string> {
  const words = tokenizeWords(text);
  const out = new Set(words);
  if (ngrams === 2) for (let i = 1; i < words.length; i++) out.add(`${words[i - 1]} ${words[i]}`);
  return out;
}

export function buildVocabulary(texts: string[], opts: VocabularyOptions = {}): Vocabulary {
  const ngrams = opts.ngrams ?? 1;
  const minCount = opts.minCount ?? 2;
  const maxFeatures = opts.maxFeatures ?? 5000;
  if (ngrams !== 1 && ngrams !== 2) fail('BAD_INPUT', `ngrams must be 1 or 2, got ${String(ngrams)}`);
  if (!Number.isInteger(minCount) || minCount < 1) fail('BAD_INPUT', `minCount must be an integer >= 1, got ${minCount}`);
  if (!Number.isInteger(maxFeatures) || maxFeatures < 1) fail('BAD_INPUT', `maxFeatures must be an integer >= 1, got ${maxFeatures}`);
  const df = new Map<string, number>();
  for (const t of texts) for (const g of textNgrams(t, ngrams)) df.set(g, (df.get(g) ?? 0) + 1);
  const kept = [...df]
    .filter(([, c]) => c >= minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, maxFeatures);
  return { names: kept.map(([w]) => w), documentFrequency: kept.map(([, c]) => c), ngrams, minCount, maxFeatures };
}

/** Binary presence rows over `vocab`; n-grams outside the vocabulary are dropped. */
export function vectorize(texts: string[], vocab: Vocabulary): FeatureMatrix {
  const column = new Map(vocab.names.map((w, j) => [w, j]));
  const indices = texts.map((t) => {
    const cols: number[] = [];
    for (const g of textNgrams(t, vocab.ngrams)) {
      const j = column.get(g);
      if (j !== undefined) cols.push(j);
    }
    return Int32Array.from(cols).sort();
  });
  return { nFeatures: vocab.names.length, indices };
}

/** A dense matrix as a FeatureMatrix (zeros dropped). */
export function toFeatureMatrix(X: FeatureMatrix | number[][]): FeatureMatrix {
  if (!Array.isArray(X)) return X;
  const nFeatures = X.length > 0 ? X[0].length : 0;
  const indices: Int32Array[] = [];
  const values: Float64Array[] = [];
  X.forEach((row, i) => {
    if (row.length !== nFeatures) fail('BAD_INPUT', `row ${i} of X has ${row.length} columns, row 0 has ${nFeatures}`);
    const cols: number[] = [];
    const vals: number[] = [];
    row.forEach((v, j) => {
      if (!Number.isFinite(v)) fail('BAD_INPUT', `X[${i}][${j}] is ${v}, not a finite number`);
      if (v !== 0) {
        cols.push(j);
        vals.push(v);
      }
    });
    indices.push(Int32Array.from(cols));
    values.push(Float64Array.from(vals));
  });
  return { nFeatures, indices, values };
}

/** Column-major copy (CSC): for each feature, the rows where it is non-zero and the values. */
export function columns(X: FeatureMatrix): { rows: Int32Array[]; values: Float64Array[] } {
  const counts = new Int32Array(X.nFeatures);
  for (const r of X.indices) for (const j of r) counts[j]++;
  const rows = Array.from(counts, (c) => new Int32Array(c));
  const values = Array.from(counts, (c) => new Float64Array(c));
  const fill = new Int32Array(X.nFeatures);
  X.indices.forEach((r, i) => {
    const v = X.values?.[i];
    r.forEach((j, k) => {
      rows[j][fill[j]] = i;
      values[j][fill[j]] = v ? v[k] : 1;
      fill[j]++;
    });
  });
  return { rows, values };
}

/** Keep only the given rows. */
export function selectRows(X: FeatureMatrix, rows: number[]): FeatureMatrix {
  return { nFeatures: X.nFeatures, indices: rows.map((i) => X.indices[i]), values: X.values ? rows.map((i) => X.values![i]) : undefined };
}
