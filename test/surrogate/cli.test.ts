/**
 * `glassbox surrogate` as a user runs it (the CLI from src/ through tsx): JSON that parses and
 * matches the library, HTML, --out, and the bad inputs the issue lists, each one line on
 * stderr with exit code 1 and nothing on stdout.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { uniform } from '../../src/util/random.js';
import { tinyBertTokenizerJson } from '../helpers/tiny-bert.js';

const ROOT = join(import.meta.dirname, '../..');
const FIXTURES = join(ROOT, '../shared/fixtures/hf-reference');
const temp = mkdtempSync(join(tmpdir(), 'glassbox-surrogate-cli-'));
after(() => rmSync(temp, { recursive: true, force: true }));

const bert = join(temp, 'tiny-bert');
mkdirSync(bert);
for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(FIXTURES, 'tiny-bert-cls', f), join(bert, f));
writeFileSync(join(bert, 'tokenizer.json'), JSON.stringify(tinyBertTokenizerJson()));

const WORDS = ['the', 'movie', 'was', 'good', 'bad', 'great', 'terrible', 'plot', 'acting', 'not', 'very', 'fun', 'boring', 'i', 'love', 'hate'];
const u = uniform(12);
const rows = Array.from({ length: 120 }, () => {
  const words = Array.from({ length: 3 + Math.floor(u() * 5) }, () => WORDS[Math.floor(u() * WORDS.length)]);
  return `${words.includes('good') || words.includes('great') ? 1 : 0}\t${words.join(' ')}`;
});
const data = join(temp, 'data.tsv');
writeFileSync(data, `label\tsentence\n${rows.join('\n')}\n`);

// tsx by its resolved URL: the commands run in the temporary folder, where a bare 'tsx' does not resolve.
const TSX = import.meta.resolve('tsx');
const env = { ...process.env, HF_ENDPOINT: 'http://127.0.0.1:9', HF_HUB_OFFLINE: '1', NO_COLOR: '1' };
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['--import', TSX, join(ROOT, 'test/surrogate/cli-entry.ts'), 'surrogate', ...args], { encoding: 'utf8', env, cwd: temp });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

/**
 * Errors in-process through main() (a process start per case would cost a second each):
 * exit code 1, one `error:` line, no stack trace, nothing written to stdout.
 */
async function expectError(args: string[], pattern: RegExp): Promise<void> {
  const err: string[] = [];
  const out: string[] = [];
  const saved = { error: console.error, log: console.log };
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  let code: number;
  try {
    code = await main(['surrogate', ...args]);
  } finally {
    Object.assign(console, { error: saved.error, log: saved.log });
  }
  const stderr = err.join('\n');
  assert.equal(code, 1, `exit code; stderr: ${stderr}`);
  assert.match(stderr, pattern);
  assert.match(stderr, /^error: /);
  assert.equal(err.length, 1, 'one line');
  assert.doesNotMatch(stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  assert.deepEqual(out, [], 'nothing on stdout');
}

describe('glassbox surrogate', () => {
  it('--format json parses and is a consistent report', () => {
    const r = run('--model', bert, '--data', data, '--format', 'json', '--seed', '3', '--kind', 'tree', '--max-depth', '2');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    for (const k of ['format', 'kind', 'classes', 'counts', 'features', 'fidelity', 'accuracy', 'topFeatures', 'rules', 'settings']) assert.ok(k in j, `key ${k}`);
    assert.equal(j.kind, 'tree');
    assert.equal(j.counts.used, 120);
    assert.equal(j.counts.fit + j.counts.test, 120);
    assert.equal(j.settings.seed, 3);
    assert.ok(j.tree.depth <= 2);
    assert.equal(j.accuracy.n, j.counts.test);
  });

  it('terminal output and an HTML file with --out (never over an existing file without --overwrite)', () => {
    const t = run('--model', bert, '--data', data, '--ngrams', '2');
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /fidelity \(agreement with the model\): test/);
    assert.match(t.out, /non-zero coefficients: \d+ of \d+/);
    const out = join(temp, 'report.html');
    const h = run('--model', bert, '--data', data, '--format', 'html', '--out', out);
    assert.equal(h.code, 0, h.err);
    assert.match(readFileSync(out, 'utf8'), /^<!DOCTYPE html>[\s\S]*Fidelity/);
  });

  it('--out over an existing file without --overwrite is an error, before the model loads', async () => {
    const out = join(temp, 'exists.html');
    writeFileSync(out, 'mine');
    await expectError(['--model', join(temp, 'no-model'), '--data', data, '--format', 'html', '--out', out], /exists\.html already exists.*--overwrite/);
    assert.equal(readFileSync(out, 'utf8'), 'mine');
    const saved = console.error;
    console.error = () => undefined; // "wrote FILE"
    try {
      assert.equal(await main(['surrogate', '--model', bert, '--data', data, '--format', 'json', '--out', out, '--overwrite']), 0);
    } finally {
      console.error = saved;
    }
    assert.equal(JSON.parse(readFileSync(out, 'utf8')).kind, 'linear');
  });

  it('a TSV without a text column names the columns found', async () => {
    const f = join(temp, 'nocol.tsv');
    writeFileSync(f, 'label\treview\n1\tgood\n');
    await expectError(['--model', bert, '--data', f], /no text column \(columns found: "label", "review"\)/);
  });

  it('an empty file, a missing file, --kind other and bad numbers are errors', async () => {
    const empty = join(temp, 'empty.txt');
    writeFileSync(empty, '');
    await expectError(['--model', bert, '--data', empty], /empty\.txt is empty/);
    await expectError(['--model', bert, '--data', join(temp, 'nope.tsv')], /not found/);
    await expectError(['--model', bert, '--data', data, '--kind', 'forest'], /unknown --kind 'forest'.*linear, tree/);
    await expectError(['--model', bert, '--data', data, '--test-fraction', '1.5'], /--test-fraction must be a number in \[0, 1\)/);
    await expectError(['--model', bert, '--data', data, '--ngrams', '3'], /--ngrams must be 1 or 2/);
  });
});
