/**
 * `glassbox train` and `glassbox predict` as a user runs them (the CLI from source, through
 * tsx): a tiny model trained on 600 SST-2 phrases, saved, loaded back for predictions; and
 * every bad input exits non-zero with one `error: ...` line and no stack trace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

const ROOT = join(import.meta.dirname, '../..');
const SST2 = join(ROOT, '../shared/data/sst2');
const temp = mkdtempSync(join(tmpdir(), 'glassbox-train-cli-'));
after(() => rmSync(temp, { recursive: true, force: true }));

function run(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'run-cli.ts'), ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const TINY = ['--layers', '1', '--hidden', '16', '--heads', '2', '--intermediate', '32', '--max-positions', '64', '--vocab-size', '600', '--epochs', '1', '--batch-size', '16'];

function expectError(r: ReturnType<typeof run>, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit code (stderr: ${r.err})`);
  assert.match(r.err, /^error: /m);
  assert.match(r.err, pattern);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
}

describe('glassbox train and predict', () => {
  const data = join(temp, 'train.tsv');
  const dev = join(temp, 'dev.tsv');
  const out = join(temp, 'model');

  before(() => {
    const lines = readFileSync(join(SST2, 'train.tsv'), 'utf8').split('\n');
    writeFileSync(data, lines.slice(0, 601).join('\n') + '\n');
    const devLines = readFileSync(join(SST2, 'dev.tsv'), 'utf8').split('\n');
    writeFileSync(dev, devLines.slice(0, 41).join('\n') + '\n');
  });

  test('train writes a checkpoint folder and reports validation and dev accuracy', () => {
    const r = run('train', '--data', data, '--dev', dev, '--out', out, ...TINY, '--json');
    assert.equal(r.code, 0, r.err);
    const summary = JSON.parse(r.out);
    assert.equal(summary.dev.n, 40);
    assert.ok(summary.validation.accuracy >= 0 && summary.validation.accuracy <= 1);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'README.md']) {
      assert.ok(existsSync(join(out, f)), f);
    }
    assert.match(readFileSync(join(out, 'README.md'), 'utf8'), /## Limitations/);
  });

  test('train refuses an existing output folder unless --overwrite', () => {
    expectError(run('train', '--data', data, '--out', out, ...TINY), /already exists.*--overwrite/);
    const r = run('train', '--data', data, '--out', out, ...TINY, '--epochs', '1', '--overwrite', '--json');
    assert.equal(r.code, 0, r.err);
  });

  test('predict --json on a labelled file gives n, accuracy and one prediction per row', () => {
    const r = run('predict', '--model', out, '--data', dev, '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.n, 40);
    assert.ok(j.accuracy >= 0 && j.accuracy <= 1);
    assert.equal(j.predictions.length, 40);
    for (const p of j.predictions) {
      assert.deepEqual(Object.keys(p), ['text', 'label', 'probability']);
      assert.ok(['negative', 'positive'].includes(p.label));
      assert.ok(p.probability >= 0.5 && p.probability <= 1);
    }
    const one = run('predict', '--model', out, '--text', 'a gorgeous film', '--json');
    assert.equal(one.code, 0, one.err);
    assert.equal(JSON.parse(one.out).accuracy, null);
    const text = run('predict', '--model', out, '--data', dev);
    assert.match(text.out, /accuracy: \d+\.\d+% \(40 examples\)/);
  });

  test('bad input: missing columns, labels out of range, empty file, missing file, no input', () => {
    const cols = join(temp, 'cols.tsv');
    writeFileSync(cols, 'score\treview\n1\tgood film\n');
    expectError(run('train', '--data', cols, '--out', join(temp, 'x')), /'score', 'review'/);
    expectError(run('predict', '--model', out, '--data', cols), /'score', 'review'/);
    const range = join(temp, 'range.tsv');
    writeFileSync(range, 'label\tsentence\n0\tgood\n3\tbad\n');
    expectError(run('train', '--data', range, '--out', join(temp, 'y')), /label 3.*0\.\.1/);
    expectError(run('predict', '--model', out, '--data', range), /label 3/);
    const empty = join(temp, 'empty.tsv');
    writeFileSync(empty, '');
    expectError(run('train', '--data', empty, '--out', join(temp, 'z')), /empty/);
    expectError(run('predict', '--model', out, '--data', join(temp, 'missing.tsv')), /no such file/);
    expectError(run('predict', '--model', out), /either --text or --data/);
    expectError(run('train', '--data', data, '--out', join(temp, 'w'), '--lr', 'fast'), /--lr must be a number/);
    mkdirSync(join(temp, 'taken'));
    writeFileSync(join(temp, 'taken', 'keep.txt'), 'x');
    expectError(run('train', '--data', data, '--out', join(temp, 'taken')), /already exists/);
    assert.ok(existsSync(join(temp, 'taken', 'keep.txt')));
  });
});
