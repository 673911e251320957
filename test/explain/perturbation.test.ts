/**
 * Perturbation methods.
 *
 * Pure cores on closed-form games: a linear game v(S) = c + sum_{i in S} w_i (every method
 * returns w; tolerance 1e-9, float64 round-off), sums of unanimity games
 * v(S) = sum_T d_T [T ⊆ S] whose Shapley values are phi_i = sum_{T ∋ i} d_T / |T| (Harsanyi
 * dividends), and Owen values checked against their definition by brute force (the mean
 * marginal contribution over the orderings that keep every cluster contiguous).
 *
 * Transformer methods against Captum 0.7 on the hf-reference fixtures (target: class 1 logit
 * for classifiers, logit of token 7 at the last position for language models; an absent token
 * is a zero embedding row): occlusion / feature ablation and exact Shapley values (S <= 6),
 * atol 1e-4 as the fixtures' README suggests.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GlassboxError } from '../../src/errors.js';
import { explain } from '../../src/explain/explain.js';
import { limeFit } from '../../src/explain/lime.js';
import { prepare } from '../../src/explain/method.js';
import { occlusionValues } from '../../src/explain/occlusion.js';
import { type ClusterRow, featureSegments, owenValues, partitionTree, textClustering } from '../../src/explain/partition.js';
import { featureGame, gameFrom, uniform, type ValueFn } from '../../src/explain/perturbation.js';
import { exactShapley, kernelShapFit, shapleySampling } from '../../src/explain/shap.js';
import type { ExplainOptions, Token } from '../../src/explain/types.js';
import { loadModel, type Model } from '../../src/models/model.js';
import { tinyBertTokenizerJson } from '../helpers/tiny-bert.js';

const FIXTURES = join(import.meta.dirname, '../../../shared/fixtures/hf-reference');

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    assert.ok(d <= atol, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (|diff| ${d.toExponential(2)} > ${atol})`);
  }
}

const maxErr = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));
const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x, 0);

/** v(S) = c + sum_T d_T [T ⊆ S] and its Shapley values sum_{T ∋ i} d_T / |T|. */
function dividendGame(n: number, c: number, dividends: [number[], number][]): { v: ValueFn; shapley: number[] } {
  const v = gameFrom(n, (z) => dividends.reduce((s, [T, d]) => s + (T.every((i) => z[i] === 1) ? d : 0), c));
  const shapley = Array.from({ length: n }, (_, i) => dividends.reduce((s, [T, d]) => s + (T.includes(i) ? d / T.length : 0), 0));
  return { v, shapley };
}

/** A fixed random game on n players: weights, pairs and triples with seeded dividends. */
function randomDividends(n: number, seed: number): [number[], number][] {
  const r = uniform(seed);
  const out: [number[], number][] = [];
  for (let i = 0; i < n; i++) out.push([[i], 2 * r() - 1]);
  for (let k = 0; k < 2 * n; k++) {
    const size = 2 + Math.floor(r() * 2);
    const T = [...new Set(Array.from({ length: size }, () => Math.floor(r() * n)))];
    out.push([T, 2 * r() - 1]);
  }
  return out;
}

/** Owen values by definition: mean marginal contribution over orderings keeping every cluster contiguous. */
async function bruteOwen(v: ValueFn, n: number, clustering: ClusterRow[]): Promise<number[]> {
  const leaves: number[][] = Array.from({ length: n }, (_, i) => [i]);
  clustering.forEach(([l, r]) => leaves.push([...leaves[l], ...leaves[r]]));
  const phi = new Array(n).fill(0);
  let count = 0;
  const perm: number[] = [];
  const used = new Array(n).fill(false);
  const orders: number[][] = [];
  const rec = () => {
    if (perm.length === n) {
      const pos = new Array(n);
      perm.forEach((p, k) => (pos[p] = k));
      const ok = leaves.every((L) => Math.max(...L.map((i) => pos[i])) - Math.min(...L.map((i) => pos[i])) === L.length - 1);
      if (ok) orders.push([...perm]);
      return;
    }
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      used[i] = true;
      perm.push(i);
      rec();
      perm.pop();
      used[i] = false;
    }
  };
  rec();
  for (const p of orders) {
    const rows = new Uint8Array((n + 1) * n);
    for (let j = 0; j < n; j++) for (let k = 0; k <= j; k++) rows[(j + 1) * n + p[k]] = 1;
    const f = await v(rows, n + 1);
    p.forEach((i, j) => (phi[i] += f[j + 1] - f[j]));
    count++;
  }
  return phi.map((x) => x / count);
}

describe('perturbation cores on closed-form games', () => {
  const n = 7;
  const w = [0.5, -1.25, 2, 0.125, -0.75, 3, -2];
  const linear = gameFrom(n, (z) => 0.3 + z.reduce((s, b, i) => s + b * w[i], 0));

  it('a linear game: occlusion, exact Shapley, KernelSHAP, LIME, permutation sampling and Owen values all return its weights', async () => {
    close((await occlusionValues(linear, n)).values, w, 1e-12, 'occlusion');
    const ex = await exactShapley(linear, n);
    close(ex.values, w, 1e-12, 'exact Shapley');
    assert.ok(Math.abs(ex.fFull - ex.fEmpty - sum(w)) < 1e-12);
    close((await kernelShapFit(linear, n)).values, w, 1e-9, 'KernelSHAP (enumerated)');
    const ks = await kernelShapFit(linear, n, { samples: 20, seed: 1 });
    assert.equal(ks.settings.exact, false);
    close(ks.values, w, 1e-9, 'KernelSHAP (20 sampled coalitions)');
    const lime = await limeFit(linear, n, { samples: 60, seed: 2 });
    close(lime.values, w, 1e-9, 'LIME');
    assert.ok(Math.abs(lime.quality.surrogateIntercept - 0.3) < 1e-9 && Math.abs(lime.quality.surrogateR2 - 1) < 1e-12);
    const ss = await shapleySampling(linear, n, { samples: 3, seed: 3 });
    close(ss.values, w, 1e-12, 'permutation sampling');
    assert.ok(ss.quality.standardError < 1e-12);
    const tree = textClustering(['a ', 'b ', 'c', 'd, ', 'e ', 'f. ', 'g']);
    close((await owenValues(linear, n, tree)).values, w, 1e-12, 'Owen');
  });

  it('a unanimity game v(S) = [1, 4 in S]: Shapley 1/2 each, KernelSHAP and sampling agree, LIME does not fit it exactly', async () => {
    const { v, shapley } = dividendGame(6, 0, [[[1, 4], 1]]);
    close(shapley, [0, 0.5, 0, 0, 0.5, 0], 0, 'closed form');
    close((await exactShapley(v, 6)).values, shapley, 1e-12, 'exact');
    close((await kernelShapFit(v, 6)).values, shapley, 1e-12, 'KernelSHAP (enumerated)');
    const ss = await shapleySampling(v, 6, { samples: 2000, seed: 4 });
    close(ss.values, shapley, 0.05, 'sampling, 2000 permutations');
    assert.ok(Math.abs(sum(ss.values) - 1) < 1e-12, 'sampling keeps efficiency exactly');
    const lime = await limeFit(v, 6, { samples: 400 });
    assert.ok(lime.quality.surrogateR2 < 0.9, `LIME R^2 ${lime.quality.surrogateR2} on a non-additive game`);
  });

  it('exact Shapley equals the closed form on a 12-player game with pairs and triples', async () => {
    const { v, shapley } = dividendGame(12, 1, randomDividends(12, 5));
    const ex = await exactShapley(v, 12);
    close(ex.values, shapley, 1e-12, 'exact');
    assert.ok(Math.abs(sum(ex.values) - (ex.fFull - ex.fEmpty)) < 1e-12, 'efficiency');
  });

  it('KernelSHAP converges to the exact Shapley values: error(2000) < error(40) / 4 and < 0.05; all 4094 coalitions give them to 1e-10', async () => {
    const { v, shapley } = dividendGame(12, 0, randomDividends(12, 6));
    const errFew = maxErr((await kernelShapFit(v, 12, { samples: 40, seed: 7 })).values, shapley);
    const many = await kernelShapFit(v, 12, { samples: 2000, seed: 7 });
    const errMany = maxErr(many.values, shapley);
    assert.ok(errMany < errFew / 4 && errMany < 0.05, `KernelSHAP error ${errMany} (2000) vs ${errFew} (40)`);
    assert.ok(Math.abs(sum(many.values) - (many.fFull - many.fEmpty)) < 1e-12, 'efficiency is exact');
    const all = await kernelShapFit(v, 12, { samples: 5000 });
    assert.equal(all.settings.exact, true);
    close(all.values, shapley, 1e-10, 'KernelSHAP, every coalition');
  });

  it('permutation sampling converges at ~1/sqrt(samples): error(1000) < error(10) / 4 and < 0.05; the standard error tracks the error', async () => {
    const { v, shapley } = dividendGame(12, 0, randomDividends(12, 8));
    const few = await shapleySampling(v, 12, { samples: 10, seed: 9 });
    const many = await shapleySampling(v, 12, { samples: 1000, seed: 9 });
    const [errFew, errMany] = [maxErr(few.values, shapley), maxErr(many.values, shapley)];
    assert.ok(errMany < errFew / 4 && errMany < 0.05, `sampling error ${errMany} (1000) vs ${errFew} (10)`);
    assert.ok(many.quality.standardError < few.quality.standardError / 5, 'standard error shrinks');
    assert.ok(errMany < 5 * many.quality.standardError, `error ${errMany} within 5 standard errors (${many.quality.standardError})`);
    const anti = await shapleySampling(v, 12, { samples: 1000, seed: 9, antithetic: true });
    assert.ok(maxErr(anti.values, shapley) < 0.05, 'antithetic sampling converges too');
  });

  it('Owen values: with the budget they equal the brute-force definition; with any budget they sum to v(N) - v(∅)', async () => {
    const { v } = dividendGame(7, 0.5, randomDividends(7, 10));
    const tree = textClustering(['I ', 'liked ', 'it', ', ', 'but ', 'not ', 'this']);
    const full = await owenValues(v, 7, tree);
    assert.equal(full.settings.exact, true);
    close(full.values, await bruteOwen(v, 7, tree), 1e-12, 'Owen vs definition');
    for (const budget of [2, 4, 10, 20]) {
      const r = await owenValues(v, 7, tree, { maxEvals: budget });
      assert.ok((r.settings.evaluationsUsed as number) <= budget, `budget ${budget}`);
      assert.ok(Math.abs(sum(r.values) - (r.fFull - r.fEmpty)) < 1e-12, `efficiency with budget ${budget}`);
    }
    assert.equal((await owenValues(v, 7, tree, { maxEvals: 10 })).settings.exact, false);
    // Owen values equal Shapley values for an additive game and differ under interactions across clusters.
    const { v: u } = dividendGame(4, 0, [[[0, 3], 1]]);
    const flatTree: ClusterRow[] = [[0, 1, 1, 2], [2, 3, 1, 2], [4, 5, 2, 4]];
    close((await owenValues(u, 4, flatTree)).values, [0.5, 0, 0, 0.5], 1e-12, 'unanimity across clusters');
  });

  it("SHAP's text hierarchy merges word pieces first and reaches across commas and connectors last", () => {
    const pieces = textClustering(['un', 'believ', 'able ', 'film']);
    assert.deepEqual(pieces.slice(0, 2).map(([l, r]) => [l, r]), [[0, 1], [4, 2]]);
    assert.deepEqual(pieces[2].slice(0, 2), [5, 3]);
    assert.equal(pieces[2][3], 4);
    // The comma joins the clause before it; the root splits after it: 'I liked it ,' | 'but not this'.
    const rows = partitionTree(['I', 'liked', 'it', ',', 'but', 'not', 'this']);
    const leaves: number[][] = Array.from({ length: 7 }, (_, i) => [i]);
    rows.forEach(([l, r]) => leaves.push([...leaves[l], ...leaves[r]]));
    const root = rows[rows.length - 1];
    assert.deepEqual([leaves[root[0]], leaves[root[1]]], [[0, 1, 2, 3], [4, 5, 6]]);
  });

  it("the Text masker's segments: a token's text up to the next token, specials empty, '##' for word continuations", () => {
    const text = "I can't, but";
    const tok = (t: string, start: number, end: number, special = false): Token => ({ id: 0, text: t, start, end, special, typeId: 0 });
    const tokens = [tok('[CLS]', 0, 0, true), tok('I', 0, 1), tok('can', 2, 5), tok("'", 5, 6), tok('t', 6, 7), tok(',', 7, 8), tok('but', 9, 12), tok('[SEP]', 0, 0, true)];
    const features = tokens.map((t, i) => ({ label: t.text, tokens: [i] }));
    assert.deepEqual(featureSegments(text, tokens, features), ['', 'I ', 'can', "'", 't', ', ', 'but', '']);
    // Apostrophe endings merge first (+15): "can" + "'" (node 8), then that + "t".
    const rows = textClustering(featureSegments(text, tokens, features));
    assert.equal(rows.length, 7);
    assert.deepEqual(rows.slice(0, 2).map((r) => r.slice(0, 2)), [[2, 3], [8, 4]]);
  });

  it('errors: exact Shapley beyond 12 players names n and the alternatives', async () => {
    await assert.rejects(exactShapley(gameFrom(13, () => 0), 13), (e: GlassboxError) => e.code === 'BAD_INPUT' && /n = 13/.test(e.message) && /shapley-sampling/.test(e.message));
    await assert.rejects(limeFit(linear, n, { kernelWidth: 0 }), (e: GlassboxError) => e.code === 'BAD_INPUT');
    await assert.rejects(shapleySampling(linear, n, { samples: 3, antithetic: true }), (e: GlassboxError) => e.code === 'BAD_INPUT');
  });

  it('determinism: the same seed gives the same values, another seed others', async () => {
    const { v } = dividendGame(10, 0, randomDividends(10, 11));
    for (const run of [
      (seed: number) => limeFit(v, 10, { samples: 50, seed }),
      (seed: number) => kernelShapFit(v, 10, { samples: 50, seed }),
      (seed: number) => shapleySampling(v, 10, { samples: 5, seed }),
    ]) {
      const [a, b, c] = [await run(1), await run(1), await run(2)];
      assert.deepEqual(a.values, b.values);
      assert.notDeepEqual(a.values, c.values);
    }
  });
});

interface Case {
  input_ids: number[];
  attribution: {
    f_x: number;
    f_zero_embeddings: number;
    occlusion: { per_token: number[] };
    feature_ablation: { per_token: number[] };
    shapley_values?: { per_token: number[]; efficiency_target: number };
  };
}

for (const name of ['tiny-gpt2', 'tiny-bert-cls', 'tiny-distilbert-cls', 'tiny-llama']) {
  describe(`${name}: perturbation attributions vs Captum`, async () => {
    const ref = JSON.parse(readFileSync(join(FIXTURES, name, 'reference.json'), 'utf8'));
    const target = ref.kind === 'causal_lm' ? 7 : 1;
    const common = { target, score: 'logit' as const };
    let model: Model;
    it('loads', async () => {
      model = await loadModel(join(FIXTURES, name));
    });
    for (const [ci, c] of (ref.cases as Case[]).entries()) {
      const input = { ids: c.input_ids };
      const a = c.attribution;
      it(`case ${ci} (S = ${c.input_ids.length}): occlusion = feature-ablation = leave-one-out; f(x) and f(0)`, async () => {
        const occ = await explain(model, input, { ...common, method: 'occlusion' });
        assert.equal(occ.method, 'occlusion');
        close(occ.scores, a.occlusion.per_token, 1e-4, 'occlusion');
        close(occ.scores, a.feature_ablation.per_token, 1e-4, 'feature ablation');
        close([occ.quality.fx!, occ.quality.fBaseline!], [a.f_x, a.f_zero_embeddings], 1e-4, 'f(x), f(0)');
        for (const alias of ['feature-ablation', 'leave-one-out']) close((await explain(model, input, { ...common, method: alias })).scores, occ.scores, 0, alias);
      });
      if (a.shapley_values) {
        const sv = a.shapley_values;
        it(`case ${ci}: exact Shapley values; KernelSHAP over every coalition gives them too`, async () => {
          const ex = await explain(model, input, { ...common, method: 'shapley' });
          close(ex.scores, sv.per_token, 1e-4, 'shapley');
          assert.ok(Math.abs(ex.quality.completenessDelta!) < 1e-5, `efficiency ${ex.quality.completenessDelta}`);
          assert.ok(Math.abs(ex.quality.fx! - ex.quality.fBaseline! - sv.efficiency_target) < 1e-4);
          const ks = await explain(model, input, { ...common, method: 'kernel-shap', samples: 64 });
          assert.equal(ks.settings.exact, true);
          close(ks.scores, sv.per_token, 1e-4, 'kernel-shap (all coalitions)');
        });
      }
      it(`case ${ci}: Partition SHAP sums to f(x) - f(baseline); Shapley sampling keeps efficiency`, async () => {
        const ps = await explain(model, input, { ...common, method: 'partition-shap' });
        const target = ps.quality.fx! - ps.quality.fBaseline!;
        assert.ok(Math.abs(sum(ps.scores) - target) <= 1e-5 * Math.abs(target), `partition sum ${sum(ps.scores)} vs ${target}`);
        assert.equal(ps.settings.exact, true);
        const ss = await explain(model, input, { ...common, method: 'shapley-sampling', samples: 10, seed: 1 });
        assert.ok(Math.abs(ss.quality.completenessDelta!) <= 1e-5 * Math.abs(target), 'sampling efficiency');
        assert.ok(ss.quality.standardError! > 0);
      });
    }
  });
}

describe('tiny-gpt2: the methods run the same cores on the transformer game', async () => {
  const ref = JSON.parse(readFileSync(join(FIXTURES, 'tiny-gpt2', 'reference.json'), 'utf8'));
  const cases = ref.cases as Case[];
  const options: ExplainOptions = { method: 'lime', target: 7, score: 'logit' };
  let model: Model;
  it('loads', async () => {
    model = await loadModel(join(FIXTURES, 'tiny-gpt2'));
  });
  it('LIME equals limeFit on the feature game with the embedding cosine distance; deterministic with a seed', async () => {
    const input = { ids: cases[2].input_ids };
    const opts = { ...options, samples: 100, seed: 3, kernelWidth: 0.75 };
    const viaExplain = await explain(model, input, opts);
    const game = await featureGame(await prepare(model, input, opts));
    const core = await limeFit(game.value, game.n, { samples: 100, seed: 3, kernelWidth: 0.75, distance: game.cosineDistance });
    close(viaExplain.scores, core.values, 1e-6, 'lime');
    assert.deepEqual(viaExplain.settings.kernelWidth, 0.75);
    assert.ok(viaExplain.quality.surrogateR2! > 0 && viaExplain.quality.surrogateR2! <= 1);
    assert.deepEqual((await explain(model, input, opts)).scores, viaExplain.scores);
    // The embedding cosine distance: 0 for the input, 1 with every token at the zero baseline.
    close([game.cosineDistance(new Uint8Array(8).fill(1)), game.cosineDistance(new Uint8Array(8))], [0, 1], 1e-12, 'cosine distance');
  });
  it('Partition SHAP equals the brute-force Owen values of the transformer game (all 2^8 coalitions)', async () => {
    const input = { ids: cases[2].input_ids };
    const ps = await explain(model, input, { ...options, method: 'partition-shap' });
    const game = await featureGame(await prepare(model, input, options));
    close(ps.scores, await bruteOwen(game.value, 8, ps.extra!.clustering as ClusterRow[]), 1e-5, 'owen');
  });
  it('KernelSHAP and Shapley sampling approach the exact values (S = 6) as samples grow', async () => {
    const input = { ids: cases[1].input_ids };
    const exact = cases[1].attribution.shapley_values!.per_token;
    const err = async (method: string, samples: number) => maxErr((await explain(model, input, { ...options, method, samples, seed: 5 })).scores, exact);
    const scale = Math.max(...exact.map(Math.abs));
    const [ksFew, ksMany] = [await err('kernel-shap', 8), await err('kernel-shap', 60)];
    assert.ok(ksMany < ksFew / 4 && ksMany < 0.01 * scale, `kernel-shap ${ksMany} (60) vs ${ksFew} (8)`);
    const [ssFew, ssMany] = [await err('shapley-sampling', 4), await err('shapley-sampling', 400)];
    assert.ok(ssMany < ssFew / 4 && ssMany < 0.1 * scale, `shapley-sampling ${ssMany} (400) vs ${ssFew} (4)`);
  });
  it('features of several tokens drop together: Shapley over two spans from occlusion over the same spans', async () => {
    const c = cases[0];
    const opts = { ...options, group: { spans: [[0, 2], [2, 5]] as [number, number][] } };
    const occ = await explain(model, { ids: c.input_ids }, { ...opts, method: 'occlusion' });
    const sh = await explain(model, { ids: c.input_ids }, { ...opts, method: 'shapley' });
    // v(A) = f(x) - occ_B, v(B) = f(x) - occ_A; phi_A = (v(A) - v(∅)) / 2 + (f(x) - v(B)) / 2.
    const [fx, f0] = [occ.quality.fx!, occ.quality.fBaseline!];
    const phiA = (fx - occ.scores[1] - f0) / 2 + occ.scores[0] / 2;
    close(sh.scores, [phiA, fx - f0 - phiA], 1e-5, 'two-span Shapley');
    assert.ok(Math.abs(fx - f0 - c.attribution.shapley_values!.efficiency_target) < 1e-4, 'f(∅) drops every token');
  });
  it('shapley beyond 12 features is a BAD_INPUT naming n; a cancelled run stops with CANCELLED', async () => {
    const ids = Array.from({ length: 13 }, (_, i) => (i * 5) % 64);
    await assert.rejects(explain(model, { ids }, { ...options, method: 'shapley' }), (e: GlassboxError) => e.code === 'BAD_INPUT' && /n = 13/.test(e.message));
    const ctrl = new AbortController();
    const run = explain(model, { ids: cases[2].input_ids }, {
      ...options,
      method: 'shapley',
      batchSize: 16,
      signal: ctrl.signal,
      onProgress: (p) => p.stage === 'shapley coalitions' && ctrl.abort(),
    });
    await assert.rejects(run, (e: GlassboxError) => e.code === 'CANCELLED');
  });
});

describe('tiny-bert-cls with a tokenizer: Partition SHAP on text, by tokens and by words', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glassbox-perturbation-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(FIXTURES, 'tiny-bert-cls', f), join(dir, f));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tinyBertTokenizerJson()));
  for (const group of ['tokens', 'words'] as const) {
    it(`${group}: one merge per feature pair, exact within the default budget, sums to f(x) - f(baseline)`, async () => {
      const model = await loadModel(dir);
      const a = await explain(model, { text: 'I really loved this movie, but not the end.' }, { method: 'partition-shap', target: 1, group });
      const rows = a.extra!.clustering as ClusterRow[];
      assert.equal(rows.length, a.features.length - 1);
      assert.equal(rows[rows.length - 1][3], a.features.length);
      assert.equal(a.settings.exact, true);
      const target = a.quality.fx! - a.quality.fBaseline!;
      assert.ok(Math.abs(sum(a.scores) - target) <= 1e-5 * Math.abs(target), `sum ${sum(a.scores)} vs ${target}`);
    });
  }
});
