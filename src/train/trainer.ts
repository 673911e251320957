/**
 * Training a sequence classifier on glassbox's own engine: the forward graph, a
 * cross-entropy loss and the gradient of every weight in one ONNX graph per [batch, seq]
 * shape (graphs.ts), AdamW on the host (optim.ts), and around them what a training run needs:
 * seeded initialisation, shuffling and dropout; warm-up and decay of the learning rate;
 * gradient clipping; evaluation every N steps on a held-out split with early stopping that
 * keeps the best weights; progress events and cancellation.
 *
 * Defaults follow Hugging Face's Trainer where it has one (AdamW betas 0.9/0.999, eps 1e-8,
 * weight decay off biases and LayerNorm weights, linear decay after warm-up, max grad norm 1).
 *
 * @example
 * const result = await trainClassifier({ train: readLabelledTsv('train.tsv'), epochs: 3 });
 * await saveCheckpoint('out/my-model', result);
 */
import { compile, type Program, runProgram } from '../engine/program.js';
import { fail, GlassboxError } from '../errors.js';
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';
import { defaultExecutor } from '../runtime/index.js';
import type { HostTensor } from '../runtime/tensor.js';
import { tokenizerFromJson, type Tokenizer } from '../tokenize/index.js';
import { trainWordPiece } from '../tokenize/train-wordpiece.js';
import { classifyIds, encodeTexts, padBatch, scoreClassification } from './classify.js';
import { bucketLength, checkLabels, type LabelledTexts, lengthGroupedBatches, splitHoldout } from './data.js';
import { buildTrainGraph, type DropoutRates, type DropoutSite } from './graphs.js';
import { bertClassifierConfig, type BertShape, createBertClassifier } from './init.js';
import { clipGradNorm, createAdamW, learningRateSchedule } from './optim.js';
import { createRng, type Rng, subSeed } from './rng.js';
import { tokenizerConfigJson } from './checkpoint.js';

export interface TrainClassifierOptions {
  /** Training examples. */
  train: LabelledTexts;
  /** Examples for evaluation and early stopping; default: `holdout` of `train`, set aside. */
  validation?: LabelledTexts;
  /** Fraction (or count) of `train` held out when no `validation` is given (default 0.05). */
  holdout?: number;
  /** More labelled sets to score at every evaluation (reported in the events, never used to choose weights). */
  monitor?: Record<string, LabelledTexts>;
  /** A model to train further (a sequence classifier); default: a new BERT from `architecture`. */
  model?: Model;
  /** tokenizer.json of the tokenizer to use; default: learn a WordPiece vocabulary of `vocabSize` from `train`. */
  tokenizerJson?: Record<string, unknown>;
  vocabSize?: number;
  /** Shape of a new model (vocabSize comes from the tokenizer). */
  architecture?: Partial<Omit<BertShape, 'vocabSize'>>;
  /** Class names by id (default negative, positive). */
  labels?: string[];
  epochs?: number;
  /** Stop after this many updates whatever `epochs` says. */
  maxSteps?: number;
  batchSize?: number;
  /** Peak learning rate (default 1e-3, for a small model trained from scratch). */
  lr?: number;
  weightDecay?: number;
  /** Warm-up as a fraction of all updates (default 0.06). */
  warmupRatio?: number;
  schedule?: 'linear' | 'cosine' | 'constant';
  /** Global gradient-norm limit (default 1; 0 turns clipping off). */
  maxGradNorm?: number;
  /** Dropout rates (default 0.1 both; 0 turns a kind off). */
  dropout?: Partial<DropoutRates>;
  /** Targets (1 - s) on the label and s / (classes - 1) elsewhere (default 0). */
  labelSmoothing?: number;
  /**
   * Word dropout: each token of a training input (not [CLS]/[SEP]) is replaced by [MASK] with
   * this probability (default 0), so the classifier cannot lean on any single word.
   */
  tokenDropout?: number;
  /**
   * Evaluate and keep an exponential moving average of the weights (Polyak averaging) with this
   * decay per update, e.g. 0.999 (default: off, the raw weights).
   */
  emaDecay?: number;
  seed?: number;
  /** Longest training input in tokens (default: min(128, the model's positions)); longer ones are truncated. */
  maxLength?: number;
  /** Sequences are padded to multiples of this (default 8). */
  bucketMultiple?: number;
  /** Evaluate every this many updates (default: once per epoch). */
  evalEvery?: number;
  /** Stop after this many evaluations without a better validation accuracy (default: never). */
  patience?: number;
  /**
   * Knowledge distillation (distill.ts): the teacher's logits for each `train` example, in the
   * order of `train.texts`, and the loss alpha * T^2 KL(teacher/T || student/T) + (1 - alpha) * CE
   * on `train.labels` (graphs.ts). Needs an explicit `validation` set. Default: plain cross-entropy.
   */
  teacher?: { logits: readonly number[][]; temperature: number; alpha: number };
  executor?: Executor;
  signal?: AbortSignal;
  onProgress?: (event: TrainEvent) => void;
}

export interface Evaluation {
  step: number;
  epoch: number;
  /** Mean training loss since the previous evaluation. */
  trainLoss: number;
  accuracy: number;
  loss: number;
  /** Scores on the `monitor` sets, by name. */
  monitor?: Record<string, { accuracy: number; loss: number }>;
}

export type TrainEvent =
  | { type: 'start'; totalSteps: number; trainExamples: number; validationExamples: number; parameters: number }
  | {
      type: 'step';
      step: number;
      totalSteps: number;
      epoch: number;
      loss: number;
      /** Running mean over the last updates. */
      smoothedLoss: number;
      lr: number;
      gradNorm: number;
      examplesPerSecond: number;
      etaSeconds: number;
    }
  | ({ type: 'eval'; best: boolean } & Evaluation)
  | { type: 'done'; steps: number; seconds: number; stopReason: TrainResult['stopReason'] };

export interface TrainResult {
  /** The trained model, holding the best weights seen by validation accuracy. */
  model: Model;
  /** config.json of the model. */
  config: Record<string, unknown>;
  /** tokenizer.json of its tokenizer. */
  tokenizerJson: Record<string, unknown>;
  history: Evaluation[];
  best: Evaluation | null;
  steps: number;
  examplesSeen: number;
  seconds: number;
  stopReason: 'completed' | 'early_stopping' | 'max_steps';
  /** The settings the run used (for a model card). */
  settings: Record<string, unknown>;
}

const DEFAULT_ARCHITECTURE = { hiddenSize: 128, numLayers: 2, numHeads: 4, intermediateSize: 512, maxPositions: 128 };

/** Train a sequence classifier; see the module comment. */
export async function trainClassifier(opts: TrainClassifierOptions): Promise<TrainResult> {
  const started = Date.now();
  const seed = opts.seed ?? 42;
  const exec = opts.executor ?? defaultExecutor();
  if (opts.train.texts.length === 0) fail('BAD_INPUT', 'no training examples');
  if (opts.train.texts.length !== opts.train.labels.length) fail('BAD_INPUT', `${opts.train.texts.length} texts but ${opts.train.labels.length} labels`);

  const teacher = opts.teacher;
  if (teacher) {
    if (!opts.validation) fail('INVALID_ARGUMENT', 'distillation needs an explicit validation set (the teacher logits follow train.texts)');
    if (teacher.logits.length !== opts.train.texts.length) fail('BAD_INPUT', `${opts.train.texts.length} texts but ${teacher.logits.length} teacher logit rows`);
    if (!(teacher.temperature > 0)) fail('INVALID_ARGUMENT', `the distillation temperature must be positive, got ${teacher.temperature}`);
    if (!(teacher.alpha >= 0 && teacher.alpha <= 1)) fail('INVALID_ARGUMENT', `the distillation alpha must be in [0, 1], got ${teacher.alpha}`);
  }
  // Data: the validation split.
  let train = opts.train;
  let validation = opts.validation;
  if (!validation) ({ train, heldOut: validation } = splitHoldout(opts.train, opts.holdout ?? 0.05, createRng(subSeed(seed, 'holdout'))));

  // Tokenizer and model.
  let tokenizerJson = opts.tokenizerJson;
  let model = opts.model;
  let config: Record<string, unknown>;
  let tokenizer: Tokenizer;
  if (model) {
    if (!model.tokenizer) fail('BAD_TOKENIZER', 'the model to train has no tokenizer');
    if (!tokenizerJson) fail('INVALID_ARGUMENT', 'training a given model needs its tokenizerJson (to save it with the checkpoint)');
    tokenizer = model.tokenizer;
    config = model.config.raw;
  } else {
    tokenizerJson ??= trainWordPiece(train.texts, { vocabSize: opts.vocabSize ?? 8000 });
    const maxPositions = opts.architecture?.maxPositions ?? DEFAULT_ARCHITECTURE.maxPositions;
    tokenizer = tokenizerFromJson(tokenizerJson, tokenizerConfigJson(maxPositions));
    const rates = dropoutRates(opts.dropout);
    config = {
      ...bertClassifierConfig({ ...DEFAULT_ARCHITECTURE, ...opts.architecture, vocabSize: tokenizer.vocabSize, labels: opts.labels }),
      hidden_dropout_prob: rates.hidden,
      attention_probs_dropout_prob: rates.attention,
    };
    model = createBertClassifier(config, { tokenizer, seed: subSeed(seed, 'init') });
  }
  const numLabels = model.config.numLabels;
  checkLabels(train.labels, numLabels, 'training data');
  checkLabels(validation.labels, numLabels, 'validation data');

  // Settings.
  const batchSize = opts.batchSize ?? 32;
  const epochs = opts.epochs ?? 3;
  const lr = opts.lr ?? 1e-3;
  const weightDecay = opts.weightDecay ?? 0.01;
  const maxGradNorm = opts.maxGradNorm ?? 1;
  const multiple = opts.bucketMultiple ?? 8;
  const maxLength = Math.min(opts.maxLength ?? 128, model.config.maxPositions);
  const rates = dropoutRates(opts.dropout);
  const smoothing = opts.labelSmoothing ?? 0;
  const tokenDropout = opts.tokenDropout ?? 0;
  const emaDecay = opts.emaDecay ?? 0;
  if (!(tokenDropout >= 0 && tokenDropout < 1)) fail('INVALID_ARGUMENT', `token dropout must be in [0, 1), got ${tokenDropout}`);
  if (!(emaDecay >= 0 && emaDecay < 1)) fail('INVALID_ARGUMENT', `the EMA decay must be in [0, 1), got ${emaDecay}`);
  const maskId = tokenizer.maskId ?? tokenizer.unkId;
  if (tokenDropout > 0 && maskId === null) fail('BAD_TOKENIZER', 'token dropout needs a [MASK] or [UNK] token');
  for (const [k, v] of Object.entries({ batchSize, epochs })) if (!Number.isInteger(v) || v <= 0) fail('INVALID_ARGUMENT', `${k} must be a positive integer, got ${v}`);
  if (!(lr > 0)) fail('INVALID_ARGUMENT', `the learning rate must be positive, got ${lr}`);
  if (!(smoothing >= 0 && smoothing < 1)) fail('INVALID_ARGUMENT', `label smoothing must be in [0, 1), got ${smoothing}`);

  const trainIds = encodeTexts(tokenizer, train.texts, maxLength);
  const validIds = encodeTexts(tokenizer, validation.texts, maxLength);
  const monitorIds = Object.entries(opts.monitor ?? {}).map(([name, d]) => {
    checkLabels(d.labels, numLabels, `monitor set '${name}'`);
    return { name, ids: encodeTexts(tokenizer, d.texts, maxLength), labels: d.labels };
  });
  const stepsPerEpoch = Math.ceil(trainIds.length / batchSize);
  const totalSteps = Math.min(opts.maxSteps ?? Infinity, stepsPerEpoch * epochs);
  const evalEvery = opts.evalEvery ?? stepsPerEpoch;
  const patience = opts.patience ?? Infinity;
  const lrAt = learningRateSchedule({ lr, totalSteps, warmupSteps: Math.round((opts.warmupRatio ?? 0.06) * totalSteps), kind: opts.schedule ?? 'linear' });
  const settings = {
    seed, epochs, maxSteps: opts.maxSteps ?? null, batchSize, lr, weightDecay, warmupRatio: opts.warmupRatio ?? 0.06, schedule: opts.schedule ?? 'linear',
    maxGradNorm, dropout: rates, labelSmoothing: smoothing, tokenDropout, emaDecay, maxLength, evalEvery, patience: Number.isFinite(patience) ? patience : null,
    trainExamples: trainIds.length, validationExamples: validIds.length,
    ...(teacher ? { distillation: { temperature: teacher.temperature, alpha: teacher.alpha } } : {}),
  };

  // Parameters: the weights' own arrays, updated in place (tied tensors once).
  const params: Record<string, Float32Array> = {};
  const seen = new Set<unknown>();
  for (const [name, t] of Object.entries(model.weights)) {
    if (t.dtype !== 'float32') fail('BAD_WEIGHTS', `weight '${name}' is ${t.dtype}; training needs float32`);
    if (seen.has(t.data)) continue;
    seen.add(t.data);
    params[name] = t.data as Float32Array;
  }
  const optimizer = createAdamW({ lr, weightDecay });
  const ema = emaDecay > 0 ? new Map(Object.entries(params).map(([k, v]) => [k, Float64Array.from(v)])) : null;
  const programs = new Map<string, { program: Program; dropout: DropoutSite[]; grads: Map<string, string> }>();
  const trainProgram = (batch: number, seq: number) => {
    const key = `${batch}x${seq}`;
    let p = programs.get(key);
    if (!p) {
      const loss = teacher ? { distill: { temperature: teacher.temperature, alpha: teacher.alpha } } : 'cross_entropy';
      const tg = buildTrainGraph(model, batch, seq, { dropout: rates, loss });
      p = { program: compile(tg.graph), dropout: tg.dropout, grads: tg.gradOutputs };
      programs.set(key, p);
    }
    return p;
  };

  const orderRng = createRng(subSeed(seed, 'order'));
  const tokenRng = createRng(subSeed(seed, 'tokens'));
  const dropoutMask = createDropoutPools(createRng(subSeed(seed, 'dropout')));
  const padId = model.config.padTokenId ?? 0;
  const history: Evaluation[] = [];
  let best: Evaluation | null = null;
  let bestWeights: Map<string, Float32Array> | null = null;
  let sinceBest = 0;
  let step = 0;
  let examplesSeen = 0;
  let lossSum = 0;
  let lossCount = 0;
  const recent: number[] = [];
  let stopReason: TrainResult['stopReason'] = 'completed';
  const loopStart = Date.now();
  opts.onProgress?.({ type: 'start', totalSteps, trainExamples: trainIds.length, validationExamples: validIds.length, parameters: model.numParameters });

  const evaluate = async (epoch: number): Promise<boolean> => {
    // With an EMA, evaluate (and keep) the averaged weights; the raw ones come back after.
    const raw = ema ? new Map(Object.entries(params).map(([k, v]) => [k, v.slice()])) : null;
    if (ema) for (const [k, v] of ema) params[k]!.set(v);
    try {
      return await evaluateWeights(epoch);
    } finally {
      if (raw) for (const [k, v] of raw) params[k]!.set(v);
    }
  };
  const evaluateWeights = async (epoch: number): Promise<boolean> => {
    const { probabilities } = await classifyIds(model, validIds, { executor: exec, signal: opts.signal });
    const { accuracy, loss } = scoreClassification(probabilities, validation.labels);
    const e: Evaluation = { step, epoch, trainLoss: lossCount ? lossSum / lossCount : NaN, accuracy, loss };
    for (const m of monitorIds) {
      const scored = scoreClassification((await classifyIds(model, m.ids, { executor: exec, signal: opts.signal })).probabilities, m.labels);
      (e.monitor ??= {})[m.name] = scored;
    }
    lossSum = 0;
    lossCount = 0;
    history.push(e);
    const improved = !best || accuracy > best.accuracy;
    if (improved) {
      best = e;
      sinceBest = 0;
      bestWeights = new Map(Object.entries(params).map(([k, v]) => [k, v.slice()]));
    } else sinceBest++;
    opts.onProgress?.({ type: 'eval', best: improved, ...e });
    return sinceBest >= patience;
  };

  try {
    training: for (let epoch = 0; epoch < epochs; epoch++) {
      const batches = lengthGroupedBatches(trainIds.map((r) => r.length), batchSize, orderRng);
      for (const idx of batches) {
        if (step >= totalSteps) {
          stopReason = 'max_steps';
          break training;
        }
        if (opts.signal?.aborted) throw new GlassboxError('CANCELLED', 'training was cancelled', { cause: opts.signal.reason });
        const rows = idx.map((i) => (tokenDropout > 0 ? dropTokens(trainIds[i]!, tokenDropout, maskId!, tokenRng) : trainIds[i]!));
        const seq = bucketLength(Math.max(...rows.map((r) => r.length)), multiple, maxLength);
        const { program, dropout, grads } = trainProgram(batchSize, seq);
        const feeds: Record<string, HostTensor> = { ...model.weights, ...model.feeds(padBatch(rows, batchSize, seq, padId)) };
        if (!teacher || teacher.alpha < 1) feeds.targets = targetsFor(idx.map((i) => train.labels[i]!), batchSize, numLabels, smoothing);
        if (teacher) feeds.teacher_logits = teacherLogitsFor(idx.map((i) => teacher.logits[i]!), batchSize, numLabels);
        feeds.example_weights = { dtype: 'float32', dims: [batchSize], data: Float32Array.from({ length: batchSize }, (_, b) => (b < idx.length ? 1 / idx.length : 0)) };
        for (const site of dropout) feeds[site.input] = dropoutMask(site);
        const out = await runProgram(exec, program, feeds, { signal: opts.signal });
        const loss = Number(out.loss.data[0]);
        if (!Number.isFinite(loss)) fail('RUNTIME', `the training loss became ${loss} at step ${step + 1}`, { hint: 'Lower the learning rate' });
        const g: Record<string, Float32Array> = {};
        for (const name of Object.keys(params)) g[name] = out[grads.get(name)!]!.data as Float32Array;
        const gradNorm = maxGradNorm > 0 ? clipGradNorm(Object.values(g), maxGradNorm) : NaN;
        const rate = lrAt(step);
        optimizer.step(params, g, rate);
        if (ema) {
          // The decay ramps up as (1 + t) / (10 + t) early on (TensorFlow ExponentialMovingAverage with num_updates), so the average is not stuck near the initial weights.
          const d = Math.min(emaDecay, (1 + step) / (10 + step));
          for (const [k, v] of ema) {
            const p = params[k]!;
            for (let i = 0; i < v.length; i++) v[i] = d * v[i]! + (1 - d) * p[i]!;
          }
        }
        step++;
        examplesSeen += idx.length;
        lossSum += loss;
        lossCount++;
        recent.push(loss);
        if (recent.length > 50) recent.shift();
        if (opts.onProgress) {
          const elapsed = (Date.now() - loopStart) / 1000;
          opts.onProgress({
            type: 'step',
            step,
            totalSteps,
            epoch: step / stepsPerEpoch,
            loss,
            smoothedLoss: recent.reduce((a, b) => a + b, 0) / recent.length,
            lr: rate,
            gradNorm,
            examplesPerSecond: examplesSeen / Math.max(elapsed, 1e-3),
            etaSeconds: (elapsed / step) * (totalSteps - step),
          });
        }
        if (step % evalEvery === 0 || step === totalSteps) {
          if ((await evaluate(step / stepsPerEpoch)) && step < totalSteps) {
            stopReason = 'early_stopping';
            break training;
          }
        }
      }
    }
    if (history.length === 0 || history[history.length - 1]!.step !== step) await evaluate(step / stepsPerEpoch);
  } finally {
    // Whatever happened, the model holds the best weights seen.
    if (bestWeights) for (const [k, v] of bestWeights as Map<string, Float32Array>) params[k]!.set(v);
  }
  const seconds = (Date.now() - started) / 1000;
  opts.onProgress?.({ type: 'done', steps: step, seconds, stopReason });
  return { model, config, tokenizerJson: tokenizerJson!, history, best, steps: step, examplesSeen, seconds, stopReason, settings };
}

function dropoutRates(d: Partial<DropoutRates> | undefined): DropoutRates {
  const r = { hidden: d?.hidden ?? 0.1, attention: d?.attention ?? 0.1 };
  for (const [k, v] of Object.entries(r)) if (!(v >= 0 && v < 1)) fail('INVALID_ARGUMENT', `${k} dropout must be in [0, 1), got ${v}`);
  return r;
}

/** A copy of `ids` with each token but the first and last replaced by `maskId` with probability p. */
function dropTokens(ids: readonly number[], p: number, maskId: number, rng: Rng): number[] {
  const out = ids.slice();
  for (let i = 1; i < out.length - 1; i++) if (rng.next() < p) out[i] = maskId;
  return out;
}

/** One-hot (or smoothed) targets [batch, classes]; rows past the labels are zero. */
function targetsFor(labels: number[], batch: number, classes: number, smoothing: number): HostTensor {
  const data = new Float32Array(batch * classes);
  labels.forEach((l, b) => {
    for (let c = 0; c < classes; c++) data[b * classes + c] = c === l ? 1 - smoothing : smoothing / (classes - 1);
  });
  return { dtype: 'float32', dims: [batch, classes], data };
}

/** Teacher logits [batch, classes]; rows past the examples are zero (their weight is zero too). */
function teacherLogitsFor(rows: readonly (readonly number[])[], batch: number, classes: number): HostTensor {
  const data = new Float32Array(batch * classes);
  rows.forEach((r, b) => {
    if (r.length !== classes) fail('BAD_INPUT', `a teacher logit row has ${r.length} classes, the model ${classes}`);
    data.set(r, b * classes);
  });
  return { dtype: 'float32', dims: [batch, classes], data };
}

/**
 * Dropout masks: a pool of Bernoulli keep-values (0 or 1/(1-p), "inverted" dropout) drawn once
 * per rate, and each mask a window of it at a random offset. Drawing a fresh mask per site
 * and step cost more than the rest of the host work together (about a million draws a step);
 * a window is a zero-copy view, its elements as independent as the pool's, and successive
 * steps read different windows.
 */
function createDropoutPools(rng: Rng, size = 1 << 22): (site: DropoutSite) => HostTensor {
  const pools = new Map<number, Float32Array>();
  return (site) => {
    let pool = pools.get(site.p);
    if (!pool) {
      pool = new Float32Array(size);
      const keep = 1 / (1 - site.p);
      for (let i = 0; i < size; i++) pool[i] = rng.next() < site.p ? 0 : keep;
      pools.set(site.p, pool);
    }
    const n = site.shape.reduce((a, b) => a * b, 1);
    if (n > size) fail('INVALID_ARGUMENT', `a dropout mask of ${n} values is larger than the pool (${size}); use smaller batches`);
    const at = rng.int(size - n + 1);
    return { dtype: 'float32', dims: [...site.shape], data: pool.subarray(at, at + n) };
  };
}
