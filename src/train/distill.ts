/**
 * Knowledge distillation of a sequence classifier into a smaller BERT (Hinton et al. 2015,
 * "Distilling the Knowledge in a Neural Network"): the teacher's logits are computed once,
 * batched, for every text; a new student is trained on them with the temperature-scaled KL
 * loss of loss.ts (optionally mixed with cross-entropy on gold labels), and both models are
 * compared on a seeded held-out part of the texts that neither training nor model selection saw.
 *
 * Decisions: the student uses the teacher's tokenizer unchanged (same tokenizer.json, same ids),
 * so the two read exactly the same inputs and the student saves as an ordinary checkpoint;
 * model selection (the trainer's early stopping) uses agreement with the teacher on a separate
 * validation slice, since gold labels may be absent.
 *
 * @example
 * const teacher = await loadModel('models/sst2-bert-tiny');
 * const { student, report, checkpoint } = await distill(teacher, texts, { architecture: { hiddenSize: 32, numLayers: 1 } });
 * report.agreement; // argmax match rate with the teacher on the held-out texts
 * await saveCheckpoint('out/student', checkpoint);
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fail } from '../errors.js';
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';
import type { CheckpointParts } from './checkpoint.js';
import { classifyIds, encodeTexts } from './classify.js';
import { checkLabels } from './data.js';
import type { DropoutRates } from './graphs.js';
import type { BertShape } from './init.js';
import { createRng, shuffleInPlace, subSeed } from './rng.js';
import { trainClassifier, type TrainEvent } from './trainer.js';

export interface DistillOptions {
  /** Gold labels aligned with the texts, if any: reported as accuracy, and used by the hard loss when alpha < 1. */
  labels?: readonly number[] | null;
  /** tokenizer.json of the teacher (default: read from the teacher's folder). */
  tokenizerJson?: Record<string, unknown>;
  /** Student shape (default hidden 64, 1 layer, 2 heads, MLP 256, the teacher's positions); vocabSize is the teacher's tokenizer's. */
  architecture?: Partial<Omit<BertShape, 'vocabSize'>>;
  /** Distillation temperature T (default 2). */
  temperature?: number;
  /** Weight of the soft (KL) loss against cross-entropy on gold labels (default 1: soft only; without gold labels always 1). */
  alpha?: number;
  /** Default 10 (small students on small data need more passes than the trainer's default 3). */
  epochs?: number;
  /** Peak learning rate, default 2e-3. */
  lr?: number;
  batchSize?: number;
  seed?: number;
  /** Fraction (or count) of the texts held out for the report (default 0.2). */
  heldOut?: number;
  /** Fraction (or count) of the remaining texts used to choose the best weights (default 0.05). */
  validation?: number;
  /** Longest input in tokens (default min(128, the teacher's positions)). */
  maxLength?: number;
  dropout?: Partial<DropoutRates>;
  executor?: Executor;
  signal?: AbortSignal;
  onProgress?: (event: TrainEvent) => void;
}

/** What a distillation run measured; plain JSON. */
export interface DistillReport {
  examples: { train: number; validation: number; heldOut: number };
  temperature: number;
  /** The alpha used (1 when there are no gold labels). */
  alpha: number;
  tokenizer: { vocabSize: number; note: string };
  student: { hiddenSize: number; numLayers: number; numHeads: number; intermediateSize: number; maxPositions: number };
  /** Argmax match rate of student and teacher on the held-out texts. */
  agreement: number;
  /** Share of the teacher's most frequent predicted class on the held-out texts (the agreement of a constant student). */
  teacherMajorityRate: number;
  /** Mean over held-out texts of KL(softmax(teacher) || softmax(student)) at temperature 1, in nats. */
  meanKl: number;
  /** Accuracy on gold labels of the held-out texts (null without labels). */
  goldAccuracy: { teacher: number; student: number } | null;
  parameters: { teacher: number; student: number; ratio: number };
  /** Forward time of each model on the same held-out batch (milliseconds, median of 3 after a warm-up run). */
  speed: { teacherMs: number; studentMs: number; speedUp: number; texts: number };
  training: { seconds: number; steps: number; stopReason: string; bestValidationAgreement: number | null };
}

export interface DistillResult {
  student: Model;
  report: DistillReport;
  /** What saveCheckpoint needs to write the student. */
  checkpoint: CheckpointParts;
}

const DEFAULT_STUDENT = { hiddenSize: 64, numLayers: 1, numHeads: 2, intermediateSize: 256 };

/** Distil `teacher` into a smaller BERT on `texts`; see the module comment. */
export async function distill(teacher: Model, texts: readonly string[], opts: DistillOptions = {}): Promise<DistillResult> {
  if (teacher.head !== 'sequence_classification') fail('UNSUPPORTED_MODEL', `distillation needs a sequence classifier as teacher, not ${teacher.className}`);
  if (!teacher.tokenizer) fail('BAD_TOKENIZER', `the teacher ${teacher.folder || teacher.id} has no tokenizer.json`, { hint: 'The student uses the teacher\'s tokenizer' });
  if (texts.length === 0) fail('BAD_INPUT', 'no texts to distil on');
  const gold = opts.labels ?? null;
  if (gold && gold.length !== texts.length) fail('BAD_INPUT', `${texts.length} texts but ${gold.length} labels`);
  const numLabels = teacher.config.numLabels;
  if (gold) checkLabels(gold, numLabels, 'distillation data');
  const seed = opts.seed ?? 42;
  const temperature = opts.temperature ?? 2;
  const alpha = gold ? (opts.alpha ?? 1) : 1;
  if (!(temperature > 0)) fail('INVALID_ARGUMENT', `the temperature must be positive, got ${temperature}`);
  if (!(alpha >= 0 && alpha <= 1)) fail('INVALID_ARGUMENT', `alpha must be in [0, 1], got ${alpha}`);
  const tokenizerJson = opts.tokenizerJson ?? readTeacherTokenizer(teacher);
  const shape = { ...DEFAULT_STUDENT, maxPositions: teacher.config.maxPositions, ...opts.architecture };
  const maxLength = Math.min(opts.maxLength ?? 128, teacher.config.maxPositions, shape.maxPositions);

  // Splits: held-out (report), validation (best weights), train; seeded.
  const n = texts.length;
  const count = (x: number, of: number) => (x < 1 ? Math.round(of * x) : Math.round(x));
  const kHeld = count(opts.heldOut ?? 0.2, n);
  const kVal = Math.max(1, count(opts.validation ?? 0.05, n - kHeld));
  if (kHeld < 1 || kHeld + kVal >= n) fail('INVALID_ARGUMENT', `cannot hold out ${kHeld} and validate on ${kVal} of ${n} texts`, { hint: 'Give more texts (a few hundred at least)' });
  const order = shuffleInPlace([...Array(n).keys()], createRng(subSeed(seed, 'distill-split')));
  const heldIdx = order.slice(0, kHeld).sort((a, b) => a - b);
  const valIdx = order.slice(kHeld, kHeld + kVal).sort((a, b) => a - b);
  const trainIdx = order.slice(kHeld + kVal).sort((a, b) => a - b);

  // The teacher's logits, once, for every text.
  const ids = encodeTexts(teacher.tokenizer, texts, maxLength);
  const teacherLogits = (await classifyIds(teacher, ids, { executor: opts.executor, signal: opts.signal })).logits;
  const teacherArgmax = teacherLogits.map(argmax);

  const labelNames = Array.from({ length: numLabels }, (_, i) => teacher.config.id2label[i] ?? String(i));
  const pick = (idx: number[], labels: readonly number[]) => ({ texts: idx.map((i) => texts[i]!), labels: idx.map((i) => labels[i]!) });
  const result = await trainClassifier({
    train: pick(trainIdx, gold ?? teacherArgmax),
    validation: pick(valIdx, teacherArgmax),
    tokenizerJson,
    architecture: shape,
    labels: labelNames,
    teacher: { logits: trainIdx.map((i) => teacherLogits[i]!), temperature, alpha },
    // Measured on 1,000 SST-2 phrases: at the trainer's defaults (3 epochs, lr 1e-3) a small
    // student can collapse to one class; 10 epochs at 2e-3 learned the teacher (72% agreement).
    epochs: opts.epochs ?? 10,
    lr: opts.lr ?? 2e-3,
    batchSize: opts.batchSize,
    seed,
    maxLength,
    dropout: opts.dropout,
    executor: opts.executor,
    signal: opts.signal,
    onProgress: opts.onProgress,
  });
  const student = result.model;

  // The report, on the held-out texts.
  const heldIds = heldIdx.map((i) => ids[i]!);
  const t = heldIdx.map((i) => teacherLogits[i]!);
  const s = (await classifyIds(student, heldIds, { executor: opts.executor, signal: opts.signal })).logits;
  const sArgmax = s.map(argmax);
  const tArgmax = heldIdx.map((i) => teacherArgmax[i]!);
  const agreement = mean(sArgmax.map((c, j) => (c === tArgmax[j] ? 1 : 0)));
  const counts = new Array<number>(numLabels).fill(0);
  for (const c of tArgmax) counts[c]!++;
  const goldAccuracy = gold
    ? { teacher: mean(tArgmax.map((c, j) => (c === gold[heldIdx[j]!] ? 1 : 0))), student: mean(sArgmax.map((c, j) => (c === gold[heldIdx[j]!] ? 1 : 0))) }
    : null;
  const teacherMs = await forwardMs(teacher, heldIds, opts.executor);
  const studentMs = await forwardMs(student, heldIds, opts.executor);

  const report: DistillReport = {
    examples: { train: trainIdx.length, validation: valIdx.length, heldOut: heldIdx.length },
    temperature,
    alpha,
    tokenizer: { vocabSize: teacher.tokenizer.vocabSize, note: `student uses the teacher's tokenizer (${teacher.tokenizer.vocabSize} tokens)` },
    student: { hiddenSize: shape.hiddenSize, numLayers: shape.numLayers, numHeads: shape.numHeads, intermediateSize: shape.intermediateSize, maxPositions: shape.maxPositions },
    agreement,
    teacherMajorityRate: Math.max(...counts) / tArgmax.length,
    meanKl: meanKl(t, s),
    goldAccuracy,
    parameters: { teacher: teacher.numParameters, student: student.numParameters, ratio: student.numParameters / teacher.numParameters },
    speed: { teacherMs, studentMs, speedUp: teacherMs / Math.max(studentMs, 1e-6), texts: heldIds.length },
    training: { seconds: result.seconds, steps: result.steps, stopReason: result.stopReason, bestValidationAgreement: result.best?.accuracy ?? null },
  };
  return { student, report, checkpoint: { config: result.config, weights: student.weights, tokenizerJson: result.tokenizerJson } };
}

/**
 * Mean over rows of KL(softmax(teacher) || softmax(student)) = sum_c p_c (log p_c - log q_c),
 * at temperature 1, in float64 on the host.
 */
export function meanKl(teacherLogits: readonly (readonly number[])[], studentLogits: readonly (readonly number[])[]): number {
  if (teacherLogits.length !== studentLogits.length) fail('INVALID_ARGUMENT', `${teacherLogits.length} teacher rows but ${studentLogits.length} student rows`);
  let total = 0;
  teacherLogits.forEach((z, i) => {
    const logp = logSoftmax(z);
    const logq = logSoftmax(studentLogits[i]!);
    for (let c = 0; c < logp.length; c++) total += Math.exp(logp[c]!) * (logp[c]! - logq[c]!);
  });
  return total / Math.max(1, teacherLogits.length);
}

function logSoftmax(z: readonly number[]): number[] {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
  return z.map((v) => v - lse);
}

function argmax(z: readonly number[]): number {
  let best = 0;
  for (let c = 1; c < z.length; c++) if (z[c]! > z[best]!) best = c;
  return best;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

/** Median of 3 timed forward passes over `ids` (after one untimed run that compiles the programs). */
async function forwardMs(model: Model, ids: readonly number[][], executor: Executor | undefined): Promise<number> {
  await classifyIds(model, ids, { executor });
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    await classifyIds(model, ids, { executor });
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[1]!;
}

function readTeacherTokenizer(teacher: Model): Record<string, unknown> {
  const path = join(teacher.folder, 'tokenizer.json');
  if (!teacher.folder || !existsSync(path)) fail('BAD_TOKENIZER', `the teacher has no tokenizer.json in its folder (${teacher.folder || teacher.id})`, { hint: 'Pass tokenizerJson' });
  return JSON.parse(readFileSync(path, 'utf8'));
}
