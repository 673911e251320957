/**
 * CLI commands for training and using classifiers: `glassbox train` (a BERT sentiment
 * classifier from a labelled TSV, saved as a Hugging Face checkpoint) and `glassbox predict`
 * (labels and probabilities for a text or a TSV, with accuracy when the TSV is labelled).
 * The training defaults are the bundled model's recipe (scripts/train-default.ts), except
 * that early stopping holds out a random fraction of the data rather than whole sentences.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import type { Command } from 'commander';
import { fail } from '../errors.js';
import { checkOutFolder, number } from './options.js';
import { loadModel } from '../models/model.js';
import { saveCheckpoint } from '../train/checkpoint.js';
import { encodeTexts, classifyIds, predictTexts, scoreClassification } from '../train/classify.js';
import { checkLabels, readLabelledTsv, readTsv } from '../train/data.js';
import { defaultModelPath } from '../train/default-model.js';
import { modelCard } from '../train/model-card.js';
import { createTrainProgress } from '../train/progress.js';
import { trainClassifier } from '../train/trainer.js';

interface TrainOptions {
  data: string;
  out: string;
  dev?: string;
  validation?: string;
  holdout: string;
  layers: string;
  hidden: string;
  heads: string;
  intermediate: string;
  maxPositions: string;
  vocabSize: string;
  epochs: string;
  lr: string;
  batchSize: string;
  weightDecay: string;
  dropout: string;
  attentionDropout: string;
  tokenDropout: string;
  labelSmoothing: string;
  ema: string;
  seed: string;
  maxLength: string;
  evalEvery?: string;
  patience?: string;
  overwrite?: boolean;
  json?: boolean;
}

export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description('Train a BERT text classifier from scratch on a labelled TSV and save it as a Hugging Face checkpoint')
    .requiredOption('--data <file.tsv>', 'training data: TSV with a header, a label column (0, 1, ...) and a sentence or content column')
    .requiredOption('--out <dir>', 'folder to write the checkpoint to (config.json, model.safetensors, tokenizer files, README.md)')
    .option('--dev <file.tsv>', 'a labelled TSV to report accuracy on after training (not used to choose weights)')
    .option('--validation <file.tsv>', 'a labelled TSV for evaluation and early stopping (default: --holdout of --data)')
    .option('--holdout <fraction>', 'fraction of --data held out for early stopping when no --validation is given', '0.05')
    .option('--layers <n>', 'transformer layers', '2')
    .option('--hidden <n>', 'hidden size', '128')
    .option('--heads <n>', 'attention heads', '4')
    .option('--intermediate <n>', 'MLP size', '512')
    .option('--max-positions <n>', 'position embeddings (longest input the model takes)', '128')
    .option('--vocab-size <n>', 'WordPiece vocabulary to learn from --data', '8000')
    .option('--epochs <n>', 'passes over the training data', '3')
    .option('--lr <rate>', 'peak learning rate (AdamW, warm-up then linear decay)', '0.001')
    .option('--batch-size <n>', 'examples per update', '32')
    .option('--weight-decay <w>', 'AdamW weight decay (not on biases and LayerNorm weights)', '0.1')
    .option('--dropout <p>', 'dropout rate on hidden states (embeddings, attention and MLP outputs, pooled output)', '0.2')
    .option('--attention-dropout <p>', 'dropout rate on attention probabilities', '0.1')
    .option('--token-dropout <p>', 'word dropout: probability of replacing a training token by [MASK]', '0.2')
    .option('--label-smoothing <s>', 'label smoothing of the training targets', '0.1')
    .option('--ema <decay>', 'keep an exponential moving average of the weights with this decay (0: off)', '0.999')
    .option('--seed <n>', 'seed for initialisation, order and dropout', '42')
    .option('--max-length <n>', 'longest training input in tokens; longer ones are truncated', '128')
    .option('--eval-every <steps>', 'evaluate every this many updates (default: once per epoch)')
    .option('--patience <n>', 'stop after this many evaluations without a better validation accuracy')
    .option('--overwrite', 'replace the checkpoint in an existing --out folder')
    .option('--json', 'print the result as JSON')
    .action(async (o: TrainOptions) => {
      const started = Date.now();
      checkOutFolder(o.out, o.overwrite);
      const train = readLabelledTsv(o.data);
      const dev = o.dev ? readLabelledTsv(o.dev) : undefined;
      const validation = o.validation ? readLabelledTsv(o.validation) : undefined;
      const labels = ['negative', 'positive'];
      checkLabels(train.labels, labels.length, o.data);
      if (dev) checkLabels(dev.labels, labels.length, o.dev!);
      if (validation) checkLabels(validation.labels, labels.length, o.validation!);
      const result = await trainClassifier({
        train,
        validation,
        holdout: number(o.holdout, '--holdout', { min: 0 }),
        vocabSize: number(o.vocabSize, '--vocab-size', { integer: true, min: 16 }),
        architecture: {
          numLayers: number(o.layers, '--layers', { integer: true, min: 1 }),
          hiddenSize: number(o.hidden, '--hidden', { integer: true, min: 1 }),
          numHeads: number(o.heads, '--heads', { integer: true, min: 1 }),
          intermediateSize: number(o.intermediate, '--intermediate', { integer: true, min: 1 }),
          maxPositions: number(o.maxPositions, '--max-positions', { integer: true, min: 8 }),
        },
        labels,
        epochs: number(o.epochs, '--epochs', { integer: true, min: 1 }),
        lr: number(o.lr, '--lr', { min: 1e-12 }),
        batchSize: number(o.batchSize, '--batch-size', { integer: true, min: 1 }),
        weightDecay: number(o.weightDecay, '--weight-decay', { min: 0 }),
        dropout: { hidden: number(o.dropout, '--dropout', { min: 0, max: 0.95 }), attention: number(o.attentionDropout, '--attention-dropout', { min: 0, max: 0.95 }) },
        tokenDropout: number(o.tokenDropout, '--token-dropout', { min: 0, max: 0.95 }),
        labelSmoothing: number(o.labelSmoothing, '--label-smoothing', { min: 0, max: 0.95 }),
        emaDecay: number(o.ema, '--ema', { min: 0, max: 0.999999 }),
        seed: number(o.seed, '--seed', { integer: true, min: 0 }),
        maxLength: number(o.maxLength, '--max-length', { integer: true, min: 3 }),
        evalEvery: o.evalEvery === undefined ? undefined : number(o.evalEvery, '--eval-every', { integer: true, min: 1 }),
        patience: o.patience === undefined ? undefined : number(o.patience, '--patience', { integer: true, min: 1 }),
        onProgress: o.json ? undefined : createTrainProgress(),
      });
      let test: { name: string; examples: number; accuracy: number; loss: number } | undefined;
      if (dev) {
        const ids = encodeTexts(result.model.tokenizer!, dev.texts, result.model.config.maxPositions);
        const { probabilities } = await classifyIds(result.model, ids);
        test = { name: o.dev!, examples: dev.texts.length, ...scoreClassification(probabilities, dev.labels) };
      }
      const seconds = (Date.now() - started) / 1000;
      const readme = modelCard(result, {
        name: o.out.split(/[\\/]/).filter(Boolean).pop() ?? 'classifier',
        data: `Trained on ${o.data} (${train.texts.length.toLocaleString('en-US')} labelled examples).`,
        test,
        seconds,
        machine: `${availableParallelism()} CPU cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'})`,
      });
      await saveCheckpoint(o.out, { config: result.config, weights: result.model.weights, tokenizerJson: result.tokenizerJson }, { overwrite: o.overwrite, readme });
      const summary = {
        out: o.out,
        steps: result.steps,
        stopReason: result.stopReason,
        seconds,
        validation: result.best ? { step: result.best.step, accuracy: result.best.accuracy, loss: result.best.loss } : null,
        dev: test ? { accuracy: test.accuracy, loss: test.loss, n: test.examples } : null,
      };
      if (o.json) return void console.log(JSON.stringify(summary, null, 2));
      if (result.best) console.log(`best validation accuracy ${(100 * result.best.accuracy).toFixed(2)}% (step ${result.best.step})`);
      if (test) console.log(`accuracy on ${o.dev}: ${(100 * test.accuracy).toFixed(2)}% (${test.examples} examples)`);
      console.log(`saved to ${o.out}`);
    });

  program
    .command('predict')
    .description('Classify a text, or every row of a TSV (with accuracy when it has a label column)')
    .option('--model <model>', 'classifier folder or Hub id (default: the bundled SST-2 model)')
    .option('--text <text>', 'a text to classify')
    .option('--data <file.tsv>', 'a TSV with a sentence or content column (and optionally label)')
    .option('--json', 'machine-readable output: {"n", "accuracy", "predictions": [{text, label, probability}]}')
    .action(async (o: { model?: string; text?: string; data?: string; json?: boolean }) => {
      if ((o.text === undefined) === (o.data === undefined)) fail('INVALID_ARGUMENT', 'give either --text or --data', { hint: 'For example --text "a gorgeous film"' });
      if (o.text !== undefined && o.text.trim() === '') fail('BAD_INPUT', '--text is empty', { hint: 'Give some text to classify' });
      const file = o.data ? readTsv(o.data, { requireLabels: false }) : null;
      const path = o.model ?? defaultModelPath();
      if (!o.model && !existsSync(path)) fail('MISSING_FILE', `the bundled model is missing (${path})`, { hint: 'Build it with `npm run train:default`, or pass --model' });
      const model = await loadModel(path);
      if (model.head !== 'sequence_classification') fail('UNSUPPORTED_MODEL', `${model.className} is not a sequence classifier`, { hint: 'predict needs a *ForSequenceClassification model' });
      if (file?.labels) checkLabels(file.labels, model.config.numLabels, o.data!);
      const texts = file ? file.texts : [o.text!];
      const predictions = await predictTexts(model, texts);
      let accuracy: number | null = null;
      if (file?.labels) accuracy = predictions.filter((p, i) => p.labelId === file.labels![i]).length / predictions.length;
      if (o.json) {
        const out = { n: predictions.length, accuracy, predictions: predictions.map((p) => ({ text: p.text, label: p.label, probability: p.probability })) };
        return void console.log(JSON.stringify(out));
      }
      for (const p of predictions) console.log(`${p.label.padEnd(10)} ${p.probability.toFixed(4)}  ${p.text}`);
      if (accuracy !== null) console.log(`accuracy: ${(100 * accuracy).toFixed(2)}% (${predictions.length} examples)`);
    });
}
