/**
 * BERT, DistilBERT and RoBERTa (models/bert.ts, models/distilbert.ts).
 *
 * Reference: Hugging Face transformers 4.37.2 in float32 on the CPU, through the fixtures
 * tiny-bert-cls and tiny-distilbert-cls in ../shared/fixtures/hf-reference (logits, attention
 * patterns, hidden states). Tolerance: max abs error <= 1e-5, the fixtures' suggested atol.
 *
 * Without a fixture, the rest is checked by construction:
 * - RoBERTa (tiny random checkpoints written here) equals BERT run on the same weights renamed,
 *   with the position table shifted by padding_idx + 1 rows, for all three classes (<= 1e-6:
 *   the two graphs do the same arithmetic);
 * - the MLM heads (tied decoders) equal the head recomputed on the host in float64 from the
 *   base model's last hidden state (<= 1e-5);
 * - a padded batch (left or right) gives each row the numbers it gives alone (<= 1e-5);
 * - every name in hookNames(cfg) is a tap of the built graph, and the reverse.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GlassboxError } from '../../src/errors.js';
import { bert, roberta } from '../../src/models/bert.js';
import { distilbert } from '../../src/models/distilbert.js';
import { loadModel, type Model } from '../../src/models/model.js';
import { writeSafetensors } from '../../src/models/safetensors.js';
import type { Architecture } from '../../src/models/types.js';
import { loadWeights } from '../../src/models/weights.js';
import { tensor, type HostTensor } from '../../src/runtime/tensor.js';
import { FIXTURES, maxAbsDiff, flat } from '../helpers/reference.js';

const TOL = 1e-5;

interface Case {
  input_ids: number[];
  logits: number[];
  attentions: number[][][][];
  hidden_states: number[][][];
}

const data = (t: HostTensor) => t.data as Float32Array;


function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): number {
  const d = maxAbsDiff(a, b);
  assert.ok(d <= tol, `${what}: max abs error ${d} > ${tol}`);
  return d;
}

/** The worst error seen per fixture quantity, printed at the end (the numbers the header promises). */
const worst: Record<string, number> = {};
const note = (key: string, d: number) => (worst[key] = Math.max(worst[key] ?? 0, d));
after(() => console.log('max abs error vs transformers 4.37:', JSON.stringify(worst)));

/** `ids` padded with `padId` to length `S`, on the left or the right, and its mask. */
function padded(ids: number[], S: number, padId: number, left: boolean): { ids: number[]; mask: number[] } {
  const n = S - ids.length;
  const fill = (v: number) => Array<number>(n).fill(v);
  const ones = ids.map(() => 1);
  return left ? { ids: [...fill(padId), ...ids], mask: [...fill(0), ...ones] } : { ids: [...ids, ...fill(padId)], mask: [...ones, ...fill(0)] };
}

/** Row `b` of a [batch, ...] tensor, as a plain array. */
function row(t: HostTensor, b: number): number[] {
  const size = t.dims.slice(1).reduce((x, y) => x * y, 1);
  return Array.from(data(t).subarray(b * size, (b + 1) * size));
}

/** Rows [from, from + n) of the per-position tensor row `b` ([batch, pos, d]). */
function positions(t: HostTensor, b: number, from: number, n: number): number[] {
  const [, S, D] = t.dims;
  const base = b * S * D;
  return Array.from(data(t).subarray(base + from * D, base + (from + n) * D));
}

/** The hooks a model documents and the taps its graph has are the same set. */
function assertHooksAreTaps(model: Model): void {
  const { graph } = model.buildGraph(2, 5);
  const taps = [...graph.taps.keys()];
  assert.deepEqual(model.hookNames.filter((h) => !graph.taps.has(h)), [], `${model.className}: hooks that are not taps`);
  assert.deepEqual(taps.filter((t) => !model.hookNames.includes(t)), [], `${model.className}: taps not in hookNames`);
}

// ---------------------------------------------------------------------------------------
// Tiny checkpoints written here

/** Deterministic uniform numbers in [-1, 1) from a name (mulberry32 seeded by an FNV-1a hash). */
function randomFor(name: string, n: number): Float32Array {
  let s = 2166136261;
  for (const c of name) s = Math.imul(s ^ c.charCodeAt(0), 16777619) >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

/** A random tensor for a weight name: LayerNorm gains near 1, everything else small. */
function randomWeight(name: string, dims: number[]): HostTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const r = randomFor(name, n);
  const isGain = /(LayerNorm|layer_norm|_norm)\.weight$/.test(name);
  return tensor('float32', dims, r.map((x) => (isGain ? 1 + 0.2 * x : 0.3 * x)));
}

/** Random weights for every tensor `arch`'s class reads, tied ones left out as save_pretrained does. */
function randomCheckpoint(arch: Architecture, raw: Record<string, unknown>, cls: string): Record<string, HostTensor> {
  const cfg = arch.parseConfig(raw);
  const spec = arch.weights(cfg, cls);
  const out: Record<string, HostTensor> = {};
  for (const [name, dims] of spec.expected) if (!spec.tied.has(name)) out[name] = randomWeight(name, dims);
  return out;
}

async function writeCheckpoint(dir: string, config: Record<string, unknown>, tensors: Record<string, HostTensor>): Promise<string> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}

async function readFixtureWeights(name: string): Promise<Record<string, HostTensor>> {
  return Object.fromEntries((await loadWeights(join(FIXTURES, name))).tensors);
}

// ---------------------------------------------------------------------------------------
// The MLM heads recomputed on the host, in float64

/** x [S, in] @ W^T + b for a torch Linear W [out, in]. */
function hostLinear(x: number[][], w: HostTensor, b: HostTensor | null): number[][] {
  const [out, inp] = w.dims;
  const W = data(w);
  return x.map((r) => Array.from({ length: out }, (_, o) => {
    let s = b ? data(b)[o] : 0;
    for (let i = 0; i < inp; i++) s += W[o * inp + i] * r[i];
    return s;
  }));
}

function hostLayerNorm(x: number[][], w: HostTensor, b: HostTensor, eps: number): number[][] {
  return x.map((r) => {
    const mean = r.reduce((a, v) => a + v, 0) / r.length;
    const variance = r.reduce((a, v) => a + (v - mean) ** 2, 0) / r.length;
    return r.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * data(w)[i] + data(b)[i]);
  });
}

/** erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), enough for a 1e-5 comparison. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}
const hostGelu = (x: number[][]) => x.map((r) => r.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))));

/** [S, D] rows of a [1, S, D] tensor. */
const rowsOf = (t: HostTensor) => Array.from({ length: t.dims[1] }, (_, s) => Array.from(data(t).subarray(s * t.dims[2], (s + 1) * t.dims[2])));

/** dense -> gelu -> LayerNorm -> tied decoder + bias, from the last hidden state of the base model. */
function hostMlmHead(h: HostTensor, w: Record<string, HostTensor>, names: { dense: string; norm: string; decoder: string; bias: string }, eps: number): number[] {
  const t = hostLayerNorm(hostGelu(hostLinear(rowsOf(h), w[`${names.dense}.weight`], w[`${names.dense}.bias`])), w[`${names.norm}.weight`], w[`${names.norm}.bias`], eps);
  return hostLinear(t, w[names.decoder], w[names.bias]).flat();
}

// ---------------------------------------------------------------------------------------
// Fixtures: BERT and DistilBERT sequence classifiers against transformers

const FIXTURE_MODELS = [
  { name: 'tiny-bert-cls', className: 'BertForSequenceClassification', base: 'BertModel', padId: 0 },
  { name: 'tiny-distilbert-cls', className: 'DistilBertForSequenceClassification', base: 'DistilBertModel', padId: 0 },
];

for (const fx of FIXTURE_MODELS) {
  describe(`${fx.name} vs transformers`, () => {
    const folder = join(FIXTURES, fx.name);
    const ref = JSON.parse(readFileSync(join(folder, 'reference.json'), 'utf8')) as { cases: Case[] };
    let model: Model;

    before(async () => {
      model = await loadModel(folder);
    });

    it('loads as its class', () => {
      assert.equal(model.className, fx.className);
      assert.equal(model.head, 'sequence_classification');
      assert.equal(model.config.nLayers, 2);
      assert.equal(model.config.causal, false);
    });

    for (const [ci, c] of ref.cases.entries()) {
      it(`case ${ci} (S=${c.input_ids.length}): logits, attentions, hidden states within ${TOL}`, async () => {
        const L = model.config.nLayers;
        const capture = ['blocks.0.hook_resid_pre'];
        for (let l = 0; l < L; l++) capture.push(`blocks.${l}.attn.hook_pattern`, `blocks.${l}.ln2.hook_normalized`);
        const out = await model.forward({ inputIds: [c.input_ids], attentionMask: [c.input_ids.map(() => 1)] }, { capture });
        note(`${fx.name} logits`, assertClose(data(out.logits), c.logits, TOL, 'logits'));
        note(`${fx.name} hidden`, assertClose(data(out.captured['blocks.0.hook_resid_pre']), flat(c.hidden_states[0]), TOL, 'hidden_states[0]'));
        for (let l = 0; l < L; l++) {
          note(`${fx.name} attentions`, assertClose(data(out.captured[`blocks.${l}.attn.hook_pattern`]), flat(c.attentions[l]), TOL, `attentions[${l}]`));
          note(`${fx.name} hidden`, assertClose(data(out.captured[`blocks.${l}.ln2.hook_normalized`]), flat(c.hidden_states[l + 1]), TOL, `hidden_states[${l + 1}]`));
        }
      });
    }

    it('a padded batch (left and right) gives each row the logits it gives alone', async () => {
      const [a, b] = [ref.cases[0], ref.cases[2]]; // 5 and 8 tokens
      const S = b.input_ids.length;
      for (const left of [false, true]) {
        const pa = padded(a.input_ids, S, fx.padId, left);
        const out = await model.forward({ inputIds: [pa.ids, b.input_ids], attentionMask: [pa.mask, b.input_ids.map(() => 1)] }, { capture: [`blocks.1.ln2.hook_normalized`] });
        const side = left ? 'left' : 'right';
        assertClose(row(out.logits, 0), a.logits, TOL, `${side}-padded row`);
        assertClose(row(out.logits, 1), b.logits, TOL, 'unpadded row beside it');
        const h = out.captured['blocks.1.ln2.hook_normalized'];
        assertClose(positions(h, 0, left ? S - a.input_ids.length : 0, a.input_ids.length), flat(a.hidden_states[2]), TOL, `${side}-padded hidden states`);
      }
    });

    it(`reads as ${fx.base}: the head's weights are dropped and the logits are the last hidden state`, async () => {
      const base = await loadModel(folder, { className: fx.base });
      assert.equal(base.head, 'base');
      const c = ref.cases[1];
      const out = await base.forward({ inputIds: [c.input_ids], attentionMask: [c.input_ids.map(() => 1)] });
      assert.deepEqual(out.logits.dims, [1, c.input_ids.length, base.config.dModel]);
      assertClose(data(out.logits), flat(c.hidden_states[2]), TOL, 'last hidden state');
    });

    it('every hook in hookNames is a tap of the built graph', () => assertHooksAreTaps(model));
  });
}

// ---------------------------------------------------------------------------------------
// Masked LM heads with tied decoders (fixture encoders, random heads)

describe('masked LM heads (tied decoders)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glassbox-mlm-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const ids = [2, 17, 42, 8, 33, 3];
  const mask = ids.map(() => 1);

  it('BertForMaskedLM: decoder tied to the word embeddings, decoder.bias and buffers ignored, head as transformers computes it', async () => {
    const raw = JSON.parse(readFileSync(join(FIXTURES, 'tiny-bert-cls/config.json'), 'utf8'));
    const config = { ...raw, architectures: ['BertForMaskedLM'] };
    const fixture = await readFixtureWeights('tiny-bert-cls');
    const head = randomCheckpoint(bert, config, 'BertForMaskedLM');
    const tensors: Record<string, HostTensor> = {};
    for (const [n, t] of Object.entries(fixture)) if (n.startsWith('bert.') && !n.startsWith('bert.pooler.')) tensors[n] = t;
    for (const [n, t] of Object.entries(head)) if (n.startsWith('cls.')) tensors[n] = t;
    assert.ok(!('cls.predictions.decoder.weight' in tensors));
    tensors['cls.predictions.decoder.bias'] = tensors['cls.predictions.bias']; // saved twice by transformers
    tensors['bert.embeddings.position_ids'] = tensor('int64', [1, 32], BigInt64Array.from({ length: 32 }, (_, i) => BigInt(i)));
    const folder = await writeCheckpoint(join(dir, 'bert-mlm'), config, tensors);

    const mlm = await loadModel(folder);
    assert.equal(mlm.head, 'masked_lm');
    assert.equal(mlm.weights['cls.predictions.decoder.weight'], mlm.weights['bert.embeddings.word_embeddings.weight']);
    const out = await mlm.forward({ inputIds: [ids], attentionMask: [mask] });
    assert.deepEqual(out.logits.dims, [1, ids.length, 64]);

    const base = await loadModel(folder, { className: 'BertModel' });
    const h = (await base.forward({ inputIds: [ids], attentionMask: [mask] })).logits;
    const expected = hostMlmHead(h, mlm.weights, { dense: 'cls.predictions.transform.dense', norm: 'cls.predictions.transform.LayerNorm', decoder: 'bert.embeddings.word_embeddings.weight', bias: 'cls.predictions.bias' }, 1e-12);
    assertClose(data(out.logits), expected, TOL, 'MLM logits vs host head');
    assertHooksAreTaps(mlm);
  });

  it('DistilBertForMaskedLM: vocab_projector tied to the word embeddings, head as transformers computes it', async () => {
    const raw = JSON.parse(readFileSync(join(FIXTURES, 'tiny-distilbert-cls/config.json'), 'utf8'));
    const config = { ...raw, architectures: ['DistilBertForMaskedLM'] };
    const fixture = await readFixtureWeights('tiny-distilbert-cls');
    const head = randomCheckpoint(distilbert, config, 'DistilBertForMaskedLM');
    const tensors: Record<string, HostTensor> = {};
    for (const [n, t] of Object.entries(fixture)) if (n.startsWith('distilbert.')) tensors[n] = t;
    for (const [n, t] of Object.entries(head)) if (n.startsWith('vocab_')) tensors[n] = t;
    assert.ok(!('vocab_projector.weight' in tensors));
    const folder = await writeCheckpoint(join(dir, 'distilbert-mlm'), config, tensors);

    const mlm = await loadModel(folder);
    assert.equal(mlm.head, 'masked_lm');
    const out = await mlm.forward({ inputIds: [ids], attentionMask: [mask] });
    const base = await loadModel(folder, { className: 'DistilBertModel' });
    const h = (await base.forward({ inputIds: [ids], attentionMask: [mask] })).logits;
    const expected = hostMlmHead(h, mlm.weights, { dense: 'vocab_transform', norm: 'vocab_layer_norm', decoder: 'distilbert.embeddings.word_embeddings.weight', bias: 'vocab_projector.bias' }, 1e-12);
    assertClose(data(out.logits), expected, TOL, 'MLM logits vs host head');
    assertHooksAreTaps(mlm);
  });
});

// ---------------------------------------------------------------------------------------
// RoBERTa: a tiny random checkpoint, checked against BERT on the same weights

describe('RoBERTa (tiny random checkpoint)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glassbox-roberta-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const PAD = 1;
  const MAX_POS = 20; // max_position_embeddings; real tokens may use MAX_POS - PAD - 1 = 18 of them
  const raw = {
    model_type: 'roberta', vocab_size: 40, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2,
    intermediate_size: 32, max_position_embeddings: MAX_POS, type_vocab_size: 1, pad_token_id: PAD,
    layer_norm_eps: 1e-5, hidden_act: 'gelu', num_labels: 3,
  };
  const CLASSES = [
    { roberta: 'RobertaModel', bert: 'BertModel', dims: (S: number) => [1, S, 16] },
    { roberta: 'RobertaForSequenceClassification', bert: 'BertForSequenceClassification', dims: () => [1, 3] },
    { roberta: 'RobertaForMaskedLM', bert: 'BertForMaskedLM', dims: (S: number) => [1, S, 40] },
  ];
  /** RoBERTa module names -> BERT's, where the two heads compute the same thing. */
  const RENAME: [RegExp, string][] = [
    [/^roberta\./, 'bert.'],
    [/^classifier\.dense\./, 'bert.pooler.dense.'],
    [/^classifier\.out_proj\./, 'classifier.'],
    [/^lm_head\.dense\./, 'cls.predictions.transform.dense.'],
    [/^lm_head\.layer_norm\./, 'cls.predictions.transform.LayerNorm.'],
    [/^lm_head\.bias$/, 'cls.predictions.bias'],
  ];
  const folders: Record<string, { roberta: string; bert: string }> = {};
  const a = [0, 5, 9, 23, 17, 2]; // <s> ... </s>
  const b = [0, 30, 4, 11, 2];

  before(async () => {
    for (const c of CLASSES) {
      const weights = randomCheckpoint(roberta, { ...raw, architectures: [c.roberta] }, c.roberta);
      const renamed: Record<string, HostTensor> = {};
      for (const [n, t] of Object.entries(weights)) {
        const [re, to] = RENAME.find(([r]) => r.test(n)) ?? assert.fail(`no BERT name for ${n}`);
        renamed[n.replace(re, to)] = t;
      }
      // BERT's position p is RoBERTa's padding_idx + 1 + p.
      const pos = weights['roberta.embeddings.position_embeddings.weight'];
      const D = pos.dims[1];
      renamed['bert.embeddings.position_embeddings.weight'] = tensor('float32', [MAX_POS - PAD - 1, D], data(pos).slice((PAD + 1) * D));
      folders[c.roberta] = {
        roberta: await writeCheckpoint(join(dir, c.roberta), { ...raw, architectures: [c.roberta] }, weights),
        bert: await writeCheckpoint(join(dir, c.bert), { ...raw, model_type: 'bert', architectures: [c.bert], max_position_embeddings: MAX_POS - PAD - 1, pad_token_id: 0 }, renamed),
      };
    }
  });

  it('positions start at padding_idx + 1 and pads read padding_idx, whatever the padding side', () => {
    const cfg = roberta.parseConfig(raw);
    assert.deepEqual(roberta.positionIds([[0, 0, 1, 1, 1], [1, 1, 1, 0, 0]], cfg), [[1, 1, 2, 3, 4], [2, 3, 4, 1, 1]]);
    assert.equal(cfg.maxPositions, MAX_POS - PAD - 1);
  });

  for (const c of CLASSES) {
    it(`${c.roberta} loads, runs, and equals ${c.bert} on the same weights with shifted positions`, async () => {
      const r = await loadModel(folders[c.roberta].roberta);
      const bm = await loadModel(folders[c.roberta].bert);
      assert.equal(r.className, c.roberta);
      const inputs = { inputIds: [a], attentionMask: [a.map(() => 1)] };
      const capture = ['blocks.0.hook_resid_pre', 'blocks.1.ln2.hook_normalized'];
      const ro = await r.forward(inputs, { capture });
      const bo = await bm.forward(inputs, { capture });
      assert.deepEqual(ro.logits.dims, c.dims(a.length));
      assert.ok(data(ro.logits).every(Number.isFinite));
      assertClose(data(ro.logits), data(bo.logits), 1e-6, 'logits');
      for (const h of capture) assertClose(data(ro.captured[h]), data(bo.captured[h]), 1e-6, h);
      assertHooksAreTaps(r);
    });
  }

  it('a padded batch (left and right, pad id 1) gives each row the numbers it gives alone', async () => {
    for (const c of CLASSES) {
      const model = await loadModel(folders[c.roberta].roberta);
      const alone = async (ids: number[]) => data((await model.forward({ inputIds: [ids], attentionMask: [ids.map(() => 1)] })).logits);
      const [la, lb] = [await alone(a), await alone(b)];
      for (const left of [false, true]) {
        const pb = padded(b, a.length, PAD, left);
        const out = await model.forward({ inputIds: [a, pb.ids], attentionMask: [a.map(() => 1), pb.mask] });
        const side = `${c.roberta}, ${left ? 'left' : 'right'} padding`;
        if (out.logits.dims.length === 2) {
          assertClose(row(out.logits, 0), la, TOL, `${side}: unpadded row`);
          assertClose(row(out.logits, 1), lb, TOL, `${side}: padded row`);
        } else {
          assertClose(positions(out.logits, 0, 0, a.length), la, TOL, `${side}: unpadded row`);
          assertClose(positions(out.logits, 1, left ? a.length - b.length : 0, b.length), lb, TOL, `${side}: padded row`);
        }
      }
    }
  });

  it('accepts max_position_embeddings - padding_idx - 1 tokens and refuses one more', async () => {
    const model = await loadModel(folders.RobertaModel.roberta);
    const ids = (n: number) => Array.from({ length: n }, (_, i) => 3 + (i % 30));
    const ok = await model.forward({ inputIds: [ids(18)], attentionMask: [ids(18).map(() => 1)] });
    assert.deepEqual(ok.logits.dims, [1, 18, 16]);
    await assert.rejects(model.forward({ inputIds: [ids(19)], attentionMask: [ids(19).map(() => 1)] }), (e: unknown) => e instanceof GlassboxError && e.code === 'BAD_INPUT');
  });

  it('xlm-roberta reads as RoBERTa', async () => {
    const folder = await writeCheckpoint(join(dir, 'xlmr'), { ...raw, model_type: 'xlm-roberta', architectures: ['XLMRobertaModel'] }, randomCheckpoint(roberta, raw, 'RobertaModel'));
    const model = await loadModel(folder);
    assert.equal(model.arch, roberta);
    assert.equal(model.head, 'base');
  });
});

describe('encoder configs', () => {
  it('refuses relative position embeddings and unknown activations by name', () => {
    const raw = JSON.parse(readFileSync(join(FIXTURES, 'tiny-bert-cls/config.json'), 'utf8'));
    const code = (f: () => unknown) => assert.throws(f, (e: unknown) => e instanceof GlassboxError && e.code === 'UNSUPPORTED_MODEL');
    code(() => bert.parseConfig({ ...raw, position_embedding_type: 'relative_key' }));
    code(() => bert.parseConfig({ ...raw, hidden_act: 'mish' }));
    code(() => distilbert.parseConfig({ model_type: 'distilbert', dim: 32, n_heads: 2, n_layers: 2, hidden_dim: 64, vocab_size: 64, activation: 'mish' }));
  });
});
