/**
 * Running a sequence classifier over many texts: tokenise, batch by length, pad to a few fixed
 * lengths, run the forward graph, softmax. Shared by evaluation during training, the
 * `predict` command and the library's `predictTexts`.
 *
 * Forward programs are compiled once per [batch, seq] shape and model, and a partial last
 * batch is filled with copies of its first row (their outputs dropped), so a whole data set
 * runs in a handful of sessions.
 */
import { compile, type Program, runProgram } from '../engine/program.js';
import { fail } from '../errors.js';
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';
import { defaultExecutor } from '../runtime/index.js';
import type { Tokenizer } from '../tokenize/index.js';
import { bucketLength } from './data.js';

export interface ClassifyOptions {
  executor?: Executor;
  batchSize?: number;
  /** Sequences are padded to a multiple of this (default 8). */
  bucketMultiple?: number;
  /** Longest input in tokens, special tokens included; longer texts are truncated (default: the model's limit). */
  maxLength?: number;
  signal?: AbortSignal;
}

export interface Classified {
  /** Per example: class probabilities (softmax of the logits). */
  probabilities: number[][];
  logits: number[][];
}

const forwardPrograms = new WeakMap<Model, Map<string, Program>>();

function forwardProgram(model: Model, batch: number, seq: number): Program {
  let byShape = forwardPrograms.get(model);
  if (!byShape) forwardPrograms.set(model, (byShape = new Map()));
  const key = `${batch}x${seq}`;
  let p = byShape.get(key);
  if (!p) byShape.set(key, (p = compile(model.buildGraph(batch, seq).graph)));
  return p;
}

/** Token ids of each text (with [CLS] ... [SEP]), truncated to `maxLength`. */
export function encodeTexts(tokenizer: Tokenizer, texts: readonly string[], maxLength: number): number[][] {
  return texts.map((t, i) => {
    if (typeof t !== 'string' || t.trim() === '') fail('BAD_INPUT', `text ${i + 1} is empty`);
    return tokenizer.encode(t, { maxLength, truncation: true }).ids;
  });
}

/** Rows padded with `padId` on the right to `seq`, and `batch - rows.length` copies of the first row. */
export function padBatch(rows: readonly number[][], batch: number, seq: number, padId: number): { inputIds: number[][]; attentionMask: number[][] } {
  const inputIds: number[][] = [];
  const attentionMask: number[][] = [];
  for (let b = 0; b < batch; b++) {
    const r = rows[b < rows.length ? b : 0]!;
    const ids = r.slice(0, seq);
    const mask = ids.map(() => 1);
    while (ids.length < seq) {
      ids.push(padId);
      mask.push(0);
    }
    inputIds.push(ids);
    attentionMask.push(mask);
  }
  return { inputIds, attentionMask };
}

export function softmaxRow(z: ArrayLike<number>): number[] {
  let m = -Infinity;
  for (let i = 0; i < z.length; i++) m = Math.max(m, z[i]!);
  const e = Array.from(z, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * Logits and probabilities for already tokenised inputs.
 *
 * @example
 * const { probabilities } = await classifyIds(model, [[2, 17, 42, 3]]);
 */
export async function classifyIds(model: Model, ids: readonly number[][], opts: ClassifyOptions = {}): Promise<Classified> {
  const exec = opts.executor ?? defaultExecutor();
  const batchSize = opts.batchSize ?? 64;
  const multiple = opts.bucketMultiple ?? 8;
  const maxSeq = model.config.maxPositions;
  const padId = model.config.padTokenId ?? 0;
  const n = ids.length;
  const classes = model.config.numLabels;
  const logits: number[][] = new Array(n);
  // Longest first: the first batches fix the largest shapes, and similar lengths share a batch.
  const order = [...ids.keys()].sort((a, b) => ids[b]!.length - ids[a]!.length || a - b);
  for (let s = 0; s < n; s += batchSize) {
    const idx = order.slice(s, s + batchSize);
    const rows = idx.map((i) => ids[i]!);
    const longest = Math.max(...rows.map((r) => r.length));
    if (longest > maxSeq) fail('BAD_INPUT', `an input has ${longest} tokens, more than the model's ${maxSeq} positions`, { hint: 'Truncate it (maxLength)' });
    const seq = bucketLength(longest, multiple, maxSeq);
    const batch = n >= batchSize ? batchSize : n;
    const program = forwardProgram(model, batch, seq);
    const feeds = model.feeds(padBatch(rows, batch, seq, padId));
    const out = await runProgram(exec, program, { ...model.weights, ...feeds }, { fetch: ['logits'], signal: opts.signal });
    const z = out.logits.data as Float32Array;
    idx.forEach((i, b) => (logits[i] = Array.from(z.subarray(b * classes, (b + 1) * classes))));
  }
  return { logits, probabilities: logits.map(softmaxRow) };
}

export interface Prediction {
  text: string;
  /** The predicted class name (config.json id2label). */
  label: string;
  /** The predicted class id. */
  labelId: number;
  /** Probability of the predicted class. */
  probability: number;
  probabilities: number[];
}

/**
 * Classify texts with a model that has a tokenizer.
 *
 * @example
 * const model = await loadModel(defaultModelPath());
 * const [p] = await predictTexts(model, ['a gorgeous, witty film']);
 * p.label; // 'positive'
 */
export async function predictTexts(model: Model, texts: readonly string[], opts: ClassifyOptions = {}): Promise<Prediction[]> {
  if (!model.tokenizer) fail('BAD_TOKENIZER', `${model.folder || model.id} has no tokenizer.json, so it cannot classify text`);
  if (model.head !== 'sequence_classification') fail('UNSUPPORTED_MODEL', `${model.className} is not a sequence classifier`);
  const maxLength = Math.min(opts.maxLength ?? Infinity, model.config.maxPositions, model.tokenizer.modelMaxLength ?? Infinity);
  const ids = encodeTexts(model.tokenizer, texts, maxLength);
  const { probabilities } = await classifyIds(model, ids, opts);
  return probabilities.map((p, i) => {
    let best = 0;
    for (let c = 1; c < p.length; c++) if (p[c]! > p[best]!) best = c;
    return { text: texts[i]!, label: model.config.id2label[best] ?? String(best), labelId: best, probability: p[best]!, probabilities: p };
  });
}

/** Accuracy and mean cross-entropy of probabilities against labels. */
export function scoreClassification(probabilities: readonly number[][], labels: readonly number[]): { accuracy: number; loss: number } {
  let correct = 0;
  let loss = 0;
  probabilities.forEach((p, i) => {
    let best = 0;
    for (let c = 1; c < p.length; c++) if (p[c]! > p[best]!) best = c;
    if (best === labels[i]) correct++;
    loss -= Math.log(Math.max(p[labels[i]!] ?? 0, 1e-12));
  });
  const n = Math.max(1, labels.length);
  return { accuracy: correct / n, loss: loss / n };
}
