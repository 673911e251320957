/**
 * `glassbox demo` (`npm run demo`): the founding example, offline, on the bundled model.
 * Prints the prediction with its probability, the integrated-gradients heatmap with its
 * completeness delta and the most attended tokens, and writes a self-contained HTML report
 * (heatmap, attention head view, faithfulness) to a new file whose path it prints.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { explain } from '../explain/explain.js';
import { faithfulness, faithfulnessTable } from '../metrics/faithfulness.js';
import { renderHtml, renderTerminal } from '../render/index.js';
import { writeOutput } from './output.js';
import { faithfulnessText } from './explain-command.js';
import { openModel, resolveModelArg } from './model-commands.js';

export const DEMO_TEXT = 'I absolutely loved this movie! The acting was phenomenal and the plot was captivating.';

/** `base.html`, or `base-2.html`, `base-3.html`, ...: the first name not taken (never overwrite). */
export function freshPath(base: string): string {
  const stem = base.replace(/\.html$/, '');
  if (!existsSync(`${stem}.html`)) return `${stem}.html`;
  for (let k = 2; ; k++) if (!existsSync(`${stem}-${k}.html`)) return `${stem}-${k}.html`;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Explain the founding example with the bundled sentiment model (offline): prediction, integrated gradients, attention, faithfulness, HTML report')
    .option('--model <model>', 'model folder or Hub id (default: the bundled model)')
    .option('--text <text>', 'the sentence to explain', DEMO_TEXT)
    .option('--out <file>', 'the HTML report (default: a new glassbox-demo-report*.html in the current folder)')
    .option('--overwrite', 'replace --out if it exists')
    .option('--no-color', 'no colours in the terminal')
    .action(async (o: { model?: string; text: string; out?: string; overwrite?: boolean; color?: boolean }) => {
      const model = await openModel(resolveModelArg(o.model));
      const color = o.color !== false && process.stdout.isTTY === true && !process.env.NO_COLOR;
      const input = { text: o.text };
      const ig = await explain(model, input, { method: 'integrated-gradients', steps: 50 });
      const att = await explain(model, input, { method: 'attention', layer: 'all' });
      const faith = await faithfulness(model, ig);

      const p = ig.prediction;
      console.log(`model: ${model.id} (${model.arch.family}, ${model.numParameters.toLocaleString('en')} parameters)`);
      console.log(`text:  ${o.text}`);
      console.log(`prediction: ${p.label} (p = ${p.probability.toFixed(3)})\n`);
      console.log(renderTerminal(ig, { color }));
      const attended = att.features
        .map((f, i) => ({ label: f.label, score: att.scores[i], special: f.tokens.every((t) => att.tokens[t].special) }))
        .filter((f) => !f.special)
        .sort((a, b) => b.score - a.score)
        .slice(0, 5);
      console.log(`\nmost attended tokens (from the classifier's token, mean over layers and heads): ${attended.map((f) => `${f.label} ${f.score.toFixed(3)}`).join(', ')}`);
      console.log('\n' + faithfulnessText(faith));

      const html = renderHtml([ig, att], { title: `glassbox demo: ${p.label} (p = ${p.probability.toFixed(3)})`, faithfulness: faithfulnessTable(faith) });
      const out = o.out ?? freshPath(resolve('glassbox-demo-report.html'));
      await writeOutput(out, html, { overwrite: o.overwrite });
      console.log(`\nreport: ${out}`);
    });
}
