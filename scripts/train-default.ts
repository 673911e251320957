/**
 * `npm run train:default`: trains glassbox's bundled model, models/sst2-bert-tiny, from
 * scratch on SST-2 (the GLUE binary sentiment task), and reports its accuracy on SST-2 dev.
 *
 *   npm run train:default -- [--data DIR] [--out DIR] [--overwrite] [--seed N] [--threads N] [--recipe JSON]
 *
 * DIR holds train.tsv (label, sentence) and dev.tsv (label, content); default ../shared/data/sst2
 * beside the repository. Part of train.tsv is held out for early stopping; dev.tsv is only
 * scored at the end, never used to choose anything during the run. Every random choice is
 * seeded, so the same seed gives the same model (to the bit, on the same machine and build).
 * `--recipe '{"lr": 1e-3}'` overrides recipe fields, for trying variants.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GlassboxError } from '../src/errors.js';
import { createNodeExecutor } from '../src/runtime/node.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { classifyIds, encodeTexts, scoreClassification } from '../src/train/classify.js';
import { holdOutSentences, readLabelledTsv } from '../src/train/data.js';
import { DEFAULT_MODEL_NAME, defaultModelPath } from '../src/train/default-model.js';
import { modelCard } from '../src/train/model-card.js';
import { createTrainProgress } from '../src/train/progress.js';
import { createRng, subSeed } from '../src/train/rng.js';
import { trainClassifier, type TrainClassifierOptions } from '../src/train/trainer.js';
import { formatDuration } from '../src/util/progress.js';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * The recipe, chosen on the held-out sentences (never on dev) among variants tried first:
 * without regularisation beyond dropout 0.1 the model fits the training phrases ever better
 * while its accuracy on unseen sentences peaks after about 1.5 epochs and falls; word
 * dropout, label smoothing, weight decay 0.1 and an average of the weights (EMA) flatten
 * that fall, and early stopping on held-out sentences keeps the peak.
 */
export const RECIPE = {
  architecture: { numLayers: 2, hiddenSize: 128, numHeads: 4, intermediateSize: 512, maxPositions: 128 },
  vocabSize: 8000,
  epochs: 3,
  batchSize: 32,
  lr: 1e-3,
  weightDecay: 0.1,
  warmupRatio: 0.06,
  schedule: 'linear',
  maxGradNorm: 1,
  dropout: { hidden: 0.2, attention: 0.1 },
  labelSmoothing: 0.1,
  tokenDropout: 0.2,
  emaDecay: 0.999,
  evalEvery: 500,
  patience: 6,
  /** Sentences of train.tsv held out for early stopping (with the phrases inside them). */
  holdoutSentences: 1000,
} satisfies Partial<TrainClassifierOptions> & Record<string, unknown>;

async function main(): Promise<void> {
  const started = Date.now();
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: join(ROOT, '../shared/data/sst2') },
      out: { type: 'string', default: defaultModelPath() },
      overwrite: { type: 'boolean', default: false },
      seed: { type: 'string', default: '42' },
      threads: { type: 'string', default: '1' },
      recipe: { type: 'string' },
    },
  });
  const recipe = { ...RECIPE, ...(values.recipe ? JSON.parse(values.recipe) : {}) } as typeof RECIPE;
  const dataDir = values.data!;
  const out = values.out!;
  const seed = Number(values.seed);
  if (existsSync(out) && readdirSync(out).length > 0 && !values.overwrite) {
    throw new GlassboxError('BAD_INPUT', `${out} already exists`, { hint: 'Pass --overwrite to replace it: npm run train:default -- --overwrite' });
  }
  const all = readLabelledTsv(join(dataDir, 'train.tsv'));
  const dev = readLabelledTsv(join(dataDir, 'dev.tsv'));
  const split = holdOutSentences(all, recipe.holdoutSentences, createRng(subSeed(seed, 'holdout')), { minWords: 12, minRunWords: 3 });
  console.error(
    `SST-2: ${all.texts.length} training phrases; ${split.heldOut.texts.length} sentences held out for early stopping ` +
      `(and ${split.dropped} phrases inside or around them left out); ${dev.texts.length} dev sentences for the final score`,
  );
  // One intra-op thread: these graphs are small, and on 2 cores one thread per session was
  // measured faster than two.
  const executor = createNodeExecutor({ threads: Number(values.threads) });
  const result = await trainClassifier({
    ...recipe,
    train: split.train,
    validation: split.heldOut,
    seed,
    executor,
    onProgress: createTrainProgress(),
  });
  const ids = encodeTexts(result.model.tokenizer!, dev.texts, result.model.config.maxPositions);
  const test = { name: 'SST-2 dev (GLUE)', examples: dev.texts.length, ...scoreClassification((await classifyIds(result.model, ids, { executor })).probabilities, dev.labels) };
  const seconds = (Date.now() - started) / 1000;
  const readme = modelCard(result, {
    name: DEFAULT_MODEL_NAME,
    data:
      'SST-2, the binary Stanford Sentiment Treebank (Socher et al. 2013) as distributed with GLUE (Wang et al. 2018): ' +
      `${all.texts.length.toLocaleString('en-US')} labelled, lower-cased movie-review phrases (train.tsv; phrases of every length, not only sentences). ` +
      `${recipe.holdoutSentences} sentences of at least 12 words were held out for early stopping, and the ${split.dropped.toLocaleString('en-US')} training phrases ` +
      'that contain one of them or repeat three or more of their words in a row were left out, so that validation measures unseen sentences. ' +
      `Accuracy is reported on the ${dev.texts.length} sentences of the GLUE dev split, which played no part in training or in choosing the weights.`,
    validationName: 'held-out training sentences',
    test,
    seconds,
    machine: `${availableParallelism()} CPU cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.versions.node}, onnxruntime-node`,
    command: `npm run train:default -- --overwrite${seed !== 42 ? ` --seed ${seed}` : ''}`,
  });
  await saveCheckpoint(out, { config: result.config, weights: result.model.weights, tokenizerJson: result.tokenizerJson }, { overwrite: values.overwrite, readme });
  const size = readdirSync(out).reduce((s, f) => s + statSync(join(out, f)).size, 0);
  console.log(`dev accuracy ${(100 * test.accuracy).toFixed(2)}% (${test.examples} sentences), loss ${test.loss.toFixed(4)}`);
  console.log(`validation accuracy ${(100 * (result.best?.accuracy ?? NaN)).toFixed(2)}% at step ${result.best?.step} of ${result.steps}`);
  console.log(`saved to ${relative(process.cwd(), out) || out}: ${(size / 1e6).toFixed(2)} MB; total time ${formatDuration(seconds)}`);
  if (size > 8e6) console.error(`warning: the model folder is ${(size / 1e6).toFixed(2)} MB, over the 8 MB budget`);
  await executor.dispose();
}

main().catch((e) => {
  if (e instanceof GlassboxError) {
    console.error(`error: ${e.message}`);
    process.exit(1);
  }
  throw e;
});
