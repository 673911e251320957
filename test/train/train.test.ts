/**
 * Training on the engine, end to end: gradients of the training graph against finite
 * differences, a short run on SST-2 phrases, determinism, and checkpoints that round-trip
 * bit-exactly through save and `loadModel`.
 *
 * Thresholds (fixed seed 7): a tiny BERT (1 layer, hidden 32) trained for 3 epochs on the
 * first 2,000 SST-2 training phrases must lower its training loss and reach more than 60%
 * accuracy on 500 other training phrases (chance is about 50%; it reaches about 70%).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { compile, runProgram } from '../../src/engine/program.js';
import { loadModel } from '../../src/models/model.js';
import { readSafetensors } from '../../src/models/safetensors.js';
import { defaultExecutor } from '../../src/runtime/index.js';
import type { HostTensor } from '../../src/runtime/tensor.js';
import { tokenizerFromJson } from '../../src/tokenize/index.js';
import { trainWordPiece } from '../../src/tokenize/train-wordpiece.js';
import { CHECKPOINT_FILES, saveCheckpoint, tokenizerConfigJson } from '../../src/train/checkpoint.js';
import { classifyIds, encodeTexts, padBatch, predictTexts, scoreClassification } from '../../src/train/classify.js';
import { checkLabels, readLabelledTsv, readTsv } from '../../src/train/data.js';
import { defaultModelPath } from '../../src/train/default-model.js';
import { buildTrainGraph } from '../../src/train/graphs.js';
import { bertClassifierConfig, createBertClassifier } from '../../src/train/init.js';
import { createRng } from '../../src/train/rng.js';
import { trainClassifier, type TrainEvent } from '../../src/train/trainer.js';

const ROOT = join(import.meta.dirname, '../..');
const SST2 = join(ROOT, '../shared/data/sst2');
const temp = mkdtempSync(join(tmpdir(), 'glassbox-train-'));
after(() => rmSync(temp, { recursive: true, force: true }));

const TINY = { hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 64 };
const sst2 = readLabelledTsv(join(SST2, 'train.tsv'));
const slice = (from: number, to: number) => ({ texts: sst2.texts.slice(from, to), labels: sst2.labels.slice(from, to) });

describe('training gradients', () => {
  test('match central finite differences of the loss (float32, h = 1e-2, with dropout masks)', async () => {
    // Larger weights than the 0.02 init, so that every gradient is well above float32 noise.
    const tokenizerJson = trainWordPiece(slice(0, 300).texts, { vocabSize: 120 });
    const tokenizer = tokenizerFromJson(tokenizerJson, tokenizerConfigJson(16));
    const config = bertClassifierConfig({ ...TINY, hiddenSize: 8, intermediateSize: 16, maxPositions: 16, vocabSize: tokenizer.vocabSize, initializerRange: 0.5 });
    const model = createBertClassifier(config, { tokenizer, seed: 3 });
    const batch = 2;
    const seq = 8;
    const tg = buildTrainGraph(model, batch, seq, { dropout: { hidden: 0.2, attention: 0.2 } });
    assert.ok(tg.dropout.length > 0, 'dropout masks are inputs');
    const program = compile(tg.graph);
    const ids = encodeTexts(tokenizer, ['a gripping , funny film', 'dull'], seq);
    const rng = createRng(11);
    const feeds: Record<string, HostTensor> = {
      ...model.weights,
      ...model.feeds(padBatch(ids, batch, seq, 0)),
      targets: { dtype: 'float32', dims: [batch, 2], data: Float32Array.of(0, 1, 1, 0) },
      example_weights: { dtype: 'float32', dims: [batch], data: Float32Array.of(0.5, 0.5) },
    };
    for (const s of tg.dropout) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      feeds[s.input] = { dtype: 'float32', dims: [...s.shape], data: Float32Array.from({ length: n }, () => (rng.next() < s.p ? 0 : 1 / (1 - s.p))) };
    }
    const exec = defaultExecutor();
    const out = await runProgram(exec, program, feeds);
    const lossAt = async () => Number((await runProgram(exec, program, feeds, { fetch: ['loss'] })).loss.data[0]);
    const h = 1e-2;
    const names = [
      'classifier.weight',
      'bert.pooler.dense.weight',
      'bert.encoder.layer.0.attention.self.query.weight',
      'bert.encoder.layer.0.output.dense.bias',
      'bert.encoder.layer.0.attention.output.LayerNorm.weight',
      'bert.embeddings.word_embeddings.weight',
      'bert.embeddings.position_embeddings.weight',
    ];
    for (const name of names) {
      const analytic = out[tg.gradOutputs.get(name)!]!.data as Float32Array;
      const w = model.weights[name]!.data as Float32Array;
      // The three largest gradient entries of each weight.
      const top = [...analytic.keys()].sort((a, b) => Math.abs(analytic[b]!) - Math.abs(analytic[a]!)).slice(0, 3);
      for (const j of top) {
        const keep = w[j]!;
        w[j] = keep + h;
        const up = await lossAt();
        w[j] = keep - h;
        const down = await lossAt();
        w[j] = keep;
        const numeric = (up - down) / (2 * h);
        const diff = Math.abs(analytic[j]! - numeric);
        assert.ok(diff <= 2e-3 + 0.05 * Math.abs(numeric), `d loss / d ${name}[${j}]: analytic ${analytic[j]} vs finite difference ${numeric}`);
      }
    }
  });
});

describe('a short training run', () => {
  const events: TrainEvent[] = [];
  let result: Awaited<ReturnType<typeof trainClassifier>>;

  test('lowers the loss and beats chance on held-out phrases (> 60% on 500)', async () => {
    result = await trainClassifier({
      train: slice(0, 2000),
      validation: slice(3000, 3500),
      vocabSize: 2000,
      architecture: TINY,
      epochs: 3,
      lr: 3e-3,
      evalEvery: 50,
      seed: 7,
      onProgress: (e) => events.push(e),
    });
    const steps = events.filter((e): e is Extract<TrainEvent, { type: 'step' }> => e.type === 'step');
    assert.equal(steps.length, result.steps);
    assert.equal(result.steps, Math.ceil(2000 / 32) * 3);
    const first = steps.slice(0, 10).reduce((s, e) => s + e.loss, 0) / 10;
    const last = steps.slice(-10).reduce((s, e) => s + e.loss, 0) / 10;
    assert.ok(last < first - 0.1, `training loss went from ${first.toFixed(3)} to ${last.toFixed(3)}`);
    assert.ok(result.best!.accuracy > 0.6, `held-out accuracy ${result.best!.accuracy}`);
    assert.equal(events[0]!.type, 'start');
    assert.equal(events[events.length - 1]!.type, 'done');
    assert.ok(steps.every((e) => e.examplesPerSecond > 0 && e.etaSeconds >= 0 && e.lr >= 0));
    // The model keeps the best weights: re-evaluating gives the best accuracy.
    const ids = encodeTexts(result.model.tokenizer!, slice(3000, 3500).texts, 64);
    const { accuracy } = scoreClassification((await classifyIds(result.model, ids)).probabilities, slice(3000, 3500).labels);
    assert.equal(accuracy, result.best!.accuracy);
  });

  test('the same seed gives the same weights; early stopping stops on patience', async () => {
    const run = (seed: number) =>
      trainClassifier({ train: slice(0, 400), validation: slice(3000, 3100), vocabSize: 500, architecture: TINY, maxSteps: 12, evalEvery: 4, patience: 1, lr: 1e-4, seed });
    const [a, b, c] = [await run(1), await run(1), await run(2)];
    const w = (r: typeof a) => r.model.weights['bert.encoder.layer.0.attention.self.query.weight']!.data;
    assert.deepEqual(w(a), w(b));
    assert.notDeepEqual(w(a), w(c));
    for (const r of [a, b, c]) if (r.stopReason === 'early_stopping') assert.ok(r.history.length >= 2);
  });

  test('stops with CANCELLED when the signal aborts', async () => {
    const controller = new AbortController();
    await assert.rejects(
      trainClassifier({
        train: slice(0, 400), validation: slice(3000, 3100), vocabSize: 500, architecture: TINY, epochs: 5, signal: controller.signal,
        onProgress: (e) => { if (e.type === 'step' && e.step === 3) controller.abort(); },
      }),
      (e: Error & { code?: string }) => e.code === 'CANCELLED',
    );
  });

  test('a checkpoint round-trips bit-exactly through saveCheckpoint and loadModel', async () => {
    const dir = join(temp, 'ckpt');
    const files = await saveCheckpoint(dir, { config: result.config, weights: result.model.weights, tokenizerJson: result.tokenizerJson });
    for (const f of CHECKPOINT_FILES) assert.ok(files.includes(join(dir, f)) && existsSync(join(dir, f)), f);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(config.architectures, ['BertForSequenceClassification']);
    assert.equal(config.model_type, 'bert');
    assert.deepEqual(config.id2label, { 0: 'negative', 1: 'positive' });
    assert.deepEqual(config.label2id, { negative: 0, positive: 1 });
    for (const k of ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings', 'vocab_size', 'type_vocab_size', 'hidden_act', 'layer_norm_eps', 'pad_token_id', 'torch_dtype', 'transformers_version']) {
      assert.ok(k in config, k);
    }
    // The safetensors names and shapes are the BERT spec's, metadata format pt (as save_pretrained).
    const st = await readSafetensors(join(dir, 'model.safetensors'));
    assert.equal(st.metadata?.format, 'pt');
    assert.deepEqual([...st.tensors.keys()].sort(), Object.keys(result.model.weights).sort());

    const loaded = await loadModel(dir);
    assert.equal(loaded.className, 'BertForSequenceClassification');
    for (const [name, t] of Object.entries(result.model.weights)) {
      assert.deepEqual(loaded.weights[name]!.dims, t.dims, name);
      assert.deepEqual(loaded.weights[name]!.data, t.data, `${name} is bit-exact`);
    }
    const texts = ['a gorgeous , witty film', 'boring and far too long', 'ok'];
    const before = await predictTexts(result.model, texts);
    const afterLoad = await predictTexts(loaded, texts);
    assert.deepEqual(afterLoad.map((p) => p.probabilities), before.map((p) => p.probabilities), 'logits equal');
    assert.deepEqual(loaded.tokenizer!.encode(texts[0]!).ids, result.model.tokenizer!.encode(texts[0]!).ids);
    assert.equal(loaded.tokenizer!.modelMaxLength, TINY.maxPositions);

    // An existing folder is refused unless overwrite.
    await assert.rejects(saveCheckpoint(dir, { config: result.config, weights: result.model.weights, tokenizerJson: result.tokenizerJson }), (e: Error & { code?: string }) => e.code === 'BAD_INPUT' && /already exists/.test(e.message));
    await saveCheckpoint(dir, { config: result.config, weights: result.model.weights, tokenizerJson: result.tokenizerJson }, { overwrite: true, readme: '# x\n' });
    assert.equal(readFileSync(join(dir, 'README.md'), 'utf8'), '# x\n');
  });
});

describe('initialisation', () => {
  test('as transformers BertPreTrainedModel._init_weights: normal(0, 0.02), zero biases, LayerNorm 1/0, pad row 0', () => {
    const config = bertClassifierConfig({ ...TINY, vocabSize: 500 });
    const model = createBertClassifier(config, { seed: 1 });
    const w = model.weights;
    const std = (a: Float32Array) => Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
    const emb = w['bert.embeddings.word_embeddings.weight']!.data as Float32Array;
    assert.ok(Math.abs(std(emb.subarray(32)) - 0.02) < 0.001, `std ${std(emb)}`);
    assert.ok(emb.subarray(0, 32).every((x) => x === 0), 'the [PAD] row is zero');
    assert.ok((w['bert.encoder.layer.0.attention.self.query.bias']!.data as Float32Array).every((x) => x === 0));
    assert.ok((w['bert.embeddings.LayerNorm.weight']!.data as Float32Array).every((x) => x === 1));
    assert.ok((w['bert.embeddings.LayerNorm.bias']!.data as Float32Array).every((x) => x === 0));
    assert.ok((w['classifier.bias']!.data as Float32Array).every((x) => x === 0));
  });
});

describe('bad input', () => {
  const write = (name: string, text: string) => {
    const p = join(temp, name);
    writeFileSync(p, text);
    return p;
  };

  test('a TSV without the needed columns names the columns it found', () => {
    const p = write('cols.tsv', 'score\treview\n1\tgood\n');
    assert.throws(() => readLabelledTsv(p), (e: Error & { code?: string }) => e.code === 'BAD_INPUT' && /'score', 'review'/.test(e.message) && /'label'/.test(e.message));
    // Without labels required, only the text column is needed.
    assert.throws(() => readTsv(p, { requireLabels: false }), /a text column/);
    const ok = readTsv(write('unlabelled.tsv', 'id\tcontent\n1\tgood\n'), { requireLabels: false });
    assert.deepEqual(ok, { texts: ['good'], labels: null, textColumn: 'content' });
  });

  test('labels outside the model range, non-numeric labels, an empty file, a missing file', () => {
    assert.throws(() => checkLabels([0, 1, 2], 2, 'x.tsv'), (e: Error & { code?: string }) => e.code === 'BAD_INPUT' && /label 2/.test(e.message) && /0\.\.1/.test(e.message));
    assert.throws(() => readLabelledTsv(write('nonnum.tsv', 'label\tsentence\npos\tgood\n')), /line 2: label "pos"/);
    assert.throws(() => readLabelledTsv(write('empty.tsv', '')), (e: Error & { code?: string }) => e.code === 'BAD_INPUT' && /empty/.test(e.message));
    assert.throws(() => readLabelledTsv(write('header.tsv', 'label\tsentence\n')), /no examples/);
    assert.throws(() => readLabelledTsv(join(temp, 'nope.tsv')), (e: Error & { code?: string }) => e.code === 'MISSING_FILE');
  });

  test('training refuses labels outside the model range', async () => {
    await assert.rejects(
      trainClassifier({ train: { texts: ['good', 'bad', 'meh'], labels: [0, 1, 2] }, validation: { texts: ['fine'], labels: [1] }, vocabSize: 100, architecture: TINY }),
      (e: Error & { code?: string }) => e.code === 'BAD_INPUT' && /label 2/.test(e.message),
    );
  });
});

test('defaultModelPath is models/sst2-bert-tiny at the package root', () => {
  assert.equal(defaultModelPath(), join(ROOT, 'models', 'sst2-bert-tiny'));
});
