/**
 * The CART core on presence features. Reference: a rule with no XOR in it ("positive iff
 * 'great' present and 'bad' absent") is found exactly by a depth-2 tree: every leaf pure,
 * only the rule's words tested, agreement 1 on held-out texts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildVocabulary, vectorize } from '../../src/surrogate/features.js';
import { fitSurrogateToLabels } from '../../src/surrogate/surrogate.js';
import { fitTree, predictTree, treeImportance, treeRules } from '../../src/surrogate/tree.js';
import { uniform } from '../../src/util/random.js';

const FILLER = ['the', 'movie', 'film', 'plot', 'acting', 'story', 'was', 'is', 'a', 'this', 'it', 'really', 'very', 'and', 'fun', 'boring', 'not', 'i', 'you', 'end'];

/** Texts of 3-8 distinct words; "great" and "bad" each in about half of them. */
function texts(n: number, seed: number): string[] {
  const u = uniform(seed);
  return Array.from({ length: n }, () => {
    const words = new Set<string>();
    const len = 3 + Math.floor(u() * 6);
    while (words.size < len) words.add(FILLER[Math.floor(u() * FILLER.length)]);
    if (u() < 0.5) words.add('great');
    if (u() < 0.5) words.add('bad');
    return [...words].sort(() => u() - 0.5).join(' ');
  });
}
const rule = (t: string) => (/\bgreat\b/.test(t) && !/\bbad\b/.test(t) ? 1 : 0);

describe('fitTree', () => {
  it('recovers "great present and bad absent" exactly with depth 2', () => {
    const data = texts(600, 1);
    const r = fitSurrogateToLabels(data, data.map(rule), ['negative', 'positive'], { kind: 'tree', maxDepth: 2, seed: 4 });
    assert.equal(r.fidelity.test, 1);
    assert.equal(r.fidelity.fit, 1);
    assert.equal(r.tree!.depth, 2);
    assert.equal(r.tree!.leaves, 3);
    assert.deepEqual(new Set(r.rules.flatMap((x) => x.conditions.map((c) => c.feature))), new Set(['great', 'bad']));
    for (const x of r.rules) assert.equal(x.purity, 1);
    const positive = r.rules.filter((x) => x.label === 'positive');
    assert.equal(positive.length, 1);
    assert.deepEqual(new Set(positive[0].conditions.map((c) => `${c.feature}:${c.present}`)), new Set(['great:true', 'bad:false']));
    assert.match(positive[0].text, /^if "(great|bad)" (present|absent) and "(great|bad)" (present|absent) → positive \(n=\d+, purity 1\.00\)$/);
    assert.equal(r.rules.reduce((s, x) => s + x.n, 0), r.counts.fit);
  });

  it('depth 1 cannot express the rule; depth 0 is the majority class', () => {
    const data = texts(400, 2);
    const y = data.map(rule);
    const vocab = buildVocabulary(data);
    const X = vectorize(data, vocab);
    const t1 = fitTree(X, y, { maxDepth: 1 });
    assert.equal(t1.depth, 1);
    assert.ok(predictTree(t1, X).some((p, i) => p !== y[i]));
    const t0 = fitTree(X, y, { maxDepth: 0 });
    const majority = y.filter((v) => v === 1).length * 2 > y.length ? 1 : 0;
    assert.deepEqual(new Set(predictTree(t0, X)), new Set([majority]));
    assert.deepEqual(treeRules(t0, vocab.names, ['n', 'p']).map((r) => r.text.split(' ')[0]), ['always']);
  });

  it('Gini gain, importance and tie-breaking on a dense table', () => {
    // Column 0 and column 1 both separate the classes perfectly: the lower index wins the tie.
    const X = [[1, 1, 0], [1, 1, 1], [0, 0, 1], [0, 0, 0]];
    const t = fitTree(X, [1, 1, 0, 0], { maxDepth: 3 });
    assert.equal(t.root.feature, 0);
    assert.equal(t.root.gain, 0.5); // Gini 1 - (½² + ½²) = 0.5 at the root, 0 in both children
    assert.deepEqual(treeImportance(t), [1, 0, 0]);
    assert.equal(t.leaves, 2);
  });

  it('merging splits whose leaves agree changes no prediction and shortens the rules', () => {
    const data = texts(500, 6);
    // noisy labels, so that deep splits separate 60/40 from 90/10 without changing the class
    const u = uniform(8);
    const y = data.map((t) => (u() < 0.2 ? 1 - rule(t) : rule(t)));
    const X = vectorize(data, buildVocabulary(data));
    const merged = fitTree(X, y, { maxDepth: 5 });
    const full = fitTree(X, y, { maxDepth: 5, merge: false });
    assert.deepEqual(predictTree(merged, X), predictTree(full, X));
    assert.ok(merged.leaves < full.leaves, `leaves ${merged.leaves} vs ${full.leaves}`);
  });

  it('minLeaf keeps small leaves out', () => {
    const X = [[1], [0], [0], [0], [0], [0]];
    assert.equal(fitTree(X, [1, 0, 0, 0, 0, 0], { minLeaf: 1 }).leaves, 2);
    assert.equal(fitTree(X, [1, 0, 0, 0, 0, 0], { minLeaf: 2 }).leaves, 1);
  });
});
