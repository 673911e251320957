/**
 * `glassbox distill`: train a smaller BERT student on a teacher classifier's soft labels
 * (src/train/distill.ts) and save it as a Hugging Face checkpoint. The student always uses the
 * teacher's tokenizer. Prints agreement with the teacher, KL, gold accuracy (when the TSV has
 * labels), parameter ratio and measured speed-up on the held-out texts; `--json` prints the
 * report with `out` added. Flag parsing mirrors `glassbox train`.
 */
import type { Command } from 'commander';
import { fail } from '../errors.js';
import { saveCheckpoint } from '../train/checkpoint.js';
import { readTsv } from '../train/data.js';
import { distill, type DistillReport } from '../train/distill.js';
import { createTrainProgress } from '../train/progress.js';
import { openModel } from './model-commands.js';
import { checkOutFolder, number } from './options.js';

interface DistillFlags {
  model?: string;
  data: string;
  out: string;
  layers: string;
  hidden: string;
  heads: string;
  intermediate: string;
  epochs: string;
  lr: string;
  batchSize: string;
  temperature: string;
  alpha: string;
  heldOut: string;
  seed: string;
  maxExamples?: string;
  overwrite?: boolean;
  json?: boolean;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function reportText(r: DistillReport, out: string): string[] {
  const lines = [
    r.tokenizer.note,
    `student: ${r.student.numLayers} layer(s), hidden ${r.student.hiddenSize}, ${r.parameters.student.toLocaleString('en-US')} parameters (${pct(r.parameters.ratio)} of the teacher's ${r.parameters.teacher.toLocaleString('en-US')})`,
    `trained in ${r.training.seconds.toFixed(1)} s (${r.training.steps} steps, ${r.examples.train} texts, T = ${r.temperature}, alpha = ${r.alpha})`,
    `on ${r.examples.heldOut} held-out texts:`,
    `  agreement with the teacher: ${pct(r.agreement)} (teacher's majority class: ${pct(r.teacherMajorityRate)})`,
    `  mean KL(teacher || student) at T = 1: ${r.meanKl.toFixed(4)} nats`,
  ];
  if (r.goldAccuracy) lines.push(`  gold accuracy: teacher ${pct(r.goldAccuracy.teacher)}, student ${pct(r.goldAccuracy.student)}`);
  lines.push(`  speed-up: ${r.speed.speedUp.toFixed(2)}x (teacher ${r.speed.teacherMs.toFixed(1)} ms, student ${r.speed.studentMs.toFixed(1)} ms, median of 3)`);
  lines.push(`saved to ${out}`);
  return lines;
}

export function registerDistillCommand(program: Command): void {
  program
    .command('distill')
    .description("Distil a classifier into a smaller BERT trained on the teacher's soft labels, and save it as a Hugging Face checkpoint")
    .option('--model <model>', 'teacher: classifier folder or Hub id (default: the bundled SST-2 model)')
    .requiredOption('--data <file.tsv>', 'texts: TSV with a header and a sentence, content or text column (a label column, if present, gives gold accuracy)')
    .requiredOption('--out <dir>', 'folder to write the student checkpoint to')
    .option('--layers <n>', 'student transformer layers', '1')
    .option('--hidden <n>', 'student hidden size', '64')
    .option('--heads <n>', 'student attention heads', '2')
    .option('--intermediate <n>', 'student MLP size', '256')
    .option('--epochs <n>', 'passes over the training texts', '10')
    .option('--lr <rate>', 'peak learning rate', '0.002')
    .option('--batch-size <n>', 'examples per update', '32')
    .option('--temperature <T>', 'distillation temperature', '2')
    .option('--alpha <a>', 'weight of the soft loss against the gold labels when the TSV has them (1: soft only)', '1')
    .option('--held-out <fraction>', 'fraction of the texts held out for the report', '0.2')
    .option('--seed <n>', 'seed for the split, initialisation, order and dropout', '42')
    .option('--max-examples <n>', 'use only the first N rows of --data')
    .option('--overwrite', 'replace the checkpoint in an existing --out folder')
    .option('--json', 'print the report as JSON')
    .action(async (o: DistillFlags) => {
      checkOutFolder(o.out, o.overwrite);
      const file = readTsv(o.data, { requireLabels: false });
      const max = o.maxExamples === undefined ? Infinity : number(o.maxExamples, '--max-examples', { integer: true, min: 1 });
      const texts = file.texts.slice(0, max);
      const labels = file.labels?.slice(0, max) ?? null;
      const teacher = await openModel(o.model);
      const { report, checkpoint } = await distill(teacher, texts, {
        labels,
        architecture: {
          numLayers: number(o.layers, '--layers', { integer: true, min: 1 }),
          hiddenSize: number(o.hidden, '--hidden', { integer: true, min: 1 }),
          numHeads: number(o.heads, '--heads', { integer: true, min: 1 }),
          intermediateSize: number(o.intermediate, '--intermediate', { integer: true, min: 1 }),
        },
        epochs: number(o.epochs, '--epochs', { integer: true, min: 1 }),
        lr: number(o.lr, '--lr', { min: 1e-12 }),
        batchSize: number(o.batchSize, '--batch-size', { integer: true, min: 1 }),
        temperature: number(o.temperature, '--temperature', { min: 1e-6 }),
        alpha: number(o.alpha, '--alpha', { min: 0, max: 1 }),
        heldOut: number(o.heldOut, '--held-out', { min: 0 }),
        seed: number(o.seed, '--seed', { integer: true, min: 0 }),
        onProgress: o.json ? undefined : createTrainProgress(),
      });
      const readme = [
        `# ${o.out.split(/[\\/]/).filter(Boolean).pop() ?? 'student'}`,
        '',
        `A BERT classifier distilled from ${teacher.id} with glassbox (\`glassbox distill\`) on ${texts.length} texts of ${o.data}.`,
        '',
        '```json',
        JSON.stringify(report, null, 2),
        '```',
        '',
      ].join('\n');
      await saveCheckpoint(o.out, checkpoint, { overwrite: o.overwrite, readme });
      if (o.json) return void console.log(JSON.stringify({ out: o.out, teacher: teacher.id, ...report }, null, 2));
      for (const line of reportText(report, o.out)) console.log(line);
    });
}
