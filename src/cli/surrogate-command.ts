/**
 * `glassbox surrogate`: label a text set with a classifier, fit a global surrogate (sparse
 * linear model over words, or a shallow decision tree) to its predictions, and report the
 * surrogate's fidelity, its strongest words or its rules — in the terminal, as JSON or as a
 * self-contained HTML page. Bad arguments and bad files fail before the model is loaded.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { fail } from '../errors.js';
import { goldIndices, parseTextData } from '../surrogate/data.js';
import { renderSurrogateHtml, renderSurrogateTerminal } from '../surrogate/render.js';
import { fitSurrogate, SURROGATE_KINDS, type SurrogateKind, type SurrogateProgress } from '../surrogate/surrogate.js';
import { createProgressBar, type ProgressBar } from '../util/progress.js';
import { openModel, resolveModelArg } from './model-commands.js';
import { writeOutput } from './output.js';

interface SurrogateCliOptions {
  model?: string;
  data: string;
  kind: string;
  format?: string;
  json?: boolean;
  out?: string;
  overwrite?: boolean;
  maxExamples: string;
  testFraction: string;
  seed: string;
  l1: string;
  maxDepth: string;
  minLeaf: string;
  ngrams: string;
  minCount: string;
  maxFeatures: string;
  topK: string;
  batchSize: string;
}

function int(v: string, flag: string, min: number): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < min) fail('BAD_INPUT', `${flag} must be an integer >= ${min}, got '${v}'`);
  return Number(v);
}

function num(v: string, flag: string, ok: (x: number) => boolean, what: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || !ok(x)) fail('BAD_INPUT', `${flag} must be ${what}, got '${v}'`);
  return x;
}

function readData(path: string): string {
  if (!existsSync(path)) fail('MISSING_FILE', `--data file not found: ${path}`);
  if (statSync(path).isDirectory()) fail('BAD_INPUT', `--data ${path} is a folder`, { hint: 'Give a TSV file or a text file with one text per line' });
  return readFileSync(path, 'utf8');
}

/** A progress bar per stage on a terminal; nothing when stderr is not a TTY. */
function progressReporter(): { onProgress: (p: SurrogateProgress) => void; finish: () => void } {
  if (!process.stderr.isTTY) return { onProgress: () => undefined, finish: () => undefined };
  let bar: ProgressBar | null = null;
  let stage: string | undefined;
  return {
    onProgress(p) {
      if (p.stage === 'fit') {
        bar?.done();
        bar = null;
        return;
      }
      if (!bar || p.stage !== stage) {
        stage = p.stage;
        bar = createProgressBar({ label: 'labelling texts', total: p.total, unit: 'items' });
      }
      bar.update(p.done, p.total);
    },
    finish() {
      bar?.done();
      bar = null;
    },
  };
}

export function registerSurrogateCommand(program: Command): void {
  program
    .command('surrogate')
    .description("Fit a global surrogate (sparse linear model over words, or a decision tree) to a classifier's predictions on a text set, and report its fidelity")
    .option('--model <model>', 'model folder or Hub id (default: the bundled model)')
    .requiredOption('--data <file>', 'a TSV with a header and a sentence/content/text column (optional label column), or one text per line')
    .option('--kind <kind>', `surrogate: ${SURROGATE_KINDS.join(' or ')}`, 'linear')
    .option('--format <f>', 'terminal, json or html (default terminal)')
    .option('--json', 'same as --format json')
    .option('--out <file>', 'write to a file instead of standard output')
    .option('--overwrite', 'replace --out if it exists')
    .option('--max-examples <n>', 'use at most N texts (a seeded random subset)', '2000')
    .option('--test-fraction <f>', 'share held out to measure fidelity', '0.2')
    .option('--seed <s>', 'seed of the subset and the split', '0')
    .option('--l1 <lambda>', 'linear: L1 penalty on the mean log-loss (larger: fewer words)', '0.001')
    .option('--max-depth <d>', 'tree: most splits on a path', '4')
    .option('--min-leaf <n>', 'tree: least fit texts in a leaf', '5')
    .option('--ngrams <n>', '1: words; 2: words and adjacent word pairs', '1')
    .option('--min-count <n>', 'least number of fit texts a feature must occur in', '2')
    .option('--max-features <n>', 'most features (the most frequent)', '5000')
    .option('--top-k <k>', 'features listed per class', '10')
    .option('--batch-size <n>', 'texts per forward pass', '32')
    .action(async (o: SurrogateCliOptions) => {
      const format = o.json ? 'json' : (o.format ?? 'terminal');
      if (!['terminal', 'json', 'html'].includes(format)) fail('BAD_INPUT', `unknown --format '${format}'`, { hint: 'Formats: terminal, json, html' });
      if (!SURROGATE_KINDS.includes(o.kind as SurrogateKind)) fail('BAD_INPUT', `unknown --kind '${o.kind}'`, { hint: `Kinds: ${SURROGATE_KINDS.join(', ')}` });
      const ngrams = int(o.ngrams, '--ngrams', 1);
      if (ngrams !== 1 && ngrams !== 2) fail('BAD_INPUT', `--ngrams must be 1 or 2, got '${o.ngrams}'`);
      const settings = {
        kind: o.kind as SurrogateKind,
        maxExamples: int(o.maxExamples, '--max-examples', 2),
        testFraction: num(o.testFraction, '--test-fraction', (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
        seed: int(o.seed, '--seed', 0),
        l1: num(o.l1, '--l1', (x) => x >= 0, 'a number >= 0'),
        maxDepth: int(o.maxDepth, '--max-depth', 0),
        minLeaf: int(o.minLeaf, '--min-leaf', 1),
        ngrams: ngrams as 1 | 2,
        minCount: int(o.minCount, '--min-count', 1),
        maxFeatures: int(o.maxFeatures, '--max-features', 1),
        topK: int(o.topK, '--top-k', 1),
        batchSize: int(o.batchSize, '--batch-size', 1),
      };
      // Fail on an existing --out before the slow part; writeOutput checks again when writing.
      if (o.out && existsSync(o.out) && !o.overwrite) fail('BAD_INPUT', `${o.out} already exists`, { hint: 'Pass --overwrite to replace it, or choose another --out' });
      const data = parseTextData(readData(o.data), o.data);

      const model = await openModel(resolveModelArg(o.model));
      const classes = Array.from({ length: model.config.numLabels }, (_, k) => model.config.id2label[k] ?? `LABEL_${k}`);
      const gold = data.gold ? goldIndices(data.gold, classes, o.data) : undefined;
      const ac = new AbortController();
      const onSigint = () => ac.abort();
      process.once('SIGINT', onSigint);
      const progress = progressReporter();
      try {
        const report = await fitSurrogate(model, data.texts, { ...settings, gold, signal: ac.signal, onProgress: progress.onProgress });
        progress.finish();
        const content =
          format === 'json' ? JSON.stringify(report, null, 2) + '\n' : format === 'html' ? renderSurrogateHtml(report) : renderSurrogateTerminal(report) + '\n';
        if (!o.out) process.stdout.write(content);
        else {
          await writeOutput(o.out, content, { overwrite: o.overwrite });
          console.error(`wrote ${o.out}`);
        }
      } finally {
        progress.finish();
        process.removeListener('SIGINT', onSigint);
      }
    });
}
