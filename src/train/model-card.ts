/**
 * The README.md model card written beside a trained checkpoint: what it was trained on, the
 * architecture, the settings, how well it does and how long it took, and what it is not for
 * (Mitchell et al. 2019, "Model Cards for Model Reporting", in the Hugging Face Hub's layout:
 * YAML metadata, then prose).
 */
import { formatDuration } from '../util/progress.js';
import type { TrainResult } from './trainer.js';

export interface ModelCardInfo {
  name: string;
  /** One paragraph on the training data. */
  data: string;
  /** What the validation (early-stopping) examples are (default 'held-out training examples'). */
  validationName?: string;
  /** Accuracy on a test or dev set, if measured. */
  test?: { name: string; examples: number; accuracy: number; loss: number };
  /** Total wall-clock time (tokenizer, training, evaluation), seconds. */
  seconds: number;
  /** The command that reproduces the model. */
  command?: string;
  /** Machine description for the timing. */
  machine?: string;
  limitations?: string[];
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export function modelCard(r: TrainResult, info: ModelCardInfo): string {
  const c = r.config;
  const vocab = Object.keys(((r.tokenizerJson.model ?? {}) as { vocab?: object }).vocab ?? {}).length;
  const s = r.settings;
  const dropout = s.dropout as { hidden: number; attention: number };
  const lines = [
    '---',
    'language: en',
    'license: mit',
    'library_name: transformers',
    'pipeline_tag: text-classification',
    'tags: [glassbox, bert, sentiment, sst2]',
    ...(info.test ? ['metrics: [accuracy]'] : []),
    '---',
    '',
    `# ${info.name}`,
    '',
    'A small BERT sentiment classifier (negative / positive) trained from scratch, on CPU, by glassbox\'s own',
    'training loop (forward and backward passes as ONNX graphs run by ONNX Runtime, AdamW on the host).',
    'It is the model glassbox bundles so that its explanation methods have something real to explain.',
    '',
    '## Data',
    '',
    info.data,
    '',
    '## Architecture',
    '',
    '`BertForSequenceClassification` (Hugging Face transformers layout: loads with `from_pretrained` and with glassbox\'s `loadModel`).',
    '',
    '| setting | value |',
    '| --- | --- |',
    `| layers | ${c.num_hidden_layers} |`,
    `| hidden size | ${c.hidden_size} |`,
    `| attention heads | ${c.num_attention_heads} |`,
    `| intermediate (MLP) size | ${c.intermediate_size} |`,
    `| max positions | ${c.max_position_embeddings} |`,
    `| vocabulary | ${vocab} WordPiece tokens, learned from the training text (lower-cased) |`,
    `| parameters | ${r.model.numParameters.toLocaleString('en-US')} |`,
    `| labels | ${Object.entries((c.id2label ?? {}) as Record<string, string>).map(([k, v]) => `${k} = ${v}`).join(', ')} |`,
    '',
    '## Training',
    '',
    '| setting | value |',
    '| --- | --- |',
    `| examples | ${Number(s.trainExamples).toLocaleString('en-US')} for training, ${Number(s.validationExamples).toLocaleString('en-US')} held out for early stopping |`,
    `| optimiser | AdamW (betas 0.9, 0.999, eps 1e-8), weight decay ${s.weightDecay} (not on biases and LayerNorm weights) |`,
    `| learning rate | ${s.lr}, ${s.schedule} schedule, warm-up ${pct(Number(s.warmupRatio))} of the steps |`,
    `| batch size | ${s.batchSize} (padded to multiples of 8 tokens, at most ${s.maxLength}) |`,
    `| epochs | ${s.epochs}${s.maxSteps ? ` (at most ${s.maxSteps} steps)` : ''}; ${r.steps} steps run (${r.stopReason.replace('_', ' ')}) |`,
    `| regularisation | ${[
      `dropout ${dropout.hidden} (hidden), ${dropout.attention} (attention)`,
      Number(s.tokenDropout) > 0 ? `word dropout ${s.tokenDropout} (tokens replaced by [MASK])` : '',
      Number(s.labelSmoothing) > 0 ? `label smoothing ${s.labelSmoothing}` : '',
      Number(s.emaDecay) > 0 ? `weights averaged (EMA, decay ${s.emaDecay}), the average evaluated and kept` : '',
      `gradient clipping at norm ${s.maxGradNorm}`,
    ].filter(Boolean).join('; ')} |`,
    `| early stopping | evaluation every ${s.evalEvery} steps${s.patience ? `, patience ${s.patience}` : ''}; the weights kept are those of the best validation accuracy (step ${r.best?.step ?? '-'}) |`,
    `| seed | ${s.seed} (initialisation, order and dropout are all seeded: the run reproduces) |`,
    '',
    '## Results',
    '',
    '| split | examples | accuracy | loss |',
    '| --- | --- | --- | --- |',
    ...(r.best ? [`| ${info.validationName ?? 'held-out training examples'} (validation) | ${s.validationExamples} | ${pct(r.best.accuracy)} | ${r.best.loss.toFixed(4)} |`] : []),
    ...(info.test ? [`| ${info.test.name} | ${info.test.examples} | **${pct(info.test.accuracy)}** | ${info.test.loss.toFixed(4)} |`] : []),
    '',
    `Training time: ${formatDuration(info.seconds)} in all${info.machine ? ` on ${info.machine}` : ''} (the training loop itself ${formatDuration(r.seconds)}).`,
    ...(info.command ? ['', 'Reproduce with:', '', '```sh', info.command, '```'] : []),
    '',
    '## Limitations',
    '',
    ...(info.limitations ?? [
      'Trained on movie-review phrases only (SST-2): other domains, registers and topics will be classified less reliably.',
      'English only, lower-cased; its vocabulary was learned from about 67,000 short phrases, so rarer words are split into pieces it saw little of.',
      'Binary sentiment: there is no neutral class; mixed or neutral text still gets one of the two labels.',
      'A small model trained from scratch in minutes, far below pretrained models (which reach 90-95% on SST-2): a demonstration and test subject for explanation methods, not a production classifier.',
    ]).map((l) => `- ${l}`),
    '',
  ];
  return lines.join('\n');
}
