/**
 * Global surrogates end to end. References: (1) a "model" that is itself a bag of words
 * (positive iff more good words than bad words) is reproduced by the linear surrogate with
 * held-out fidelity ≥ 0.95, and its strongest words are the rule's words; (2) on the
 * tiny-bert-cls fixture the report is consistent: fidelities in [0, 1], counts that add up,
 * batched labels equal to one-at-a-time forward passes.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GlassboxError } from '../../src/errors.js';
import { loadModel, type Model } from '../../src/models/model.js';
import { goldIndices, parseTextData } from '../../src/surrogate/data.js';
import { tokenizeWords } from '../../src/surrogate/features.js';
import { renderSurrogateHtml, renderSurrogateTerminal } from '../../src/surrogate/render.js';
import { fitSurrogate, fitSurrogateToLabels, labelTexts, type SurrogateReport } from '../../src/surrogate/surrogate.js';
import { uniform } from '../../src/util/random.js';
import { tinyBertTokenizerJson } from '../helpers/tiny-bert.js';

const GOOD = ['great', 'good', 'love', 'fun', 'best'];
const BAD = ['bad', 'terrible', 'boring', 'worst', 'hate'];
const NEUTRAL = ['the', 'a', 'movie', 'film', 'plot', 'acting', 'story', 'was', 'is', 'this', 'it', 'i', 'you', 'and', 'of', 'to', 'in', 'very', 'really', 'so', 'end', 'time', 'day', 'actor', '.', ',', '!'];
const VOCAB = [...GOOD, ...BAD, ...NEUTRAL];

/** 3-10 distinct words from the tiny-bert vocabulary, seeded. */
function randomTexts(n: number, seed: number, words = VOCAB): string[] {
  const u = uniform(seed);
  return Array.from({ length: n }, () => {
    const len = 3 + Math.floor(u() * 8);
    const picked = new Set<string>();
    while (picked.size < len) picked.add(words[Math.floor(u() * words.length)]);
    return [...picked].join(' ');
  });
}

/** The bag-of-words "model": positive iff count(good words) > count(bad words). */
const bagOfWordsRule = (t: string) => {
  const w = tokenizeWords(t);
  return w.filter((x) => GOOD.includes(x)).length > w.filter((x) => BAD.includes(x)).length ? 1 : 0;
};

function assertConsistent(r: SurrogateReport): void {
  assert.equal(r.counts.fit + r.counts.test, r.counts.used);
  assert.ok(r.counts.used <= r.counts.texts);
  assert.equal(r.counts.predicted.fit.reduce((a, b) => a + b, 0), r.counts.fit);
  assert.equal(r.counts.predicted.test.reduce((a, b) => a + b, 0), r.counts.test);
  for (const v of [r.fidelity.fit, r.fidelity.test, r.fidelity.majority]) assert.ok(v === null || (v >= 0 && v <= 1), `fidelity ${v}`);
  // a fidelity is a count over its part
  assert.ok(Number.isInteger(Math.round(r.fidelity.fit * r.counts.fit * 1e6) / 1e6));
  assert.equal(r.topFeatures.length, r.classes.length);
  if (r.kind === 'tree') assert.equal(r.rules.reduce((s, x) => s + x.n, 0), r.counts.fit);
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r, 'JSON round trip');
}

describe('fitSurrogateToLabels: a bag-of-words model', () => {
  const texts = randomTexts(1200, 5);
  const labels = texts.map(bagOfWordsRule);

  it('linear: held-out fidelity ≥ 0.95 and the strongest words are the rule\'s words', () => {
    const r = fitSurrogateToLabels(texts, labels, ['negative', 'positive'], { kind: 'linear', l1: 0.002, seed: 1 });
    assertConsistent(r);
    assert.ok(r.fidelity.test! >= 0.95, `test fidelity ${r.fidelity.test}`);
    assert.ok(r.fidelity.fit >= 0.95, `fit fidelity ${r.fidelity.fit}`);
    const top = (label: string) => new Set(r.topFeatures.find((c) => c.label === label)!.features.slice(0, 5).map((f) => f.feature));
    assert.deepEqual(top('positive'), new Set(GOOD));
    assert.deepEqual(top('negative'), new Set(BAD));
    assert.ok(r.linear!.converged);
    assert.ok(r.linear!.nonZero >= 10 && r.linear!.nonZero < r.features.vocabulary, `non-zeros ${r.linear!.nonZero} of ${r.features.vocabulary}`);
  });

  it('linear: a larger λ keeps fewer words', () => {
    // 10% of the labels flipped, so that at a small λ neutral words enter too
    const u = uniform(77);
    const noisy = labels.map((l) => (u() < 0.1 ? 1 - l : l));
    const nz = [0.001, 0.003, 0.01, 0.03, 0.1].map((l1) => fitSurrogateToLabels(texts, noisy, ['n', 'p'], { l1, seed: 1 }).linear!.nonZero);
    for (let i = 1; i < nz.length; i++) assert.ok(nz[i] < nz[i - 1] || nz[i] === 0, `non-zeros ${nz.join(', ')}`);
    assert.equal(nz[nz.length - 1], 0);
  });

  it('tree: the rules test the rule\'s words', () => {
    const r = fitSurrogateToLabels(texts, labels, ['negative', 'positive'], { kind: 'tree', maxDepth: 3, seed: 1 });
    assertConsistent(r);
    const tested = new Set(r.rules.flatMap((x) => x.conditions.map((c) => c.feature)));
    for (const w of tested) assert.ok(GOOD.includes(w) || BAD.includes(w), `tree tests ${w}`);
    assert.ok(r.fidelity.test! > 0.6);
  });

  it('a seed reproduces the report; another seed gives another split', () => {
    const a = fitSurrogateToLabels(texts, labels, ['n', 'p'], { seed: 3, maxExamples: 500 });
    const b = fitSurrogateToLabels(texts, labels, ['n', 'p'], { seed: 3, maxExamples: 500 });
    const c = fitSurrogateToLabels(texts, labels, ['n', 'p'], { seed: 4, maxExamples: 500 });
    assert.equal(JSON.stringify(a), JSON.stringify(b));
    assert.notEqual(JSON.stringify(a.topFeatures), JSON.stringify(c.topFeatures));
    assert.equal(a.counts.used, 500);
    assert.equal(a.counts.test, 100);
  });

  it('gold labels give the surrogate\'s and the model\'s accuracy on the test part', () => {
    // gold = the rule with every 10th label flipped: the model (the rule) is 90% right
    const gold = labels.map((l, i) => (i % 10 === 0 ? 1 - l : l));
    const r = fitSurrogateToLabels(texts, labels, ['n', 'p'], { gold, l1: 0.002 });
    assert.equal(r.accuracy!.part, 'test');
    assert.equal(r.accuracy!.n, r.counts.test);
    assert.ok(Math.abs(r.accuracy!.model - 0.9) < 0.05, `model accuracy ${r.accuracy!.model}`);
    assert.ok(r.accuracy!.surrogate > 0.8);
    assert.equal(fitSurrogateToLabels(texts, labels, ['n', 'p']).accuracy, null);
  });

  it('rejects bad options with BAD_INPUT', () => {
    const bad = (o: object, re: RegExp) =>
      assert.throws(() => fitSurrogateToLabels(texts, labels, ['n', 'p'], o), (e: GlassboxError) => e.code === 'BAD_INPUT' && re.test(e.message));
    bad({ kind: 'forest' }, /unknown surrogate kind 'forest'/);
    bad({ testFraction: 1 }, /testFraction/);
    bad({ maxExamples: 1 }, /maxExamples/);
    bad({ gold: [1] }, /gold labels/);
    assert.throws(() => fitSurrogateToLabels([], [], ['n', 'p']), /no texts/);
  });

  it('renders: terminal lists fidelity and words, HTML escapes everything from the data', () => {
    const evil = texts.map((t, i) => (i % 3 === 0 ? `${t} <img onerror=x>` : t));
    const r = fitSurrogateToLabels(evil, labels, ['neg<b>', 'pos'], { kind: 'tree', maxDepth: 2 });
    const term = renderSurrogateTerminal(r);
    assert.match(term, /fidelity \(agreement with the model\): test \d+\.\d%, fit \d+\.\d%/);
    assert.match(term, /rules:/);
    const html = renderSurrogateHtml(r);
    assert.doesNotMatch(html, /<img|<b>|<script/);
    assert.match(html, /neg&lt;b&gt;/);
    assert.match(html, /Content-Security-Policy/);
  });
});

describe('text data files', () => {
  it('reads SST-2 style TSVs (sentence or content column, label) and plain lines', () => {
    const a = parseTextData('label\tsentence\n0\tbad film\n1\tgreat film\n', 'train.tsv');
    assert.deepEqual(a, { texts: ['bad film', 'great film'], gold: ['0', '1'], format: 'tsv', column: 'sentence' });
    const b = parseTextData('label\tcontent\n1\tfine .\n\n', 'dev.tsv');
    assert.deepEqual(b.texts, ['fine .']);
    const c = parseTextData('one text\n\nanother text\n', 'texts.txt');
    assert.deepEqual(c, { texts: ['one text', 'another text'], gold: null, format: 'lines', column: null });
    assert.deepEqual(goldIndices(['1', 'Negative', null], ['negative', 'positive'], 'f'), [1, 0, null]);
  });

  it('names the columns found when there is no text column; rejects empty files and unknown labels', () => {
    assert.throws(() => parseTextData('label\treview\n1\tok\n', 'x.tsv'), /no text column \(columns found: "label", "review"\)/);
    assert.throws(() => parseTextData('', 'x.tsv'), /x\.tsv is empty/);
    assert.throws(() => parseTextData('\n  \n', 'x.txt'), /is empty/);
    assert.throws(() => parseTextData('label\tsentence\n', 'x.tsv'), /no rows/);
    assert.throws(() => goldIndices(['maybe'], ['negative', 'positive'], 'x.tsv'), /gold label 'maybe' of row 1/);
  });
});

describe('fitSurrogate on tiny-bert-cls', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glassbox-surrogate-'));
  const FIXTURES = join(import.meta.dirname, '../../../shared/fixtures/hf-reference');
  let model: Model;
  before(async () => {
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(FIXTURES, 'tiny-bert-cls', f), join(dir, f));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tinyBertTokenizerJson()));
    model = await loadModel(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const texts = randomTexts(200, 9);

  it('batched labels equal one-at-a-time forward passes', async () => {
    const some = texts.slice(0, 12);
    const batched = await labelTexts(model, some, { batchSize: 5 });
    for (let i = 0; i < some.length; i++) {
      const e = model.tokenizer!.encode(some[i]);
      const { logits } = await model.forward({ inputIds: [e.ids], attentionMask: [e.attentionMask], tokenTypeIds: [e.typeIds] });
      const d = logits.data as Float32Array;
      assert.equal(batched[i], d[1] > d[0] ? 1 : 0, `text ${i}`);
    }
  });

  for (const kind of ['linear', 'tree'] as const) {
    it(`${kind}: a consistent report with progress`, async () => {
      const stages: string[] = [];
      const gold = texts.map(bagOfWordsRule);
      const r = await fitSurrogate(model, texts, { kind, seed: 2, gold, onProgress: (p) => stages.push(p.stage) });
      assertConsistent(r);
      assert.equal(r.model, dir);
      assert.deepEqual(r.classes, ['LABEL_0', 'LABEL_1']);
      assert.equal(r.counts.texts, 200);
      assert.equal(r.counts.test, 40);
      assert.equal(r.accuracy!.n, 40);
      assert.ok(stages.includes('label') && stages.includes('fit'));
    });
  }

  it('stops on an aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(fitSurrogate(model, texts, { signal: ac.signal }), (e: GlassboxError) => e.code === 'CANCELLED');
  });
});
