/**
 * CLI commands for causal analysis: patch, trace, lens, dla, heads, counterfactual. Each prints
 * readable terminal heatmaps (rows layers, columns tokens or heads) by default, JSON with
 * --json / --format json, or a self-contained HTML page of tables with --format html; --out
 * writes a file (atomically, never over an existing file without --overwrite).
 */
import type { Command } from 'commander';
import { fail } from '../errors.js';
import { counterfactual, type CounterfactualResult } from '../causal/counterfactual.js';
import { directLogitAttribution, type DlaResult } from '../causal/dla.js';
import { headImportance, type HeadImportanceResult } from '../causal/heads.js';
import { checkComponent } from '../causal/hooks.js';
import { logitLens, type LensResult } from '../causal/lens.js';
import { activationPatching, attributionPatching, type PatchingResult } from '../causal/patching.js';
import { checkMetric } from '../causal/target.js';
import { causalTrace, type TraceKind, type TraceResult } from '../causal/tracing.js';
import type { ExplainInput, Progress } from '../explain/types.js';
import { escapeHtml } from '../render/html.js';
import { divergingColor, formatNumber, intensity, maxAbs, textColorOn } from '../render/common.js';
import { renderMatrixTerminal } from '../render/terminal.js';
import { createStageProgress } from '../util/progress.js';
import { openModel } from './model-commands.js';
import { writeOutput } from './output.js';
import { idList, optionalInt as int, optionalNumber as num } from './options.js';

interface OutputOptions {
  json?: boolean;
  format: string;
  out?: string;
  overwrite?: boolean;
  color?: boolean;
}

interface CommonOptions extends OutputOptions {
  model?: string;
  text?: string;
  inputIds?: string;
  target?: string;
  foil?: string;
  position?: string;
  batchSize?: string;
}


const asTarget = (v: string | undefined) => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : v);

/** --text or --input-ids, validated before the model loads. */
function inputOf(text: string | undefined, ids: string | undefined, what = '--text', idsFlag = '--input-ids'): ExplainInput {
  if (text !== undefined && ids !== undefined) fail('BAD_INPUT', `give either ${what} or ${idsFlag}, not both`);
  if (text === undefined && ids === undefined) fail('BAD_INPUT', `no input given`, { hint: `Pass ${what} "..." or ${idsFlag} 5,17,3` });
  if (text !== undefined && text.trim() === '') fail('BAD_INPUT', `${what} is empty`);
  return ids !== undefined ? { ids: idList(ids, idsFlag) } : { text };
}

function checkFormat(o: OutputOptions): 'terminal' | 'json' | 'html' {
  const f = o.json ? 'json' : o.format;
  if (!['terminal', 'json', 'html'].includes(f)) fail('BAD_INPUT', `unknown --format '${f}'`, { hint: 'Formats: terminal, json, html' });
  return f as 'terminal' | 'json' | 'html';
}

function withOutput(c: Command): Command {
  return c
    .option('--model <model>', 'model folder or Hugging Face Hub id')
    .option('--json', 'machine-readable output (same as --format json)')
    .option('--format <f>', 'terminal, json or html', 'terminal')
    .option('--out <file>', 'write to a file instead of standard output')
    .option('--overwrite', 'replace --out if it exists')
    .option('--batch-size <n>', 'configurations per engine run (default 64)')
    .option('--no-color', 'terminal: no colours');
}

function withInput(c: Command): Command {
  return withOutput(c)
    .option('--text <text>', 'input text')
    .option('--input-ids <ids>', 'token ids, comma-separated, instead of --text');
}

function withTarget(c: Command, foil = true): Command {
  c.option('--target <x>', 'class index or label (classifiers); token id or single-token string (language models); default: the prediction');
  if (foil) c.option('--foil <y>', 'contrastive foil: measure target minus foil');
  return c.option('--position <i>', 'language models: the position whose prediction is read (default: the last; masked LMs: the mask)');
}

const progress = () => createStageProgress('runs');

/** Run a command body with Ctrl-C cancellation and a progress bar. */
async function running<T>(fn: (signal: AbortSignal, onProgress: (p: Progress) => void) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  const bar = progress();
  try {
    return await fn(ac.signal, bar.onProgress);
  } finally {
    bar.finish();
    process.removeListener('SIGINT', onSigint);
  }
}

async function emit(o: OutputOptions, content: string): Promise<void> {
  if (!o.out) {
    process.stdout.write(content);
    return;
  }
  await writeOutput(o.out, content, { overwrite: o.overwrite });
  console.error(`wrote ${o.out}`);
}

const useColor = (o: OutputOptions) => o.color !== false && !o.out && process.stdout.isTTY === true && !process.env.NO_COLOR;
const fmt = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const round = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(7)) : null);
const roundGrid = (m: number[][]) => m.map((r) => r.map(round));
/** Column labels with their position, so repeated tokens stay apart. */
const posLabels = (tokens: string[]) => tokens.map((t, i) => `${i}:${t}`);

// ---------------------------------------------------------------------------------------
// HTML: one self-contained page of labelled heatmap tables (no script, no network).

interface HtmlMatrix {
  title: string;
  rows: string[];
  cols: string[];
  values: number[][];
}

const rgb = (c: readonly number[]) => `rgb(${c[0]},${c[1]},${c[2]})`;

function matrixHtml(title: string, facts: [string, string][], matrices: HtmlMatrix[], extra = ''): string {
  const table = (m: HtmlMatrix) => {
    const scale = maxAbs(m.values.flat());
    const head = `<tr><th></th>${m.cols.map((c) => `<th class="col">${escapeHtml(c)}</th>`).join('')}</tr>`;
    const body = m.values.map((row, r) => {
      const cells = row.map((v, c) => {
        const bg = divergingColor(intensity(v, scale));
        return `<td style="background:${rgb(bg)};color:${textColorOn(bg)}" title="${escapeHtml(`${m.rows[r]} · ${m.cols[c]}: ${v}`)}">${escapeHtml(Number.isFinite(v) ? formatNumber(v) : String(v))}</td>`;
      });
      return `<tr><th>${escapeHtml(m.rows[r])}</th>${cells.join('')}</tr>`;
    });
    return `<h2>${escapeHtml(m.title)}</h2><table class="m">${head}${body.join('')}</table>`;
  };
  const kv = facts.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const css =
    'body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}' +
    'td,th{padding:3px 6px;border:1px solid #ddd;text-align:right;font-variant-numeric:tabular-nums}th{background:#f6f6f6;font-weight:600}' +
    'th.col{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left}table.kv td,table.kv th{text-align:left}.note{color:#666}';
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">\n` +
    `<title>${escapeHtml(title)}</title>\n<style>${css}</style>\n</head>\n<body>\n<h1>${escapeHtml(title)}</h1>\n` +
    `<table class="kv">${kv}</table>\n${matrices.map(table).join('\n')}\n${extra}\n` +
    `<p class="note">Red: positive, blue: negative, intensity relative to each table's largest |value|; hover a cell for its exact value.</p>\n</body>\n</html>\n`
  );
}

/** A report of facts and matrices: self-contained HTML, or text with token-labelled heatmaps (plus `trailing` lines). */
function emitMatrices(o: OutputOptions, format: string, title: string, facts: [string, string][], matrices: HtmlMatrix[], trailing: string[] = []): Promise<void> {
  if (format === 'html') return emit(o, matrixHtml(title, facts, matrices));
  const color = useColor(o);
  const lines = [title, ...facts.map(([k, v]) => `  ${k}: ${v}`), ...matrices.map((m) => renderMatrixTerminal(m.rows, m.cols, m.values, { color, title: m.title })), ...trailing];
  return emit(o, lines.join('\n') + '\n');
}

// ---------------------------------------------------------------------------------------

interface PatchCli extends OutputOptions {
  model?: string;
  clean?: string;
  corrupt?: string;
  cleanIds?: string;
  corruptIds?: string;
  target?: string;
  foil?: string;
  position?: string;
  component: string;
  hook?: string;
  metric: string;
  layers?: string;
  perPosition?: boolean;
  attribution?: boolean;
  batchSize?: string;
}

function patchJson(r: PatchingResult): object {
  return {
    method: r.method,
    component: r.component,
    metric: r.metric,
    target: r.target,
    tokens: r.tokens,
    corruptedTokens: r.corruptedTokens,
    rows: r.rows,
    cols: r.cols,
    values: roundGrid(r.values),
    clean: round(r.clean),
    corrupted: round(r.corrupted),
    ...(r.patched ? { patched: roundGrid(r.patched), correlation: round(r.correlation ?? NaN) } : {}),
  };
}

async function patchCommand(o: PatchCli): Promise<void> {
  const format = checkFormat(o);
  const clean = inputOf(o.clean, o.cleanIds, '--clean', '--clean-ids');
  const corrupted = inputOf(o.corrupt, o.corruptIds, '--corrupt', '--corrupt-ids');
  const component = o.hook ? undefined : checkComponent(o.component);
  const metric = checkMetric(o.metric);
  const layers = o.layers === undefined ? undefined : o.layers.split(',').map((x) => int(x.trim(), '--layers')!);
  const model = await openModel(o.model);
  const r = await running((signal, onProgress) => {
    const opts = { component, hook: o.hook, metric, target: asTarget(o.target), foil: asTarget(o.foil), position: int(o.position, '--position'), layers, perPosition: o.perPosition, batchSize: int(o.batchSize, '--batch-size', 1), signal, onProgress };
    return o.attribution ? attributionPatching(model, { clean, corrupted }, { ...opts, compare: true }) : activationPatching(model, { clean, corrupted }, opts);
  });
  const cols = r.cols.length === r.tokens.length && r.cols.every((c, i) => c === r.tokens[i]) ? posLabels(r.tokens) : r.cols;
  const title = `${r.method === 'attribution-patching' ? 'attribution patching' : 'activation patching'}: ${r.component}, metric ${r.metric}, target ${r.target.description}`;
  const facts: [string, string][] = [
    ['clean', r.tokens.join(' ')],
    ['corrupted', r.corruptedTokens.join(' ')],
    [`clean ${r.metric === 'normalized' ? 'logit difference' : r.metric}`, fmt(r.clean)],
    [`corrupted ${r.metric === 'normalized' ? 'logit difference' : r.metric}`, fmt(r.corrupted)],
  ];
  if (r.correlation !== undefined) facts.push(['correlation with activation patching', fmt(r.correlation)]);
  if (format === 'json') return emit(o, JSON.stringify(patchJson(r), null, 2) + '\n');
  const matrices: HtmlMatrix[] = [{ title: r.method === 'attribution-patching' ? 'estimate' : 'patched metric', rows: r.rows, cols, values: r.values }];
  if (r.patched) matrices.push({ title: 'activation patching', rows: r.rows, cols, values: r.patched });
  return emitMatrices(o, format, title, facts, matrices);
}

// ---------------------------------------------------------------------------------------

interface TraceCli extends CommonOptions {
  subject?: string;
  samples?: string;
  seed?: string;
  noise?: string;
  window?: string;
  kinds?: string;
}

async function traceCommand(o: TraceCli): Promise<void> {
  const format = checkFormat(o);
  const input = inputOf(o.text, o.inputIds);
  if (o.subject === undefined) fail('BAD_INPUT', 'no subject given', { hint: 'Pass --subject "..." (a part of the text), or START:END token positions with --input-ids' });
  const range = /^(\d+):(\d+)$/.exec(o.subject);
  const subject: string | [number, number] = range && input.ids ? [Number(range[1]), Number(range[2])] : o.subject;
  const kinds = o.kinds === undefined ? undefined : (o.kinds.split(',').map((k) => k.trim()) as TraceKind[]);
  const model = await openModel(o.model);
  const r: TraceResult = await running((signal, onProgress) =>
    causalTrace(model, input, {
      subject,
      target: asTarget(o.target),
      position: int(o.position, '--position'),
      samples: int(o.samples, '--samples', 1),
      seed: int(o.seed, '--seed'),
      noise: num(o.noise, '--noise'),
      window: int(o.window, '--window', 1),
      kinds,
      batchSize: int(o.batchSize, '--batch-size', 1),
      signal,
      onProgress,
    }),
  );
  if (format === 'json') {
    return emit(o, JSON.stringify({ method: r.method, tokens: r.tokens, subject: r.subject, target: r.target, clean: round(r.clean), corrupted: round(r.corrupted), rows: r.rows, effects: Object.fromEntries(Object.entries(r.effects).map(([k, v]) => [k, roundGrid(v!)])), settings: r.settings }, null, 2) + '\n');
  }
  const cols = r.tokens.map((t, i) => `${i >= r.subject[0] && i < r.subject[1] ? '*' : ''}${i}:${t}`);
  const names: Record<TraceKind, string> = { resid: 'restoring the block output (resid)', mlp: `restoring MLP outputs, window ${r.settings.window}`, attn: `restoring attention outputs, window ${r.settings.window}` };
  const matrices = (Object.keys(r.effects) as TraceKind[]).map((k) => ({ title: `indirect effect on p(target), ${names[k]}`, rows: r.rows, cols, values: r.effects[k]! }));
  const title = `causal tracing: target ${r.target.description}`;
  const facts: [string, string][] = [
    ['subject', `tokens ${r.subject[0]}..${r.subject[1] - 1} (* in the columns): ${r.tokens.slice(r.subject[0], r.subject[1]).join(' ')}`],
    ['p(target) clean', fmt(r.clean)],
    ['p(target) corrupted', `${fmt(r.corrupted)} (mean over ${r.settings.samples} noise samples, std ${fmt(r.settings.noiseStd)})`],
  ];
  return emitMatrices(o, format, title, facts, matrices);
}

// ---------------------------------------------------------------------------------------

interface LensCli extends OutputOptions {
  model?: string;
  text?: string;
  inputIds?: string;
  target?: string;
  topK: string;
}

function lensJson(r: LensResult): object {
  return {
    method: r.method,
    tokens: r.tokens,
    rows: r.rows,
    hooks: r.hooks,
    targetIds: r.targetIds,
    targetProbs: roundGrid(r.targetProbs),
    targetRanks: r.targetRanks,
    top: r.top.map((row) => row.map((cell) => cell.map((t) => ({ id: t.id, token: t.token, prob: round(t.prob), logit: round(t.logit) })))),
  };
}

async function lensCommand(o: LensCli): Promise<void> {
  const format = checkFormat(o);
  const input = inputOf(o.text, o.inputIds);
  const topK = int(o.topK, '--top-k', 1)!;
  const model = await openModel(o.model);
  const r = await logitLens(model, input, { topK, target: asTarget(o.target) });
  if (format === 'json') return emit(o, JSON.stringify(lensJson(r), null, 2) + '\n');
  const cols = posLabels(r.tokens);
  const tracked = o.target === undefined ? "each position's final top token" : `token ${JSON.stringify(model.tokenizer?.decode([r.targetIds[0]]) ?? String(r.targetIds[0]))}`;
  const probs = { title: `p(${tracked}) per layer`, rows: r.rows, cols, values: r.targetProbs };
  const topText = (cell: { token: string; prob: number }[]) => cell.map((t) => `${JSON.stringify(t.token)} ${t.prob.toFixed(2)}`).join(', ');
  if (format === 'html') {
    const head = `<tr><th></th>${cols.map((c) => `<th class="col">${escapeHtml(c)}</th>`).join('')}</tr>`;
    const body = r.top.map((row, l) => `<tr><th>${escapeHtml(r.rows[l])}</th>${row.map((cell) => `<td title="${escapeHtml(topText(cell))}">${escapeHtml(cell[0]?.token ?? '')}</td>`).join('')}</tr>`).join('');
    return emit(o, matrixHtml('logit lens', [['tokens', r.tokens.join(' ')], ['tracked', tracked]], [probs], `<h2>top token per layer (hover: top ${topK})</h2><table class="m">${head}${body}</table>`));
  }
  const color = useColor(o);
  const w = 10;
  const cut = (s: string) => {
    const t = JSON.stringify(s).slice(1, -1);
    return [...t].length > w - 1 ? [...t].slice(0, w - 2).join('') + '…' : t;
  };
  const lines = ['logit lens: the final norm and unembedding applied to every layer\'s residual stream', `top-1 token per (layer, position):`, ' '.repeat(7) + cols.map((c) => cut(c).padStart(w)).join('')];
  r.top.forEach((row, l) => lines.push(r.rows[l].padEnd(7) + row.map((cell) => cut(cell[0]?.token ?? '').padStart(w)).join('')));
  const S = r.tokens.length;
  lines.push(`top ${topK} at the last position (${JSON.stringify(r.tokens[S - 1])}):`);
  r.top.forEach((row, l) => lines.push(`  ${r.rows[l].padEnd(6)} ${topText(row[S - 1])}`));
  lines.push(renderMatrixTerminal(probs.rows, probs.cols, probs.values, { color, title: probs.title }));
  return emit(o, lines.join('\n') + '\n');
}

// ---------------------------------------------------------------------------------------

function dlaJson(r: DlaResult): object {
  return {
    method: r.method,
    tokens: r.tokens,
    target: r.target,
    position: r.position,
    heads: roundGrid(r.heads),
    mlp: r.mlp.map(round),
    pieces: r.pieces.map((p) => ({ ...p, value: round(p.value) })),
    normBias: round(r.normBias),
    total: round(r.total),
    logit: round(r.logit),
    reconstruction: r.reconstruction,
  };
}

async function dlaCommand(o: CommonOptions): Promise<void> {
  const format = checkFormat(o);
  const input = inputOf(o.text, o.inputIds);
  const model = await openModel(o.model);
  const r = await directLogitAttribution(model, input, { target: asTarget(o.target), foil: asTarget(o.foil), position: int(o.position, '--position') });
  if (format === 'json') return emit(o, JSON.stringify(dlaJson(r), null, 2) + '\n');
  const H = r.heads[0]?.length ?? 0;
  const grid = { title: 'per head (z·W_O + b_O/heads), and each layer\'s MLP', rows: r.heads.map((_, l) => `L${l}`), cols: [...Array.from({ length: H }, (_, h) => `H${h}`), 'MLP'], values: r.heads.map((row, l) => [...row, r.mlp[l]]) };
  const embeds = r.pieces.filter((p) => p.kind === 'embed' || p.kind === 'pos_embed');
  const title = `direct logit attribution: ${r.target.description}, position ${r.position} (${JSON.stringify(r.tokens[r.position])})`;
  const facts: [string, string][] = [
    ...embeds.map((p) => [p.label, fmt(p.value)] as [string, string]),
    ['final norm bias term', fmt(r.normBias)],
    ['sum of pieces + bias term', fmt(r.total)],
    [r.target.foil ? 'logit difference (model)' : 'logit (model)', fmt(r.logit)],
  ];
  const top = [...r.pieces].sort((a, b) => Math.abs(b.value) - Math.abs(a.value)).slice(0, 8);
  return emitMatrices(o, format, title, facts, [grid], [`largest: ${top.map((p) => `${p.label} ${p.value >= 0 ? '+' : ''}${p.value.toFixed(3)}`).join(', ')}`]);
}

// ---------------------------------------------------------------------------------------

interface HeadsCli extends CommonOptions {
  ablation: string;
  metric: string;
}

async function headsCommand(o: HeadsCli): Promise<void> {
  const format = checkFormat(o);
  const input = inputOf(o.text, o.inputIds);
  if (o.ablation !== 'zero' && o.ablation !== 'mean') fail('BAD_INPUT', `--ablation must be zero or mean, got '${o.ablation}'`);
  if (!['logit', 'logit-diff', 'prob'].includes(o.metric)) fail('BAD_INPUT', `--metric must be logit, logit-diff or prob, got '${o.metric}'`);
  const model = await openModel(o.model);
  const r: HeadImportanceResult = await running((signal, onProgress) =>
    headImportance(model, input, { target: asTarget(o.target), foil: asTarget(o.foil), position: int(o.position, '--position'), ablation: o.ablation as 'zero' | 'mean', metric: o.metric as 'logit', batchSize: int(o.batchSize, '--batch-size', 1), signal, onProgress }),
  );
  if (format === 'json') return emit(o, JSON.stringify({ method: r.method, tokens: r.tokens, target: r.target, metric: r.metric, ablation: r.ablation, base: round(r.base), rows: r.rows, cols: r.cols, values: roundGrid(r.values) }, null, 2) + '\n');
  const title = `head importance: ${r.ablation} ablation of each head, change in ${r.metric} of ${r.target.description}`;
  const facts: [string, string][] = [['tokens', r.tokens.join(' ')], [`${r.metric} without ablation`, fmt(r.base)]];
  const m = { title: `${r.metric}(head ablated) − ${r.metric}`, rows: r.rows, cols: r.cols, values: r.values };
  return emitMatrices(o, format, title, facts, [m]);
}

// ---------------------------------------------------------------------------------------

interface CounterfactualCli extends CommonOptions {
  maxEdits: string;
  candidates: string;
}

async function counterfactualCommand(o: CounterfactualCli): Promise<void> {
  const format = checkFormat(o);
  const input = inputOf(o.text, o.inputIds);
  const model = await openModel(o.model);
  const r: CounterfactualResult = await running((signal, onProgress) =>
    counterfactual(model, input, { maxEdits: int(o.maxEdits, '--max-edits', 1), candidates: int(o.candidates, '--candidates', 1), position: int(o.position, '--position'), batchSize: int(o.batchSize, '--batch-size', 1), signal, onProgress }),
  );
  if (format === 'json') return emit(o, JSON.stringify(r, null, 2) + '\n');
  const what = r.position === null ? 'label' : 'top token';
  const facts: [string, string][] = [
    ['input', r.tokens.join(' ')],
    ['prediction', `${JSON.stringify(r.original.label)} (p=${fmt(r.original.probability, 3)})`],
    [r.flipped ? `flipped ${what} with ${r.edits.length} edit(s)` : `not flipped within ${r.edits.length} edit(s)`, `${JSON.stringify(r.prediction.label)} (p=${fmt(r.prediction.probability, 3)})`],
    ['edited', r.newText ?? r.newTokens.join(' ')],
  ];
  const edits = r.edits.map((e, i) => `  ${i + 1}. position ${e.position}: ${JSON.stringify(e.from.token)} -> ${JSON.stringify(e.to.token)} (HotFlip estimate ${e.estimate.toFixed(3)}, margin after ${e.margin.toFixed(3)})`);
  if (format === 'html') {
    const list = `<h2>edits</h2><ol>${r.edits.map((e) => `<li>position ${e.position}: ${escapeHtml(JSON.stringify(e.from.token))} → ${escapeHtml(JSON.stringify(e.to.token))} (estimate ${escapeHtml(e.estimate.toFixed(3))}, margin after ${escapeHtml(e.margin.toFixed(3))})</li>`).join('')}</ol>`;
    return emit(o, matrixHtml('counterfactual (HotFlip)', facts, [], list));
  }
  return emit(o, ['counterfactual: greedy HotFlip substitutions', ...facts.map(([k, v]) => `  ${k}: ${v}`), 'edits:', ...(edits.length ? edits : ['  (none)'])].join('\n') + '\n');
}

// ---------------------------------------------------------------------------------------

export function registerCausalCommands(program: Command): void {
  withTarget(
    withOutput(program.command('patch').description('Activation patching: copy one activation at a time from a clean run into a corrupted run and measure the target'))
      .option('--clean <text>', 'the clean input text')
      .option('--corrupt <text>', 'the corrupted input text (same token count as --clean)')
      .option('--clean-ids <ids>', 'clean token ids, comma-separated')
      .option('--corrupt-ids <ids>', 'corrupted token ids, comma-separated')
      .option('--component <c>', 'resid-post, resid-pre, resid-mid, attn-out, mlp-out, head-out, head-q, head-k, head-v or head-pattern', 'resid-post')
      .option('--hook <name>', 'patch this hook instead (blocks.{l}.NAME for every layer, or one hook)')
      .option('--metric <m>', 'logit, logit-diff, prob or normalized', 'logit')
      .option('--layers <list>', 'layers to sweep, comma-separated (default all)')
      .option('--per-position', 'head components: one cell per (head, position)')
      .option('--attribution', 'attribution patching (gradient estimate), shown beside real patching with their correlation'),
  ).action(patchCommand);

  withTarget(
    withInput(program.command('trace').description('Causal tracing (ROME): corrupt the subject with noise, restore one state at a time'))
      .option('--subject <s>', 'the subject: a part of the text (or START:END token positions with --input-ids)')
      .option('--samples <n>', 'noise samples (default 10)')
      .option('--seed <s>', 'random seed (default 0)')
      .option('--noise <k>', 'noise standard deviation in units of the embeddings\' standard deviation (default 3)')
      .option('--window <w>', 'layers restored together for attn and mlp (default 10)')
      .option('--kinds <list>', 'resid, mlp, attn (default all)'),
    false,
  ).action(traceCommand);

  withInput(program.command('lens').description('Logit lens: the output head applied to every layer\'s residual stream'))
    .option('--top-k <k>', 'tokens per (layer, position)', '5')
    .option('--target <x>', 'track this token\'s probability and rank (default: each position\'s final top token)')
    .action(lensCommand);

  withTarget(withInput(program.command('dla').description('Direct logit attribution: the final residual stream split into embeddings, heads and MLPs, projected on the target\'s unembedding'))).action(dlaCommand);

  withTarget(
    withInput(program.command('heads').description('Head importance: ablate each head and measure the change of the target'))
      .option('--ablation <a>', 'zero or mean (over positions)', 'zero')
      .option('--metric <m>', 'logit, logit-diff or prob', 'logit'),
  ).action(headsCommand);

  withInput(program.command('counterfactual').description('The fewest token substitutions that flip the prediction (HotFlip candidates, each verified)'))
    .option('--max-edits <k>', 'most substitutions', '3')
    .option('--candidates <n>', 'candidates verified per edit', '20')
    .option('--position <i>', 'language models: the position whose prediction is flipped (default: the last)')
    .action(counterfactualCommand);
}
