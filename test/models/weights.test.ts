/**
 * Hub-folder weight loading (single file, shards, a lone *.safetensors, PyTorch-only and empty
 * folders) and the check of names and shapes against an architecture.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GlassboxError } from '../../src/errors.js';
import { writeSafetensors } from '../../src/models/safetensors.js';
import { checkWeights, loadWeights, stripPrefix } from '../../src/models/weights.js';
import { tensor, type HostTensor } from '../../src/runtime/tensor.js';

const root = mkdtempSync(join(tmpdir(), 'glassbox-weights-'));
after(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function folder(): string {
  const d = join(root, `m${counter++}`);
  mkdirSync(d);
  return d;
}

const TINY_GPT2 = '/work/shared/fixtures/hf-reference/tiny-gpt2';

function isError(code: string, ...patterns: (string | RegExp)[]) {
  return (e: unknown) => {
    assert.ok(e instanceof GlassboxError, `not a GlassboxError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const p of patterns) {
      if (typeof p === 'string') assert.ok(e.message.includes(p), `message lacks ${JSON.stringify(p)}: ${e.message}`);
      else assert.match(e.message, p);
    }
    return true;
  };
}

function f32(dims: number[], fill = 0): HostTensor {
  return tensor('float32', dims, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(fill));
}

test('model.safetensors: the tiny-gpt2 fixture folder', async () => {
  const w = await loadWeights(TINY_GPT2);
  assert.equal(w.tensors.size, 28);
  assert.deepEqual(w.files, [join(TINY_GPT2, 'model.safetensors')]);
  assert.ok(w.bytes > 28 * 4);
  assert.deepEqual(w.tensors.get('transformer.wte.weight')!.dims, [64, 32]);
  assert.deepEqual(w.tensors.get('transformer.h.1.attn.c_attn.bias')!.dims, [96]);
});

test('a lone *.safetensors file with another name is used', async () => {
  const d = folder();
  await writeSafetensors(join(d, 'weights.safetensors'), { a: f32([2], 1) });
  writeFileSync(join(d, 'config.json'), '{}');
  const w = await loadWeights(d);
  assert.deepEqual([...w.tensors.keys()], ['a']);
});

test('several *.safetensors without an index is an error listing them', async () => {
  const d = folder();
  await writeSafetensors(join(d, 'a.safetensors'), { a: f32([1]) });
  await writeSafetensors(join(d, 'b.safetensors'), { b: f32([1]) });
  await assert.rejects(loadWeights(d), isError('BAD_WEIGHTS', 'a.safetensors, b.safetensors', d));
});

test('sharded: every shard the index lists is read and merged', async () => {
  const d = folder();
  await writeSafetensors(join(d, 'model-00001-of-00002.safetensors'), { 'h.0.w': f32([2, 3], 1), 'h.0.b': f32([3], 2) });
  await writeSafetensors(join(d, 'model-00002-of-00002.safetensors'), {
    'h.1.w': f32([2, 3], 3),
    steps: tensor('int64', [1], [5]),
    stray: f32([1]), // in the shard but not in the index: not loaded
  });
  const index = {
    metadata: { total_size: 4 * 15 + 8 },
    weight_map: {
      'h.0.w': 'model-00001-of-00002.safetensors',
      'h.0.b': 'model-00001-of-00002.safetensors',
      'h.1.w': 'model-00002-of-00002.safetensors',
      steps: 'model-00002-of-00002.safetensors',
    },
  };
  writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify(index));
  const w = await loadWeights(d);
  assert.deepEqual([...w.tensors.keys()].sort(), ['h.0.b', 'h.0.w', 'h.1.w', 'steps']);
  assert.deepEqual(w.tensors.get('h.1.w')!.data, new Float32Array(6).fill(3));
  assert.deepEqual(w.tensors.get('steps')!.data, new BigInt64Array([5n]));
  assert.equal(w.files.length, 2);
  assert.ok(w.bytes > 0);
});

test('sharded: an index naming a tensor its shard lacks names tensor and shard', async () => {
  const d = folder();
  await writeSafetensors(join(d, 'model-00001-of-00001.safetensors'), { a: f32([1]) });
  const weight_map = { a: 'model-00001-of-00001.safetensors', ghost: 'model-00001-of-00001.safetensors' };
  writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map }));
  await assert.rejects(loadWeights(d), isError('BAD_WEIGHTS', 'ghost (in model-00001-of-00001.safetensors)', d));
});

test('sharded: a missing shard is MISSING_FILE naming it', async () => {
  const d = folder();
  await writeSafetensors(join(d, 'model-00001-of-00002.safetensors'), { a: f32([1]) });
  const weight_map = { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' };
  writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map }));
  await assert.rejects(loadWeights(d), isError('MISSING_FILE', 'shard model-00002-of-00002.safetensors', 'is missing'));
});

test('sharded: a malformed index is refused', async () => {
  const d = folder();
  writeFileSync(join(d, 'model.safetensors.index.json'), '{"weight_map": ');
  await assert.rejects(loadWeights(d), isError('BAD_WEIGHTS', 'not valid JSON', 'model.safetensors.index.json'));
  writeFileSync(join(d, 'model.safetensors.index.json'), '{"weight_map": {"a": "../../etc/x.safetensors"}}');
  await assert.rejects(loadWeights(d), isError('BAD_WEIGHTS', "'a'", 'not a file name inside the folder'));
  writeFileSync(join(d, 'model.safetensors.index.json'), '{"metadata": {}}');
  await assert.rejects(loadWeights(d), isError('BAD_WEIGHTS', 'no weight_map'));
});

test('a PyTorch-only folder explains how to convert', async () => {
  const d = folder();
  writeFileSync(join(d, 'pytorch_model.bin'), 'not really a pickle');
  writeFileSync(join(d, 'config.json'), '{}');
  await assert.rejects(
    loadWeights(d),
    isError('BAD_WEIGHTS', 'pytorch_model.bin', 'safetensors only', `from_pretrained('${d}')`, 'safe_serialization=True', d),
  );
  const sharded = folder();
  writeFileSync(join(sharded, 'pytorch_model.bin.index.json'), '{}');
  await assert.rejects(loadWeights(sharded), isError('BAD_WEIGHTS', 'pytorch_model.bin.index.json', 'save_pretrained'));
});

test('no weights at all is MISSING_FILE listing what was looked for', async () => {
  const d = folder();
  writeFileSync(join(d, 'config.json'), '{}');
  await assert.rejects(loadWeights(d), isError('MISSING_FILE', 'model.safetensors', 'model.safetensors.index.json', '*.safetensors', 'config.json', d));
  await assert.rejects(loadWeights(join(root, 'no-such-folder')), isError('MISSING_FILE', 'no-such-folder'));
});

test('model.safetensors wins over other files', async () => {
  const d = folder();
  copyFileSync(join(TINY_GPT2, 'model.safetensors'), join(d, 'model.safetensors'));
  await writeSafetensors(join(d, 'other.safetensors'), { a: f32([1]) });
  writeFileSync(join(d, 'pytorch_model.bin'), '');
  assert.equal((await loadWeights(d)).tensors.size, 28);
});

// ---- checkWeights ----

const expected = new Map<string, number[]>([
  ['wte.weight', [64, 32]],
  ['ln_f.weight', [32]],
  ['ln_f.bias', [32]],
  ['lm_head.weight', [64, 32]],
]);

test('checkWeights accepts a match, optional absences and ignored extras', () => {
  const found = new Map([
    ['wte.weight', f32([64, 32])],
    ['ln_f.weight', f32([32])],
    ['ln_f.bias', f32([32])],
    ['h.0.attn.bias', f32([1, 1, 8, 8])],
  ]);
  checkWeights(found, expected, { optional: new Set(['lm_head.weight']), ignore: [/\.attn\.bias$/] });
});

test('checkWeights reports missing, unexpected and misshapen at once', () => {
  const found = new Map([
    ['wte.weight', f32([50, 32])],
    ['ln_f.weight', f32([32])],
    ['extra.weight', f32([7, 7])],
    ['h.0.attn.bias', f32([1])],
  ]);
  assert.throws(
    () => checkWeights(found, expected, { optional: new Set(['lm_head.weight']), ignore: [/\.attn\.bias$/], modelName: 'tiny-gpt2' }),
    isError(
      'BAD_WEIGHTS',
      'do not fit tiny-gpt2: 1 missing, 1 unexpected, 1 misshapen',
      'ln_f.bias [32]',
      'extra.weight [7, 7]',
      'wte.weight: expected [64, 32], found [50, 32]',
    ),
  );
  assert.throws(() => checkWeights(found, expected, { optional: new Set(['lm_head.weight']) }), (e: unknown) => {
    assert.ok(e instanceof GlassboxError);
    assert.match(e.message, /2 unexpected/);
    assert.doesNotMatch(e.message, /lm_head/);
    return true;
  });
});

test('checkWeights lists at most 20 lines a group, then a count', () => {
  const many = new Map<string, number[]>(Array.from({ length: 25 }, (_, i) => [`p.${i}`, [1]]));
  assert.throws(
    () => checkWeights(new Map(), many),
    (e: unknown) => {
      assert.ok(e instanceof GlassboxError);
      assert.match(e.message, /25 missing/);
      assert.match(e.message, /p\.19 \[1\]/);
      assert.doesNotMatch(e.message, /p\.20 \[1\]/);
      assert.match(e.message, /\.\.\. and 5 more/);
      return true;
    },
  );
});

test('checkWeights hints at a prefix mismatch', () => {
  const found = new Map([['transformer.ln_f.bias', f32([32])]]);
  assert.throws(
    () => checkWeights(found, new Map([['ln_f.bias', [32]]])),
    isError('BAD_WEIGHTS', "prefix the model does not expect ('transformer.')", 'stripPrefix'),
  );
});

// ---- stripPrefix ----

test('stripPrefix strips a base prefix when a head checkpoint meets a base model', () => {
  const found = new Map([
    ['bert.embeddings.word_embeddings.weight', f32([1])],
    ['bert.pooler.dense.weight', f32([1])],
    ['cls.predictions.bias', f32([1])],
  ]);
  const out = stripPrefix(found, ['bert.'], new Map([['embeddings.word_embeddings.weight', [1]], ['pooler.dense.weight', [1]]]));
  assert.deepEqual([...out.keys()].sort(), ['cls.predictions.bias', 'embeddings.word_embeddings.weight', 'pooler.dense.weight']);
  assert.equal(out.get('pooler.dense.weight'), found.get('bert.pooler.dense.weight'));
});

test('stripPrefix adds the prefix when a base checkpoint meets a head model', () => {
  const found = new Map([
    ['h.0.ln_1.weight', f32([1])],
    ['wte.weight', f32([1])],
  ]);
  const out = stripPrefix(found, ['bert.', 'transformer.'], ['transformer.h.0.ln_1.weight', 'transformer.wte.weight', 'lm_head.weight']);
  assert.deepEqual([...out.keys()].sort(), ['transformer.h.0.ln_1.weight', 'transformer.wte.weight']);
});

test('stripPrefix leaves names that already match alone', () => {
  const found = new Map([['transformer.wte.weight', f32([1])]]);
  const out = stripPrefix(found, ['transformer.'], ['transformer.wte.weight', 'lm_head.weight']);
  assert.deepEqual([...out.keys()], ['transformer.wte.weight']);
});

test('stripPrefix refuses a rename that makes two names collide', () => {
  const found = new Map([
    ['bert.a', f32([1])],
    ['bert.b', f32([1])],
    ['a', f32([1])],
  ]);
  assert.throws(() => stripPrefix(found, ['bert.'], ['a', 'b']), isError('BAD_WEIGHTS', "'a'"));
});
