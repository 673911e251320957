/**
 * `glassbox explain`: one attribution method on one input, shown in the terminal, as JSON or
 * as a self-contained HTML report. Long runs show a progress bar; Ctrl-C stops cleanly and
 * leaves no partial output file.
 */
import type { Command } from 'commander';
import { fail } from '../errors.js';
import { explain } from '../explain/explain.js';
import { explainGeneration } from '../explain/generation.js';
import { INTEGRATION_RULES, type IntegrationRule } from '../explain/quadrature.js';
import { ALIASES, METHODS, getMethod } from '../explain/registry.js';
import type { Attribution, BaselineSpec, ExplainInput, ExplainOptions, ScoreKind } from '../explain/types.js';
import { faithfulness, faithfulnessTable, type Faithfulness } from '../metrics/faithfulness.js';
import { renderHtml, renderMatrixTerminal, renderTerminal, toJson } from '../render/index.js';
import { createStageProgress } from '../util/progress.js';
import { writeOutput } from './output.js';
import { openModel } from './model-commands.js';
import { idList as ids, optionalInt as int, optionalNumber as num } from './options.js';

interface ExplainCliOptions {
  model?: string;
  text?: string;
  textPair?: string;
  inputIds?: string;
  tokenTypeIds?: string;
  method: string;
  target?: string;
  foil?: string;
  position?: string;
  continuation?: string;
  score?: string;
  steps?: string;
  integration?: string;
  baseline?: string;
  at?: string;
  samples?: string;
  seed?: string;
  noise?: string;
  kernelWidth?: string;
  base?: string;
  layer?: string;
  head?: string;
  batchSize?: string;
  group?: string;
  generate?: string;
  faithfulness?: boolean;
  format: string;
  out?: string;
  overwrite?: boolean;
  full?: boolean;
  color?: boolean;
}


const progressReporter = () => createStageProgress('explain');

export function registerExplainCommand(program: Command): void {
  const methods = [...Object.keys(METHODS), ...Object.keys(ALIASES)];
  program
    .command('explain')
    .description('Attribute a prediction to the input tokens with one method')
    .option('--model <model>', 'model folder or Hugging Face Hub id')
    .option('--text <text>', 'input text')
    .option('--text-pair <text>', 'second text of a pair (BERT-style models)')
    .option('--input-ids <ids>', 'token ids, comma-separated, instead of --text')
    .option('--token-type-ids <ids>', 'token type ids for --input-ids')
    .requiredOption('--method <name>', `attribution method: ${methods.join(', ')}`)
    .option('--target <x>', 'class index or label (classifiers); token id or single-token string (language models)')
    .option('--foil <y>', 'contrastive foil: explain target minus foil')
    .option('--position <i>', 'language models: position whose next-token prediction is explained (default: last)')
    .option('--continuation <text>', 'language models: explain a teacher-forced continuation (sum of log-probabilities)')
    .option('--score <kind>', 'logit, prob or logprob (default logit; logprob for continuations)')
    .option('--steps <n>', 'integrated gradients: integration steps (default 50)')
    .option('--integration <rule>', `integrated gradients: ${INTEGRATION_RULES.join(', ')} (default gauss-legendre)`)
    .option('--baseline <b>', 'zero (default), pad, mask, unk, token:ID or text:"..."')
    .option('--at <hook>', 'attribute at a hook instead of the word embeddings, e.g. blocks.3.hook_resid_pre')
    .option('--samples <n>', 'samples for sampling methods (LIME, SHAP, SmoothGrad)')
    .option('--seed <s>', 'random seed (default 0)')
    .option('--kernel-width <w>', 'LIME: width of the exponential kernel on cosine distance (default 1)')
    .option('--noise <level>', 'SmoothGrad/VarGrad noise, a fraction of the input range (default 0.15)')
    .option('--base <method>', 'SmoothGrad/VarGrad: the gradient method to wrap (default saliency)')
    .option('--layer <l>', 'attention methods: layer index or all')
    .option('--head <h>', 'attention methods: head index or all (mean)')
    .option('--batch-size <n>', 'items per engine run (default 50)')
    .option('--group <g>', 'features: tokens (default), words, or spans of token indices, e.g. spans:0-3,3-7 (end exclusive)')
    .option('--generate <n>', 'language models: greedily generate N tokens and attribute each to what came before')
    .option('--faithfulness', 'add comprehensiveness and sufficiency (ERASER AOPC), with a random ranking for comparison')
    .option('--format <f>', 'terminal, json or html', 'terminal')
    .option('--out <file>', 'write to a file instead of standard output')
    .option('--overwrite', 'replace --out if it exists')
    .option('--full', 'json: include the per-dimension attributions')
    .option('--no-color', 'terminal: no colours')
    .action(async (o: ExplainCliOptions) => {
      if (!['terminal', 'json', 'html'].includes(o.format)) fail('BAD_INPUT', `unknown --format '${o.format}'`, { hint: 'Formats: terminal, json, html' });
      const method = getMethod(o.method); // unknown methods fail before the model loads
      if (o.integration && !INTEGRATION_RULES.includes(o.integration as IntegrationRule)) {
        fail('BAD_INPUT', `unknown --integration '${o.integration}'`, { hint: `Rules: ${INTEGRATION_RULES.join(', ')}` });
      }
      if (o.score && !['logit', 'prob', 'logprob'].includes(o.score)) fail('BAD_INPUT', `--score must be logit, prob or logprob, got '${o.score}'`);
      const group = parseGroup(o.group);
      const steps = int(o.steps, '--steps', 1);
      if (o.text !== undefined && o.inputIds !== undefined) fail('BAD_INPUT', 'give either --text or --input-ids, not both');
      if (o.text === undefined && o.inputIds === undefined) fail('BAD_INPUT', 'no input given', { hint: 'Pass --text "..." or --input-ids 5,17,3' });
      if (o.text !== undefined && o.text.trim() === '') fail('BAD_INPUT', 'the text is empty');

      const model = await openModel(o.model);
      const input: ExplainInput = o.inputIds !== undefined ? { ids: ids(o.inputIds, '--input-ids'), typeIds: o.tokenTypeIds ? ids(o.tokenTypeIds, '--token-type-ids') : undefined } : { text: o.text, pair: o.textPair };
      const ac = new AbortController();
      const onSigint = () => ac.abort();
      process.once('SIGINT', onSigint);
      const progress = progressReporter();
      const asTarget = (v: string | undefined) => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : v);
      const options: ExplainOptions = {
        method: method.spec.name,
        target: asTarget(o.target),
        foil: asTarget(o.foil),
        position: int(o.position, '--position'),
        continuation: o.continuation,
        score: o.score as ScoreKind | undefined,
        steps,
        integration: o.integration as IntegrationRule | undefined,
        baseline: o.baseline as BaselineSpec | undefined,
        at: o.at ?? (o.method in ALIASES ? undefined : undefined),
        samples: int(o.samples, '--samples', 1),
        seed: int(o.seed, '--seed'),
        noise: num(o.noise, '--noise'),
        kernelWidth: num(o.kernelWidth, '--kernel-width'),
        base: o.base as ExplainOptions['base'],
        layer: o.layer === undefined ? undefined : o.layer === 'all' ? 'all' : int(o.layer, '--layer'),
        head: o.head === undefined ? undefined : o.head === 'all' ? 'all' : int(o.head, '--head'),
        batchSize: int(o.batchSize, '--batch-size', 1),
        group,
        full: o.full,
        signal: ac.signal,
        onProgress: progress.onProgress,
      };
      try {
        if (o.generate !== undefined) {
          const n = int(o.generate, '--generate', 1)!;
          const gen = await explainGeneration(model, input, n, options);
          progress.finish();
          const rows = gen.generated.map((g) => g.label);
          if (o.format === 'json') {
            return await emit(o, JSON.stringify({ method: method.spec.name, tokens: gen.tokens, promptLength: gen.promptLength, generated: gen.generated, matrix: gen.matrix, rows: gen.rows.map((r) => toJson(r)) }, null, 2) + '\n');
          }
          if (o.format === 'html') return await emit(o, renderHtml(gen.rows, { title: `glassbox: ${method.spec.name}, generation` }));
          return await emit(o, `generated: ${JSON.stringify(rows.join(''))}\n` + renderMatrixTerminal(rows, gen.tokens, gen.matrix) + '\n');
        }
        const a: Attribution = await explain(model, input, options);
        let faith: Faithfulness | undefined;
        if (o.faithfulness) faith = await faithfulness(model, a, { baseline: options.baseline, seed: options.seed, signal: ac.signal, onProgress: progress.onProgress });
        progress.finish();
        if (o.format === 'json') {
          const json = toJson(a, { full: o.full }) as Record<string, unknown>;
          if (faith) json.faithfulness = faith;
          return await emit(o, JSON.stringify(json, null, 2) + '\n');
        }
        if (o.format === 'html') return await emit(o, renderHtml(a, { faithfulness: faith ? faithfulnessTable(faith) : undefined }));
        const color = o.color !== false && !o.out && process.stdout.isTTY === true && !process.env.NO_COLOR;
        let text = renderTerminal(a, { color });
        if (faith) text += '\n' + faithfulnessText(faith);
        return await emit(o, text + '\n');
      } finally {
        progress.finish();
        process.removeListener('SIGINT', onSigint);
      }
    });
}

/** --group: tokens, words, or spans:a-b,c-d (token index ranges, end exclusive). */
export function parseGroup(g: string | undefined): ExplainOptions['group'] {
  if (g === undefined || g === 'tokens' || g === 'words') return g;
  const m = /^spans:(\d+-\d+(?:,\d+-\d+)*)$/.exec(g);
  if (!m) fail('BAD_INPUT', `--group must be tokens, words or spans:START-END,..., got '${g}'`, { hint: 'For example --group spans:0-3,3-7 (token indices, end exclusive)' });
  return { spans: m[1].split(',').map((r) => r.split('-').map(Number) as [number, number]) };
}

async function emit(o: ExplainCliOptions, content: string): Promise<void> {
  if (!o.out) {
    process.stdout.write(content);
    return;
  }
  await writeOutput(o.out, content, { overwrite: o.overwrite });
  console.error(`wrote ${o.out}`);
}

export function faithfulnessText(f: Faithfulness): string {
  const row = (name: string, xs: number[]) => `  ${name.padEnd(20)} ${xs.map((x) => x.toFixed(4).padStart(9)).join('')}`;
  return [
    `faithfulness (ERASER; p(target) = ${f.p.toFixed(4)}; removal by ${f.baseline} embeddings)`,
    `  ${'top-k%'.padEnd(20)} ${f.bins.map((b) => `${b}%`.padStart(9)).join('')}`,
    row('comprehensiveness', f.comprehensiveness),
    row('  random ranking', f.random.comprehensiveness),
    row('sufficiency', f.sufficiency),
    row('  random ranking', f.random.sufficiency),
    `  AOPC comprehensiveness ${f.aopcComprehensiveness.toFixed(4)} (random ${f.random.aopcComprehensiveness.toFixed(4)}) ${f.beatsRandom.comprehensiveness ? 'beats' : 'does not beat'} chance`,
    `  AOPC sufficiency       ${f.aopcSufficiency.toFixed(4)} (random ${f.random.aopcSufficiency.toFixed(4)}) ${f.beatsRandom.sufficiency ? 'beats' : 'does not beat'} chance (lower is better)`,
  ].join('\n');
}
