/**
 * `glassbox explain` as a user runs it (bin/glassbox.js over dist/): formats, files, and every
 * bad input the issue lists, each a one-line error and a non-zero exit. Numbers: the JSON
 * scores equal the library's (which test/explain checks against Captum).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tinyBertTokenizerJson } from '../helpers/tiny-bert.js';

const ROOT = join(import.meta.dirname, '../..');
const FIXTURES = join(ROOT, '../shared/fixtures/hf-reference');
const temp = mkdtempSync(join(tmpdir(), 'glassbox-explain-cli-'));
after(() => rmSync(temp, { recursive: true, force: true }));

const bert = join(temp, 'tiny-bert');
const gpt2 = join(FIXTURES, 'tiny-gpt2');
for (const f of ['config.json', 'model.safetensors']) {
  if (!existsSync(bert)) spawnSync('mkdir', [bert]);
  copyFileSync(join(FIXTURES, 'tiny-bert-cls', f), join(bert, f));
}
writeFileSync(join(bert, 'tokenizer.json'), JSON.stringify(tinyBertTokenizerJson()));

const env = { ...process.env, HF_ENDPOINT: 'http://127.0.0.1:9', HF_HUB_OFFLINE: '1', NO_COLOR: '1' };
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/glassbox.js'), 'explain', ...args], { encoding: 'utf8', env, cwd: temp });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

function expectError(r: { code: number | null; out: string; err: string }, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit code; stderr: ${r.err}`);
  assert.match(r.err, pattern);
  assert.match(r.err, /^error: /m);
  assert.doesNotMatch(r.err, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  assert.equal(r.out, '', 'nothing on stdout');
}

describe('glassbox explain', () => {
  it('terminal output shows the prediction, the heatmap text and the completeness delta', () => {
    const r = run('--model', bert, '--text', 'this movie was great', '--method', 'integrated-gradients', '--steps', '16');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /integrated-gradients/);
    assert.match(r.out, /movie/);
    assert.match(r.out, /completeness delta/);
  });

  it('json output has the documented keys, offsets into the text and the delta', () => {
    const r = run('--model', bert, '--text', 'this movie was great', '--method', 'integrated-gradients', '--format', 'json', '--full');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    for (const k of ['method', 'tokens', 'features', 'scores', 'target', 'prediction', 'settings', 'quality', 'delta', 'full']) assert.ok(k in j, `key ${k}`);
    const movie = j.tokens.find((t: { text: string }) => t.text === 'movie');
    assert.equal('this movie was great'.slice(movie.start, movie.end), 'movie');
    assert.equal(j.full.length, j.tokens.length);
    assert.ok(Math.abs(j.delta) < 0.05 * Math.abs(j.quality.fx - j.quality.fBaseline) + 1e-4, `delta ${j.delta}`);
  });

  it('--faithfulness adds comprehensiveness and sufficiency with a random ranking', () => {
    const r = run('--model', bert, '--text', 'this movie was great', '--method', 'input-x-gradient', '--faithfulness', '--format', 'json');
    assert.equal(r.code, 0, r.err);
    const f = JSON.parse(r.out).faithfulness;
    assert.deepEqual(f.bins, [1, 5, 10, 20, 50]);
    assert.equal(f.comprehensiveness.length, 5);
    assert.equal(f.random.sufficiency.length, 5);
  });

  it('html goes to a new file, refuses to overwrite, and --overwrite replaces', () => {
    const out = join(temp, 'report.html');
    const r = run('--model', bert, '--text', 'this movie was great', '--method', 'attention', '--format', 'html', '--out', out);
    assert.equal(r.code, 0, r.err);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /<html/i);
    assert.doesNotMatch(html, /https?:\/\//);
    const again = run('--model', bert, '--text', 'this movie was great', '--method', 'attention', '--format', 'html', '--out', out);
    expectError(again, /already exists.*--overwrite/);
    assert.equal(readFileSync(out, 'utf8'), html, 'the existing file is untouched');
    assert.equal(run('--model', bert, '--text', 'this movie was bad', '--method', 'attention', '--format', 'html', '--out', out, '--overwrite').code, 0);
  });

  it('generation mode prints a matrix for a language model', () => {
    const r = run('--model', gpt2, '--input-ids', '5,17,42', '--method', 'saliency', '--generate', '2', '--format', 'json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.matrix.length, 2);
    assert.equal(j.generated.length, 2);
  });

  it('--group spans:a-b merges token ranges into features', () => {
    const r = run('--model', bert, '--text', 'this movie was great', '--method', 'occlusion', '--group', 'spans:0-1,1-3,3-6', '--format', 'json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.features.map((f: { tokens: number[] }) => f.tokens), [[0], [1, 2], [3, 4, 5]]);
    assert.equal(j.scores.length, 3);
  });
  it('--group with a bad span', () => expectError(run('--model', bert, '--text', 'good', '--method', 'occlusion', '--group', 'spans:0-9'), /span \[0, 9\) is not inside the 3 tokens/));
  it('unknown method: error listing the methods', () => expectError(run('--model', bert, '--text', 'good', '--method', 'magic'), /unknown method 'magic'.*integrated-gradients/));
  it('target out of range', () => expectError(run('--model', bert, '--text', 'good', '--method', 'saliency', '--target', '5'), /class 5 is out of range.*2 classes/));
  it('unknown label', () => expectError(run('--model', bert, '--text', 'good', '--method', 'saliency', '--target', 'happy'), /'happy' is not a label.*LABEL_0/));
  it('language-model target outside the vocabulary', () =>
    expectError(run('--model', gpt2, '--input-ids', '5,17', '--method', 'saliency', '--target', '99'), /token id 99 is outside the vocabulary/));
  it('--generate on a classifier', () => expectError(run('--model', bert, '--text', 'good', '--method', 'saliency', '--generate', '2'), /--generate needs a causal language model/));
  it('steps < 1', () => expectError(run('--model', bert, '--text', 'good', '--method', 'integrated-gradients', '--steps', '0'), /--steps must be an integer >= 1/));
  it('baseline text of another length', () =>
    expectError(run('--model', bert, '--text', 'this movie was great', '--method', 'integrated-gradients', '--baseline', 'text:a movie'), /baseline text has 4 tokens but the input has 6/));
  it('unknown hook for --at', () => expectError(run('--model', bert, '--text', 'good', '--method', 'saliency', '--at', 'blocks.9.hook_resid_pre'), /no hook 'blocks\.9\.hook_resid_pre'/));
  it('empty text', () => expectError(run('--model', bert, '--text', '  ', '--method', 'saliency'), /text is empty/));
  it('unknown format', () => expectError(run('--model', bert, '--text', 'good', '--method', 'saliency', '--format', 'pdf'), /unknown --format 'pdf'/));
});
