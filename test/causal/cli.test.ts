/**
 * `glassbox patch | trace | lens | dla | heads | counterfactual`, run in-process through the
 * CLI's main(): JSON with the documented keys and the library's numbers, terminal heatmaps with
 * token labels, HTML files through --out, and each bad input as one `error:` line with exit 1.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { tinyBertTokenizerJson } from '../helpers/tiny-bert.js';
import { FIXTURES } from './helpers.js';

const temp = mkdtempSync(join(tmpdir(), 'glassbox-causal-cli-'));
after(() => rmSync(temp, { recursive: true, force: true }));
const bert = join(temp, 'tiny-bert');
mkdirSync(bert);
for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(FIXTURES, 'tiny-bert-cls', f), join(bert, f));
writeFileSync(join(bert, 'tokenizer.json'), JSON.stringify(tinyBertTokenizerJson()));
const gpt2 = join(FIXTURES, 'tiny-gpt2');
const llama = join(FIXTURES, 'tiny-llama');

/**
 * Run the CLI in this process, capturing what it prints (strings on stdout, console.log and
 * console.error). Binary chunks pass through: they are the test runner's own reports.
 */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { write: process.stdout.write, log: console.log, error: console.error };
  process.stdout.write = ((c: string | Uint8Array, ...rest: never[]) => {
    if (typeof c !== 'string') return saved.write.call(process.stdout, c, ...rest);
    out.push(c);
    return true;
  }) as typeof process.stdout.write;
  console.log = (...a: unknown[]) => void out.push(a.join(' ') + '\n');
  console.error = (...a: unknown[]) => void err.push(a.join(' ') + '\n');
  try {
    const code = await main(args);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = saved.write;
    console.log = saved.log;
    console.error = saved.error;
  }
}

function expectError(r: { code: number; out: string; err: string }, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit code; stderr: ${r.err}`);
  assert.match(r.err, /^error: /m);
  assert.match(r.err, pattern);
  assert.equal(r.out, '');
}

const clean = '5,17,42,8,33,21,9';
const corrupt = '5,17,11,8,33,21,9';

describe('glassbox patch', () => {
  it('--json: component, metric, tokens, values [layer][position], clean, corrupted', async () => {
    const r = await cli('patch', '--model', gpt2, '--clean-ids', clean, '--corrupt-ids', corrupt, '--target', '7', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    for (const k of ['component', 'metric', 'tokens', 'values', 'clean', 'corrupted']) assert.ok(k in j, k);
    assert.equal(j.component, 'resid-post');
    assert.equal(j.metric, 'logit');
    const ref = JSON.parse(readFileSync(join(gpt2, 'reference.json'), 'utf8')).activation_patching;
    j.values.forEach((row: number[], l: number) => row.forEach((v, i) => assert.ok(Math.abs(v - ref.patched_target_logit[l][i]) < 1e-4)));
  });

  it('terminal heatmap with token labels; head-out columns are heads; --attribution adds the correlation', async () => {
    const r = await cli('patch', '--model', bert, '--clean', 'the movie was great', '--corrupt', 'the film was great', '--target', '1', '--metric', 'normalized', '--component', 'mlp-out');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /activation patching: mlp-out, metric normalized/);
    assert.match(r.out, /2:movie/);
    assert.match(r.out, /^L1 /m);
    const h = await cli('patch', '--model', gpt2, '--clean-ids', clean, '--corrupt-ids', corrupt, '--target', '7', '--component', 'head-out', '--attribution');
    assert.equal(h.code, 0, h.err);
    assert.match(h.out, /H0 +H1/);
    assert.match(h.out, /correlation with activation patching: /);
  });

  it('--format html --out writes a self-contained page, and will not overwrite it', async () => {
    const file = join(temp, 'patch.html');
    const r = await cli('patch', '--model', llama, '--clean-ids', '1,17,42,8,33,21,9', '--corrupt-ids', '1,17,11,8,33,21,9', '--target', '7', '--format', 'html', '--out', file);
    assert.equal(r.code, 0, r.err);
    const html = readFileSync(file, 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /default-src 'none'/);
    assert.match(html, /<table class="m">/);
    expectError(await cli('patch', '--model', llama, '--clean-ids', '1,2', '--corrupt-ids', '1,3', '--format', 'html', '--out', file), /already exists/);
  });

  it('bad input: token counts differ (both tokenizations shown), unknown component, no model, a hook the architecture lacks', async () => {
    expectError(
      await cli('patch', '--model', bert, '--clean', 'the movie was great', '--corrupt', 'the film was really great', '--target', '1'),
      /the clean input has 6 tokens but the corrupted input has 7; they must align token by token\. Clean tokens: "\[CLS\]" "the" "movie" "was" "great" "\[SEP\]" \| corrupted tokens: "\[CLS\]" "the" "film" "was" "really" "great" "\[SEP\]"/,
    );
    expectError(await cli('patch', '--model', bert, '--clean', 'a', '--corrupt', 'b', '--component', 'resid'), /unknown component 'resid'/);
    expectError(await cli('patch', '--model', gpt2, '--clean-ids', clean, '--corrupt-ids', corrupt, '--hook', 'blocks.{l}.attn.hook_rot_k'), /GPT-2 has no hook 'blocks.0.attn.hook_rot_k'/);
  });
});

describe('glassbox trace, lens, dla, heads, counterfactual', () => {
  it('trace: --json effects per kind; terminal marks the subject; a missing subject is an error', async () => {
    const r = await cli('trace', '--model', bert, '--text', 'the movie was really great', '--subject', 'movie', '--samples', '2', '--window', '1', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.subject, [2, 3]);
    assert.deepEqual(Object.keys(j.effects).sort(), ['attn', 'mlp', 'resid']);
    assert.equal(j.effects.resid.length, 2);
    const t = await cli('trace', '--model', gpt2, '--input-ids', clean, '--subject', '1:3', '--target', '7', '--samples', '2', '--kinds', 'resid');
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /\*1:17/);
    assert.match(t.out, /indirect effect on p\(target\)/);
    expectError(await cli('trace', '--model', bert, '--text', 'the movie was great', '--subject', 'the plot'), /subject "the plot" not found in the text/);
  });

  it('lens: top tokens per layer; a classifier is refused', async () => {
    const r = await cli('lens', '--model', gpt2, '--input-ids', clean, '--top-k', '2', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.rows, ['embed', 'L0', 'L1']);
    assert.equal(j.top[2][6].length, 2);
    const t = await cli('lens', '--model', llama, '--input-ids', clean);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /top-1 token per \(layer, position\)/);
    expectError(await cli('lens', '--model', bert, '--text', 'the movie'), /the logit lens needs a language-model head/);
  });

  it('dla: pieces sum to the logit; BERT is refused', async () => {
    const r = await cli('dla', '--model', gpt2, '--input-ids', clean, '--target', '7', '--foil', '3', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.ok(Math.abs(j.total - j.logit) < 1e-4);
    const t = await cli('dla', '--model', llama, '--input-ids', clean, '--target', '7');
    assert.match(t.out, /sum of pieces \+ bias term/);
    expectError(await cli('dla', '--model', bert, '--text', 'the movie'), /post-LN encoder/);
  });

  it('heads: a layer × head grid', async () => {
    const r = await cli('heads', '--model', llama, '--input-ids', clean, '--target', '7', '--ablation', 'mean', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual([j.values.length, j.values[0].length], [2, 4]);
    const t = await cli('heads', '--model', bert, '--text', 'the movie was great', '--target', '1');
    assert.match(t.out, /H0 +H1/);
    expectError(await cli('heads', '--model', bert, '--text', 'x', '--ablation', 'max'), /--ablation must be zero or mean/);
  });

  it('counterfactual: edits and the new prediction', async () => {
    const r = await cli('counterfactual', '--model', bert, '--text', 'the movie was really great', '--max-edits', '3');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /flipped label with \d edit/);
    assert.match(r.out, /position \d: "\S+" -> "\S+"/);
    const j = JSON.parse((await cli('counterfactual', '--model', gpt2, '--input-ids', clean, '--max-edits', '1', '--json')).out);
    assert.equal(j.edits.length, 1);
  });
});
