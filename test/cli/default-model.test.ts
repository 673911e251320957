/**
 * The bundled model as a newcomer meets it: `--model` omitted means models/sst2-bert-tiny, and
 * `glassbox demo` (npm run demo) explains the founding sentence offline and writes a new HTML
 * report without ever replacing an existing file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freshPath } from '../../src/cli/demo-command.js';

const ROOT = join(import.meta.dirname, '../..');
const temp = mkdtempSync(join(tmpdir(), 'glassbox-default-model-'));
after(() => rmSync(temp, { recursive: true, force: true }));
const env = { ...process.env, HF_ENDPOINT: 'http://127.0.0.1:9', HF_HUB_OFFLINE: '1', NO_COLOR: '1' };
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/glassbox.js'), ...args], { encoding: 'utf8', env, cwd: temp });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('the bundled default model', () => {
  it('is used when --model is omitted', () => {
    const r = run('info', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.match(j.folder, /models[\\/]sst2-bert-tiny$/);
    assert.equal(j.class, 'BertForSequenceClassification');
    assert.deepEqual(j.labels, { 0: 'negative', 1: 'positive' });
  });

  it('classifies clear sentences correctly', () => {
    const pos = JSON.parse(run('logits', '--text', 'a wonderful , moving and beautifully acted film', '--json').out);
    const neg = JSON.parse(run('logits', '--text', 'a dull , tedious and thoroughly boring mess', '--json').out);
    assert.ok(pos.logits[1] > pos.logits[0], 'positive sentence');
    assert.ok(neg.logits[0] > neg.logits[1], 'negative sentence');
  });

  it('demo: prediction, IG heatmap with its delta, attended tokens, faithfulness, and a new report file', () => {
    const r = run('demo');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /prediction: positive \(p = 0\.\d+\)/);
    assert.match(r.out, /completeness delta/);
    assert.match(r.out, /most attended tokens/);
    assert.match(r.out, /AOPC comprehensiveness/);
    const report = /report: (.+\.html)/.exec(r.out)![1];
    assert.equal(report, join(temp, 'glassbox-demo-report.html'));
    const html = readFileSync(report, 'utf8');
    assert.match(html, /Faithfulness/);
    assert.match(html, /captivating/);
    assert.doesNotMatch(html, /https?:\/\//, 'self-contained');
    // A second run picks a new name instead of replacing the first report.
    const again = run('demo');
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /glassbox-demo-report-2\.html/);
    assert.equal(readFileSync(report, 'utf8'), html);
  });

  it('demo --out refuses an existing file unless --overwrite', () => {
    const out = join(temp, 'mine.html');
    writeFileSync(out, 'keep me');
    const r = run('demo', '--out', out);
    assert.equal(r.code, 1);
    assert.match(r.err, /already exists.*--overwrite/);
    assert.equal(readFileSync(out, 'utf8'), 'keep me');
  });

  it('freshPath never returns an existing file', () => {
    const base = join(temp, 'x.html');
    assert.equal(freshPath(base), base);
    writeFileSync(base, '');
    writeFileSync(join(temp, 'x-2.html'), '');
    assert.equal(freshPath(base), join(temp, 'x-3.html'));
    assert.ok(!existsSync(join(temp, 'x-3.html')));
  });
});
