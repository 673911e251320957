/**
 * Attention methods. References: the hf-reference fixtures' attentions (transformers 4.37.2,
 * eager attention; atol 1e-5 as the fixtures suggest), identity matrices for the rollout, and
 * central finite differences of f for ∂f/∂A (float32 graph, h = 1e-2; tolerance 1e-2
 * relative plus 1e-4 absolute: the O(h²) truncation and O(eps·|f|/h) rounding errors are
 * both far below it).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compile, runProgram } from '../../src/engine/program.js';
import { capturePatterns, patternGradients, positiveHeadMean, rollout } from '../../src/explain/attention.js';
import { explain } from '../../src/explain/explain.js';
import { targetScore } from '../../src/explain/scorer.js';
import { replaceTap } from '../../src/graph/taps.js';
import { loadModel, type Model } from '../../src/models/model.js';
import { defaultExecutor } from '../../src/runtime/index.js';
import { FIXTURES, close, flat } from '../helpers/reference.js';



const identity = (n: number) => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));

describe('rollout (pure)', () => {
  it('identity attention in every layer and head rolls out to the identity', () => {
    const attn = Array.from({ length: 3 }, () => Array.from({ length: 2 }, () => identity(4)));
    close(rollout(attn).flat(), identity(4).flat(), 1e-15, 0, 'rollout');
  });
  it('one layer gives 0.5 A + 0.5 I; rows of a deeper rollout sum to 1', () => {
    const a = [[0.25, 0.75], [0.6, 0.4]];
    close(rollout([[a]]).flat(), [0.625, 0.375, 0.3, 0.7], 1e-15, 0, 'one layer');
    const b = [[0.9, 0.1], [0.2, 0.8]];
    const r = rollout([[a, b], [b, a]]);
    for (const row of r) close([row.reduce((s, v) => s + v, 0)], [1], 1e-12, 0, 'row sum');
    // Two layers: R = A'_1 A'_0 with A'_l = 0.5 mean_h + 0.5 I.
    const m = [[0.5 * 0.575 + 0.5, 0.5 * 0.425], [0.5 * 0.4, 0.5 * 0.6 + 0.5]];
    const expected = [
      [m[0][0] * m[0][0] + m[0][1] * m[1][0], m[0][0] * m[0][1] + m[0][1] * m[1][1]],
      [m[1][0] * m[0][0] + m[1][1] * m[1][0], m[1][0] * m[0][1] + m[1][1] * m[1][1]],
    ];
    close(r.flat(), expected.flat(), 1e-12, 0, 'two layers');
  });
  it('positiveHeadMean is the mean over heads of max(0, A * G)', () => {
    const m = positiveHeadMean([[[1, 2]], [[3, 4]]], [[[1, -1]], [[-1, 0.5]]]);
    close(m.flat(), [0.5, 1], 1e-15, 0, 'aggregate');
  });
});

describe('attention on tiny-gpt2 vs transformers', async () => {
  const ref = JSON.parse(readFileSync(join(FIXTURES, 'tiny-gpt2', 'reference.json'), 'utf8'));
  let model: Model;
  it('loads', async () => {
    model = await loadModel(join(FIXTURES, 'tiny-gpt2'));
  });
  for (const [ci, c] of (ref.cases as { input_ids: number[]; attentions: number[][][][] }[]).entries()) {
    it(`case ${ci}: extra.attentions equal the fixture; scores are the last query's row of the last layer`, async () => {
      const a = await explain(model, { ids: c.input_ids }, { method: 'attention' });
      const att = a.extra!.attentions as number[][][][];
      close(flat(att), flat(c.attentions), 1e-5, 0, 'attentions');
      const S = c.input_ids.length;
      const L = c.attentions.length;
      const H = c.attentions[0].length;
      const expected = Array.from({ length: S }, (_, k) => c.attentions[L - 1].reduce((s, head) => s + head[S - 1][k], 0) / H);
      close(a.scores, expected, 1e-5, 0, 'scores');
      assert.deepEqual(a.settings.layer, L - 1);
      assert.deepEqual(a.settings.head, 'all');
      const one = await explain(model, { ids: c.input_ids }, { method: 'attention', layer: 0, head: 1 });
      close(one.scores, c.attentions[0][1][S - 1], 1e-5, 0, 'layer 0 head 1');
    });
  }
  it('rejects a layer or head that does not exist', async () => {
    await assert.rejects(explain(model, { ids: [1, 2, 3] }, { method: 'attention', layer: 7 }), /layer 7 does not exist/);
    await assert.rejects(explain(model, { ids: [1, 2, 3] }, { method: 'attention', head: 2 }), /head 2 does not exist/);
  });
  it('attention-rollout scores are the last row of the rollout of the captured patterns', async () => {
    const ids = ref.cases[0].input_ids as number[];
    const a = await explain(model, { ids }, { method: 'attention-rollout' });
    const r = rollout(ref.cases[0].attentions);
    close(a.scores, r[ids.length - 1], 1e-5, 0, 'rollout row');
    close([a.scores.reduce((s, v) => s + v, 0)], [1], 1e-5, 0, 'row sum');
  });
});

describe('attention-x-gradient on tiny-bert-cls', async () => {
  const ids = [2, 17, 42, 8, 3];
  const typeIds = ids.map(() => 0);
  let model: Model;
  it('loads', async () => {
    model = await loadModel(join(FIXTURES, 'tiny-bert-cls'));
  });

  it('dF/dA matches central finite differences of f at pattern entries', async () => {
    const a = await explain(model, { ids }, { method: 'attention', target: 1 });
    const { f, attentions, gradients } = await patternGradients(model, { ids, typeIds }, a.target);
    const S = ids.length;
    const H = model.config.nHeads;
    const feeds = model.feeds({ inputIds: [ids], attentionMask: [ids.map(() => 1)], tokenTypeIds: [typeIds] });
    const h = 1e-2;
    for (let l = 0; l < model.config.nLayers; l++) {
      // f as a function of layer l's pattern (later layers still computed from it).
      const { graph, logits } = model.buildGraph(1, S);
      replaceTap(graph, `blocks.${l}.attn.hook_pattern`, 'p');
      graph.outputs.delete('logits');
      graph.output('f', targetScore(logits, a.target, model.head));
      const program = compile(graph);
      const base = Float32Array.from(attentions[l].flat(2));
      const fAt = async (p: Float32Array) =>
        (await runProgram(defaultExecutor(), program, { ...model.weights, ...feeds, p: { dtype: 'float32', dims: [1, H, S, S], data: p } })).f.data[0] as number;
      close([await fAt(base)], [f], 1e-5, 0, `f with layer ${l} pattern fed back`);
      const g = gradients[l].flat(2);
      // The largest gradients and a few fixed others.
      const byMagnitude = g.map((v, i) => [Math.abs(v), i]).sort((x, y) => y[0] - x[0]).map(([, i]) => i);
      const entries = [...new Set([...byMagnitude.slice(0, 4), 1, 7, 13, g.length - 1])];
      for (const i of entries) {
        const plus = Float32Array.from(base);
        const minus = Float32Array.from(base);
        plus[i] += h;
        minus[i] -= h;
        const numeric = ((await fAt(plus)) - (await fAt(minus))) / (2 * h);
        close([g[i]], [numeric], 1e-4, 1e-2, `layer ${l} dF/dA[${i}]`);
      }
    }
  });

  it('the method aggregates A * dF/dA as documented, and reads the [CLS] row', async () => {
    const a = await explain(model, { ids }, { method: 'attention-x-gradient', target: 1 });
    const { attentions, gradients } = await patternGradients(model, { ids, typeIds }, a.target);
    const per = attentions.map((layer, l) => positiveHeadMean(layer, gradients[l]));
    const summed = per[0].map((row, q) => row.map((v, k) => v + per[1][q][k]));
    close(flat(a.extra!.matrix), flat(summed), 1e-6, 1e-5, 'matrix');
    close(a.scores, summed[0], 1e-6, 1e-5, 'scores: the pooled [CLS] query');
    assert.ok(a.scores.every((v) => v >= 0), 'positive parts only');
    const last = await explain(model, { ids }, { method: 'attention-x-gradient', target: 1, layer: 1 });
    close(last.scores, per[1][0], 1e-6, 1e-5, 'layer 1 only');
  });

  it('captured patterns are row-stochastic', async () => {
    const att = await capturePatterns(model, { ids, typeIds });
    for (const row of att.flat(2)) close([row.reduce((s, v) => s + v, 0)], [1], 1e-5, 0, 'row sum');
  });
});
