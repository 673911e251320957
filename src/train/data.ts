/**
 * Labelled text for classifiers: TSV files (GLUE layout: a header row, a `label` column and a
 * `sentence` or `content` column), held-out splits, and batches grouped by length.
 *
 * Decision: batches are padded to a few fixed lengths (multiples of 8), and examples of
 * similar length are batched together (sorted within windows of shuffled examples, the
 * "bucket iterator"): every distinct [batch, seq] shape is one compiled graph and one ONNX
 * Runtime session, so few shapes keep session creation rare, and little padding keeps the
 * work per example low.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fail } from '../errors.js';
import { type Rng, shuffleInPlace } from './rng.js';

export interface LabelledTexts {
  texts: string[];
  labels: number[];
}

export interface ReadTsvOptions {
  /** Text column names accepted, first match wins (default: sentence, content, text). */
  textColumns?: string[];
  labelColumn?: string;
}

/**
 * Read a labelled TSV. Errors (MISSING_FILE, BAD_INPUT) name the file, the line and, for a
 * missing column, the columns the header has.
 *
 * @example
 * const { texts, labels } = readLabelledTsv('../shared/data/sst2/dev.tsv');
 */
export function readLabelledTsv(path: string, opts: ReadTsvOptions = {}): LabelledTexts & { textColumn: string } {
  const r = readTsv(path, { ...opts, requireLabels: true });
  return { texts: r.texts, labels: r.labels!, textColumn: r.textColumn };
}

/** Read a TSV whose label column may be absent (`labels` is then null). */
export function readTsv(path: string, opts: ReadTsvOptions & { requireLabels?: boolean } = {}): { texts: string[]; labels: number[] | null; textColumn: string } {
  if (!existsSync(path)) fail('MISSING_FILE', `no such file: ${path}`, { hint: 'Pass a TSV file with a header row and label and sentence columns' });
  if (statSync(path).isDirectory()) fail('BAD_INPUT', `${path} is a folder, not a TSV file`);
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) fail('BAD_INPUT', 'the file is empty', { where: path, hint: 'A TSV needs a header row (label, sentence) and one example per line' });
  const header = lines[0]!.replace(/^\uFEFF/, '').split('\t').map((h) => h.trim());
  const textColumns = opts.textColumns ?? ['sentence', 'content', 'text'];
  const labelColumn = opts.labelColumn ?? 'label';
  const li = header.indexOf(labelColumn);
  const ti = header.findIndex((h) => textColumns.includes(h));
  const needLabels = opts.requireLabels ?? true;
  if ((needLabels && li < 0) || ti < 0) {
    const missing = [needLabels && li < 0 ? `'${labelColumn}'` : '', ti < 0 ? `a text column (${textColumns.map((c) => `'${c}'`).join(' or ')})` : ''].filter(Boolean);
    fail('BAD_INPUT', `the header has no ${missing.join(' and no ')} column; the columns found are ${header.map((h) => `'${h}'`).join(', ')}`, {
      where: path,
      hint: 'The first line must name the columns, tab-separated, e.g. label<TAB>sentence',
    });
  }
  const texts: string[] = [];
  const labels: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const cells = line.split('\t');
    const text = cells[ti] ?? '';
    if (text.trim() === '') fail('BAD_INPUT', `line ${i + 1}: the text is empty`, { where: path });
    texts.push(text);
    if (li >= 0) {
      const label = cells[li]?.trim() ?? '';
      if (!/^\d+$/.test(label)) fail('BAD_INPUT', `line ${i + 1}: label ${JSON.stringify(label)} is not a non-negative integer`, { where: path });
      labels.push(Number(label));
    }
  }
  if (texts.length === 0) fail('BAD_INPUT', 'the file has a header but no examples', { where: path });
  return { texts, labels: li >= 0 ? labels : null, textColumn: header[ti]! };
}

/** Check that every label is a class id of the model (0..numLabels-1). */
export function checkLabels(labels: readonly number[], numLabels: number, where: string): void {
  const bad = labels.findIndex((l) => !Number.isInteger(l) || l < 0 || l >= numLabels);
  if (bad >= 0) {
    fail('BAD_INPUT', `example ${bad + 1} has label ${labels[bad]}, outside the model's labels 0..${numLabels - 1}`, {
      where,
      hint: numLabels === 2 ? 'Labels must be 0 (negative) or 1 (positive)' : undefined,
    });
  }
}

/** Split off a random fraction (or count) of the examples, e.g. for early stopping. */
export function splitHoldout<T extends LabelledTexts>(data: T, holdout: number, rng: Rng): { train: LabelledTexts; heldOut: LabelledTexts } {
  const n = data.texts.length;
  const k = holdout < 1 ? Math.round(n * holdout) : Math.round(holdout);
  if (k <= 0 || k >= n) fail('INVALID_ARGUMENT', `cannot hold out ${k} of ${n} examples`);
  const order = shuffleInPlace([...Array(n).keys()], rng);
  const pick = (idx: number[]): LabelledTexts => ({ texts: idx.map((i) => data.texts[i]!), labels: idx.map((i) => data.labels[i]!) });
  return { heldOut: pick(order.slice(0, k).sort((a, b) => a - b)), train: pick(order.slice(k).sort((a, b) => a - b)) };
}

/**
 * Hold out whole sentences from a phrase-level data set such as SST-2, whose training split
 * holds every sentence together with many of its sub-phrases: `count` examples of at least
 * `minWords` words are held out, and dropped from training are the examples that contain a
 * held-out one, and those that are a contiguous run of at least `minRunWords` of a held-out
 * one's words (short runs such as "the film" are shared by many sentences and say little
 * about any one). Validation then measures what the model does on text it has seen no large
 * part of, as a dev set of unseen sentences does; a random split leaves most held-out phrases
 * inside training sentences.
 */
export function holdOutSentences(data: LabelledTexts, count: number, rng: Rng, opts: { minWords?: number; minRunWords?: number } = {}): { train: LabelledTexts; heldOut: LabelledTexts; dropped: number } {
  const minWords = opts.minWords ?? 10;
  const minRun = opts.minRunWords ?? 3;
  const words = data.texts.map((t) => t.trim().toLowerCase().split(/\s+/));
  const candidates = shuffleInPlace([...words.keys()].filter((i) => words[i]!.length >= minWords), rng);
  if (candidates.length < count) fail('INVALID_ARGUMENT', `only ${candidates.length} examples have ${minWords} words or more; cannot hold out ${count}`);
  const held = new Set(candidates.slice(0, count));
  const heldTexts = new Set([...held].map((i) => words[i]!.join(' ')));
  // Every run of at least minRun words of the held-out sentences.
  const runs = new Set<string>();
  for (const i of held) {
    const w = words[i]!;
    for (let a = 0; a < w.length; a++) for (let b = a + minRun; b <= w.length; b++) runs.add(w.slice(a, b).join(' '));
  }
  const containsHeld = (w: string[]) => {
    for (let a = 0; a + minWords <= w.length; a++) for (let b = a + minWords; b <= w.length; b++) if (heldTexts.has(w.slice(a, b).join(' '))) return true;
    return false;
  };
  const train: LabelledTexts = { texts: [], labels: [] };
  const heldOut: LabelledTexts = { texts: [], labels: [] };
  let dropped = 0;
  data.texts.forEach((t, i) => {
    if (held.has(i)) {
      heldOut.texts.push(t);
      heldOut.labels.push(data.labels[i]!);
    } else if (runs.has(words[i]!.join(' ')) || containsHeld(words[i]!)) dropped++;
    else {
      train.texts.push(t);
      train.labels.push(data.labels[i]!);
    }
  });
  return { train, heldOut, dropped };
}

/** The padded length of a sequence of `n` tokens: the next multiple of `multiple`, at most `max`. */
export function bucketLength(n: number, multiple: number, max: number): number {
  return Math.min(max, Math.ceil(n / multiple) * multiple);
}

/**
 * Batches of example indices for one epoch: shuffle, sort by length within windows of
 * `window` batches, cut into batches, shuffle the batches.
 */
export function lengthGroupedBatches(lengths: readonly number[], batchSize: number, rng: Rng, window = 50): number[][] {
  const order = shuffleInPlace([...lengths.keys()], rng);
  const batches: number[][] = [];
  const span = batchSize * window;
  for (let s = 0; s < order.length; s += span) {
    const chunk = order.slice(s, s + span).sort((a, b) => lengths[a]! - lengths[b]!);
    for (let b = 0; b < chunk.length; b += batchSize) batches.push(chunk.slice(b, b + batchSize));
  }
  return shuffleInPlace(batches, rng);
}
