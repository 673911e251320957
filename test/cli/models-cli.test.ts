/**
 * The model commands (models, info, tokenize, logits, attention) as a user runs them: through
 * bin/glassbox.js and the built dist/, checking exit codes, stdout and stderr.
 *
 * Numbers are checked against ../shared/fixtures/hf-reference (transformers 4.37, float32 CPU)
 * at the fixtures' tolerance, 1e-5 absolute. Every user error must exit non-zero with one
 * `error: ...` line on stderr and never a stack trace. The spawned commands get a closed local
 * HF_ENDPOINT and a temp HF_HUB_CACHE, so nothing here reaches the network or the user's cache.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ARCHITECTURES } from '../../src/models/registry.js';
import { readSafetensors, writeSafetensors } from '../../src/models/safetensors.js';
import { tensor, type HostTensor } from '../../src/runtime/tensor.js';
import { VOCAB, tinyBertTokenizerJson } from '../helpers/tiny-bert.js';

const ROOT = join(import.meta.dirname, '../..');
const FIXTURES = join(ROOT, '../shared/fixtures/hf-reference');
const TOKENIZERS = join(ROOT, '../shared/fixtures/tokenizers');
const GPT2 = join(FIXTURES, 'tiny-gpt2');
const BERT = join(FIXTURES, 'tiny-bert-cls');
const TOL = 1e-5;

const temp = mkdtempSync(join(tmpdir(), 'glassbox-models-cli-'));
after(() => rmSync(temp, { recursive: true, force: true }));

const env = {
  ...process.env,
  HF_ENDPOINT: 'http://127.0.0.1:9',
  HF_HUB_CACHE: join(temp, 'hub-cache'),
  HF_HUB_OFFLINE: '',
  HF_TOKEN: '',
  HUGGING_FACE_HUB_TOKEN: '',
};

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function run(...args: string[]): Run {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/glassbox.js'), ...args], { encoding: 'utf8', env, cwd: temp });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** `run` without blocking this process's event loop (for commands that talk to a server here). */
function runAsync(extraEnv: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/glassbox.js'), ...args], { env: { ...env, ...extraEnv }, cwd: temp });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/** Runs a command that must succeed and print JSON. */
function json<T = any>(...args: string[]): T {
  const r = run(...args, '--json');
  assert.equal(r.code, 0, `glassbox ${args.join(' ')} --json failed: ${r.err}`);
  return JSON.parse(r.out) as T;
}

/** A failure as the user must see it: exit `code`, one `error: ...` line, no stack trace, nothing on stdout. */
function assertCleanError(r: Run, code: number, ...patterns: RegExp[]): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.err})`);
  const err = r.err.trim();
  assert.match(err, /^error: /, `stderr starts with "error: ": ${err}`);
  assert.ok(!err.includes('\n'), `one line on stderr: ${err}`);
  assert.doesNotMatch(err, /\n\s+at |\.(ts|js):\d+/, 'no stack trace');
  assert.equal(r.out, '', 'nothing on stdout');
  for (const re of patterns) assert.match(err, re);
}

function maxAbsDiff(a: unknown, b: unknown): number {
  const fa = [a].flat(Infinity) as number[];
  const fb = [b].flat(Infinity) as number[];
  assert.equal(fa.length, fb.length, 'lengths differ');
  return fa.reduce((m, x, i) => Math.max(m, Math.abs(x - fb[i]!)), 0);
}

interface Case {
  input_ids: number[];
  logits: number[] | number[][];
  attentions: number[][][][];
}
const cases = (folder: string): Case[] => JSON.parse(readFileSync(join(folder, 'reference.json'), 'utf8')).cases;
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { models: Record<string, { n_parameters: number }> };

// dist/ is built by `npm test`; a lone `node --test` of this file builds it if it is missing.
before(() => {
  if (existsSync(join(ROOT, 'dist/cli/main.js'))) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `build failed: ${r.stdout}${r.stderr}`);
});

/** A model folder: a fixture's config.json and model.safetensors, plus extra files. */
function makeFolder(name: string, from: string, extra: Record<string, string | Buffer> = {}): string {
  const dir = mkdtempSync(join(temp, `${name}-`));
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(from, f), join(dir, f));
  for (const [f, data] of Object.entries(extra)) writeFileSync(join(dir, f), data);
  return dir;
}

const tinyBert = makeFolder('tiny-bert-tok', BERT, { 'tokenizer.json': JSON.stringify(tinyBertTokenizerJson()) });
const ids = (words: string[]) => words.map((w) => VOCAB[w]!);

// ---------------------------------------------------------------------------------------------

describe('glassbox models', () => {
  test('lists every family, model_type and class from the registry', () => {
    const r = run('models');
    assert.equal(r.code, 0, r.err);
    for (const a of ARCHITECTURES) {
      assert.ok(r.out.includes(a.family), `family ${a.family}`);
      for (const t of a.modelTypes) assert.ok(r.out.includes(t), `model_type ${t}`);
      for (const [cls, head] of Object.entries(a.classes)) assert.match(r.out, new RegExp(`${cls}\\s+${head}`));
    }
  });

  test('--json is the registry as data', () => {
    const list = json<{ family: string; modelTypes: string[]; classes: Record<string, string> }[]>('models');
    assert.deepEqual(
      list,
      ARCHITECTURES.map((a) => ({ family: a.family, modelTypes: a.modelTypes, classes: a.classes })),
    );
    const classes = list.flatMap((a) => Object.keys(a.classes));
    for (const c of ['GPT2LMHeadModel', 'LlamaForCausalLM', 'BertForSequenceClassification', 'DistilBertForSequenceClassification', 'RobertaForMaskedLM']) {
      assert.ok(classes.includes(c), c);
    }
  });
});

describe('glassbox info', () => {
  test('tiny-gpt2: 28,544 parameters (the tied lm_head counted once), layers, heads, hooks with shapes', () => {
    const r = run('info', '--model', GPT2);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /GPT-2, GPT2LMHeadModel \(causal_lm\)/);
    assert.match(r.out, /parameters: 28,544\n/);
    assert.match(r.out, /layers 2, heads 2, d_model 32, d_head 16, d_mlp 128/);
    assert.match(r.out, /vocabulary 64, positions 32, tokenizer no/);
    assert.match(r.out, /hooks \(\d+\):/);
    assert.match(r.out, /hook_embed\s+\[batch, pos, 32\]/);
    assert.match(r.out, /blocks\.0\.attn\.hook_pattern\s+\[batch, 2, pos, pos\]/);
    assert.match(r.out, /blocks\.0\.attn\.hook_z\s+\[batch, pos, 2, 16\]/);
    assert.match(r.out, /blocks\.0\.mlp\.hook_post\s+\[batch, pos, 128\]/);
    assert.match(r.out, /ln_final\.hook_normalized\s+\[batch, pos, 32\]/);
  });

  test('--json: counts, and every hook with a shape like ["batch","pos",32]', () => {
    const info = json('info', '--model', GPT2);
    assert.equal(info.parameters, manifest.models['tiny-gpt2']!.n_parameters);
    assert.equal(info.parameters, 28544);
    assert.equal(info.layers, 2);
    assert.equal(info.heads, 2);
    assert.equal(info.class, 'GPT2LMHeadModel');
    const hooks = new Map<string, (string | number)[]>(info.hooks.map((h: { name: string; shape: (string | number)[] }) => [h.name, h.shape]));
    assert.deepEqual(hooks.get('hook_embed'), ['batch', 'pos', 32]);
    assert.deepEqual(hooks.get('blocks.1.hook_resid_post'), ['batch', 'pos', 32]);
    assert.deepEqual(hooks.get('blocks.1.attn.hook_pattern'), ['batch', 2, 'pos', 'pos']);
    for (const l of [0, 1]) for (const h of ['hook_resid_pre', 'attn.hook_q', 'attn.hook_pattern', 'hook_mlp_out']) assert.ok(hooks.has(`blocks.${l}.${h}`), `blocks.${l}.${h}`);
    for (const [name, shape] of hooks) {
      assert.equal(shape[0], 'batch', `${name} starts with batch`);
      assert.ok(shape.every((d) => d === 'batch' || d === 'pos' || (Number.isInteger(d) && (d as number) > 0)), `${name}: ${shape}`);
    }
  });

  for (const name of ['tiny-bert-cls', 'tiny-distilbert-cls', 'tiny-llama']) {
    test(`${name}: the parameter count equals the fixture manifest's`, () => {
      const info = json('info', '--model', join(FIXTURES, name));
      assert.equal(info.parameters, manifest.models[name]!.n_parameters);
    });
  }

  test('a classifier shows its labels', () => {
    const r = run('info', '--model', BERT);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /labels: 0=LABEL_0, 1=LABEL_1/);
  });
});

describe('glassbox logits', () => {
  test('tiny-gpt2 --input-ids --json: {tokens, logits[S][vocab]} equal to the fixture', () => {
    const c = cases(GPT2)[0]!;
    const out = json<{ tokens: string[]; logits: number[][] }>('logits', '--model', GPT2, '--input-ids', c.input_ids.join(','));
    assert.deepEqual(c.input_ids, [5, 17, 42, 8, 33]);
    assert.deepEqual(out.tokens, c.input_ids.map(String), 'without a tokenizer, tokens are the ids');
    assert.equal(out.logits.length, 5);
    assert.ok(out.logits.every((row) => row.length === 64));
    const d = maxAbsDiff(out.logits, c.logits);
    assert.ok(d <= TOL, `logits differ by ${d}`);
  });

  test('tiny-gpt2 readable: the top next tokens after the last position', () => {
    const c = cases(GPT2)[0]!;
    const r = run('logits', '--model', GPT2, '--input-ids', c.input_ids.join(','), '--top-k', '3');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^next token after "33":/);
    const last = (c.logits as number[][]).at(-1)!;
    const top = last.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 3).map(([, i]) => i);
    const lines = r.out.trim().split('\n').slice(1);
    assert.equal(lines.length, 3);
    lines.forEach((line, k) => assert.equal(Number(line.trim().split(/\s+/)[0]), top[k]));
  });

  test('a 150,000-token vocabulary (Qwen2-sized) prints its top tokens without overflowing the stack', async () => {
    // tiny-gpt2 with its embedding padded by zero rows: the real tokens keep their logits.
    const V = 150_000;
    const file = await readSafetensors(join(GPT2, 'model.safetensors'));
    const w: Record<string, HostTensor> = {};
    for (const [name, e] of file.tensors) w[name] = e.tensor();
    const wte = new Float32Array(V * 32);
    wte.set(w['transformer.wte.weight']!.data as Float32Array);
    w['transformer.wte.weight'] = tensor('float32', [V, 32], wte);
    const dir = makeFolder('big-vocab', GPT2);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(GPT2, 'config.json'), 'utf8')), vocab_size: V }));
    await writeSafetensors(join(dir, 'model.safetensors'), w);
    const c = cases(GPT2)[0]!;
    const r = run('logits', '--model', dir, '--input-ids', c.input_ids.join(','), '--top-k', '1');
    assert.equal(r.code, 0, r.err);
    const last = (c.logits as number[][]).at(-1)!;
    assert.match(r.out, new RegExp(`^\\s+${last.indexOf(Math.max(...last))}\\s`, 'm'), 'the top token is the fixture\'s');
  });

  for (const name of ['tiny-distilbert-cls', 'tiny-llama']) {
    test(`${name} --input-ids --json: logits equal to the fixture`, () => {
      const c = cases(join(FIXTURES, name))[0]!;
      const out = json<{ logits: number[] | number[][] }>('logits', '--model', join(FIXTURES, name), '--input-ids', c.input_ids.join(','));
      const d = maxAbsDiff(out.logits, c.logits);
      assert.ok(d <= TOL, `logits differ by ${d}`);
    });
  }

  test('tiny-bert-cls --input-ids --json: [num_labels] logits equal to the fixture', () => {
    const c = cases(BERT)[0]!;
    const out = json<{ logits: number[]; labels: string[] }>('logits', '--model', BERT, '--input-ids', c.input_ids.join(','));
    assert.equal(out.logits.length, 2);
    assert.deepEqual(out.labels, ['LABEL_0', 'LABEL_1']);
    const d = maxAbsDiff(out.logits, c.logits);
    assert.ok(d <= TOL, `logits differ by ${d}`);
  });

  test('tiny-bert-cls readable: LABEL_0 / LABEL_1 with their logits and probabilities', () => {
    const c = cases(BERT)[0]!;
    const r = run('logits', '--model', BERT, '--input-ids', c.input_ids.join(','));
    assert.equal(r.code, 0, r.err);
    const l = c.logits as number[];
    const z = Math.exp(l[0]!) + Math.exp(l[1]!);
    const p = l.map((v) => Math.exp(v) / z);
    assert.match(r.out, new RegExp(`LABEL_0\\s+logit\\s+${l[0]!.toFixed(4)}\\s+p ${p[0]!.toFixed(4)}`));
    assert.match(r.out, new RegExp(`LABEL_1\\s+logit\\s+${l[1]!.toFixed(4)}\\s+p ${p[1]!.toFixed(4)}`));
  });
});

describe('glassbox attention', () => {
  for (const folder of ['tiny-gpt2', 'tiny-bert-cls', 'tiny-distilbert-cls', 'tiny-llama'].map((n) => join(FIXTURES, n))) {
    test(`${folder.split('/').at(-1)} --json: attentions[layer][head][query][key] equal to the fixture`, () => {
      const c = cases(folder)[0]!;
      const out = json<{ tokens: string[]; attentions: number[][][][] }>('attention', '--model', folder, '--input-ids', c.input_ids.join(','));
      const S = c.input_ids.length;
      const heads = json('info', '--model', folder).heads;
      assert.equal(out.attentions.length, 2, 'layers');
      for (const layer of out.attentions) {
        assert.equal(layer.length, heads, 'heads');
        for (const head of layer) {
          assert.equal(head.length, S, 'queries');
          for (const row of head) {
            assert.equal(row.length, S, 'keys');
            assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, 'each row is a distribution');
          }
        }
      }
      const d = maxAbsDiff(out.attentions, c.attentions);
      assert.ok(d <= TOL, `attentions differ by ${d}`);
    });
  }

  test('readable: the strongest key of every query, per layer and head', () => {
    const r = run('attention', '--model', GPT2, '--input-ids', '5,17,42');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^tokens: 0:5 1:17 2:42\n/);
    assert.match(r.out, /layer 0 head 0: 5->5 1\.00, /);
    assert.equal(r.out.match(/^layer \d head \d:/gm)?.length, 4);
  });
});

describe('glassbox tokenize', () => {
  const BERT_TOK = join(TOKENIZERS, 'bert-base-uncased');

  test('bert-base-uncased "Hello world": ids, tokens, UTF-16 offsets, [0,0] for template tokens', () => {
    const out = json('tokenize', '--tokenizer', BERT_TOK, '--text', 'Hello world');
    assert.deepEqual(out.ids, [101, 7592, 2088, 102]);
    assert.deepEqual(out.tokens, ['[CLS]', 'hello', 'world', '[SEP]']);
    assert.deepEqual(out.offsets, [[0, 0], [0, 5], [6, 11], [0, 0]]);
    assert.deepEqual(out.typeIds, [0, 0, 0, 0]);
  });

  test('--no-special-tokens drops [CLS] and [SEP]', () => {
    const out = json('tokenize', '--tokenizer', BERT_TOK, '--text', 'Hello world', '--no-special-tokens');
    assert.deepEqual(out.ids, [7592, 2088]);
    assert.deepEqual(out.offsets, [[0, 5], [6, 11]]);
  });

  test('offsets are UTF-16 indices: after an emoji they count its two code units', () => {
    const text = 'hi 😀 world';
    const out = json<{ tokens: string[]; offsets: [number, number][] }>('tokenize', '--tokenizer', BERT_TOK, '--text', text, '--no-special-tokens');
    const i = out.tokens.indexOf('world');
    assert.deepEqual(out.offsets[i], [6, 11]);
    assert.equal(text.slice(6, 11), 'world');
  });

  test('a pair: the second text has token type 1 and offsets into itself', () => {
    const out = json('tokenize', '--tokenizer', BERT_TOK, '--text', 'Hello world', '--text-pair', 'Hello');
    assert.deepEqual(out.ids, [101, 7592, 2088, 102, 7592, 102]);
    assert.deepEqual(out.typeIds, [0, 0, 0, 0, 1, 1]);
    assert.deepEqual(out.offsets[4], [0, 5]);
  });

  test('readable: one line per token with id, token and offsets', () => {
    const r = run('tokenize', '--tokenizer', BERT_TOK, '--text', 'Hello world');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^\s+1\s+7592\s+"hello"\s+\[0, 5\]$/m);
  });

  test('--model uses the model folder\'s tokenizer', () => {
    const out = json('tokenize', '--model', tinyBert, '--text', 'The movie was good');
    assert.deepEqual(out.ids, ids(['[CLS]', 'the', 'movie', 'was', 'good', '[SEP]']));
  });

  test('a tokenizer folder that does not exist is a clean error', () => {
    assertCleanError(run('tokenize', '--tokenizer', join(temp, 'nope'), '--text', 'x'), 1, /tokenizer folder not found/);
  });
});

describe('--text with a model that has a tokenizer (tiny-bert-cls + a 64-token WordPiece)', () => {
  test('the tokenizer fits the model: 64 entries', () => {
    assert.equal(Object.keys(VOCAB).length, 64);
    assert.equal(json('info', '--model', tinyBert).tokenizer, true);
  });

  test('logits --text tokenizes, runs, and equals --input-ids with the same ids', () => {
    const text = 'The movie was really boring!';
    const want = ids(['[CLS]', 'the', 'movie', 'was', 'really', 'boring', '!', '[SEP]']);
    const byText = json<{ tokens: string[]; logits: number[] }>('logits', '--model', tinyBert, '--text', text);
    assert.deepEqual(byText.tokens, ['[CLS]', 'the', 'movie', 'was', 'really', 'boring', '!', '[SEP]']);
    const byIds = json<{ tokens: string[]; logits: number[] }>('logits', '--model', tinyBert, '--input-ids', want.join(','));
    assert.deepEqual(byIds.tokens, byText.tokens, 'with a tokenizer, --input-ids shows token strings');
    assert.deepEqual(byText.logits, byIds.logits);
    const r = run('logits', '--model', tinyBert, '--text', text);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /LABEL_0\s+logit .* p 0\.\d{4}\nLABEL_1\s+logit .* p 0\.\d{4}\n/);
  });

  test('--text-pair: token types 1 for the second segment, and the model sees them', () => {
    const [a, b] = ['I love this film', 'the plot was boring'];
    const tok = json<{ ids: number[]; typeIds: number[] }>('tokenize', '--model', tinyBert, '--text', a, '--text-pair', b);
    assert.deepEqual(tok.ids, ids(['[CLS]', 'i', 'love', 'this', 'film', '[SEP]', 'the', 'plot', 'was', 'boring', '[SEP]']));
    assert.deepEqual(tok.typeIds, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);

    const pair = json<{ tokens: string[]; logits: number[] }>('logits', '--model', tinyBert, '--text', a, '--text-pair', b);
    const withTypes = json<{ logits: number[] }>('logits', '--model', tinyBert, '--input-ids', tok.ids.join(','), '--token-type-ids', tok.typeIds.join(','));
    const zeroTypes = json<{ logits: number[] }>('logits', '--model', tinyBert, '--input-ids', tok.ids.join(','));
    assert.deepEqual(pair.logits, withTypes.logits, 'the pair runs with its token types');
    assert.ok(maxAbsDiff(pair.logits, zeroTypes.logits) > 1e-4, 'token types change the logits');
  });

  test('attention --text labels queries with token strings', () => {
    const out = json<{ tokens: string[]; attentions: number[][][][] }>('attention', '--model', tinyBert, '--text', 'hello world');
    assert.deepEqual(out.tokens, ['[CLS]', 'hello', 'world', '[SEP]']);
    assert.equal(out.attentions[0]![0]!.length, 4);
  });

  const long = Array.from({ length: 20 }, () => 'the movie').join(' '); // 40 words + 2 specials > 32

  test('too-long --text without --truncate: exit 1, the message mentions --truncate', () => {
    assertCleanError(run('logits', '--model', tinyBert, '--text', long), 1, /42 tokens/, /32/, /--truncate/);
  });

  test('too-long --text with --truncate: exit 0, a "truncated" notice, 32 tokens ending in [SEP]', () => {
    const r = run('logits', '--model', tinyBert, '--text', long, '--truncate', '--json');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /truncated/);
    const out = JSON.parse(r.out);
    assert.equal(out.tokens.length, 32);
    assert.equal(out.tokens[0], '[CLS]');
    assert.equal(out.tokens.at(-1), '[SEP]');
  });

  test('empty --text "" is a clean error (not a run on [CLS] [SEP] alone)', () => {
    assertCleanError(run('logits', '--model', tinyBert, '--text', ''), 1, /--text is empty/);
  });

  test('a tokenizer bigger than the model (GPT-2\'s 50257 tokens on tiny-gpt2\'s 64): the id is not in the vocabulary', () => {
    const gpt2tok = join(TOKENIZERS, 'gpt2');
    const dir = makeFolder('tiny-gpt2-tok', GPT2, {
      'tokenizer.json': readFileSync(join(gpt2tok, 'tokenizer.json')),
      'tokenizer_config.json': readFileSync(join(gpt2tok, 'tokenizer_config.json')),
    });
    assertCleanError(run('logits', '--model', dir, '--text', 'Hello world'), 1, /token id 15496/, /position 0/, /not in the vocabulary \(0\.\.63\)/);
  });
});

describe('user errors: non-zero exit, one clear line, no stack trace', () => {
  const badType = makeFolder('t5', GPT2);
  writeFileSync(join(badType, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(GPT2, 'config.json'), 'utf8')), model_type: 't5' }));
  const longIds = Array.from({ length: 33 }, (_, i) => i % 64).join(',');

  const table: [string, string[], number, RegExp[]][] = [
    ['a folder that does not exist', ['logits', '--model', join(temp, 'no-such-folder'), '--input-ids', '1'], 1, [/no-such-folder/]],
    ['a model without config.json', ['info', '--model', temp], 1, [/has no config\.json/]],
    ['an unknown model_type', ['info', '--model', badType], 1, [/model_type "t5" is not supported/, /gpt2/, /llama/]],
    ['--input-ids with a non-number', ['logits', '--model', GPT2, '--input-ids', '5,x,3'], 1, [/--input-ids '5,x,3'/, /comma-separated list/]],
    ['--input-ids with a negative number', ['logits', '--model', GPT2, '--input-ids', '5,-1'], 1, [/--input-ids/]],
    ['an id >= the vocabulary size', ['logits', '--model', GPT2, '--input-ids', '5,64'], 1, [/token id 64/, /position 1/, /0\.\.63/]],
    ['33 ids for 32 positions, no --truncate', ['logits', '--model', GPT2, '--input-ids', longIds], 1, [/33 tokens/, /32 positions/, /--truncate/]],
    ['both --text and --input-ids', ['logits', '--model', GPT2, '--text', 'hi', '--input-ids', '1'], 1, [/either --text or --input-ids/]],
    ['no input at all', ['logits', '--model', GPT2], 1, [/no input given/]],
    ['--text on a model without a tokenizer', ['logits', '--model', GPT2, '--text', 'hello'], 1, [/no tokenizer\.json/, /--input-ids/]],
    ['--text-pair without --text', ['logits', '--model', GPT2, '--input-ids', '1', '--text-pair', 'x'], 1, [/--text-pair needs --text/]],
    ['--token-type-ids of another length', ['logits', '--model', BERT, '--input-ids', '2,5,3', '--token-type-ids', '0,0'], 1, [/--token-type-ids has 2/]],
    ['a token type beyond type_vocab_size', ['logits', '--model', BERT, '--input-ids', '2,5,3', '--token-type-ids', '0,2,0'], 1, [/token type 2/]],
    ['attention: an id >= the vocabulary size', ['attention', '--model', GPT2, '--input-ids', '99'], 1, [/token id 99/]],
  ];
  for (const [what, args, code, patterns] of table) {
    test(what, () => assertCleanError(run(...args), code, ...patterns));
  }

  test('33 ids with --truncate: exit 0, a "truncated" notice on stderr, 32 positions of logits', () => {
    const r = run('logits', '--model', GPT2, '--input-ids', longIds, '--truncate', '--json');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /truncated/);
    assert.doesNotMatch(r.err, /error/);
    const out = JSON.parse(r.out);
    assert.equal(out.logits.length, 32);
    assert.equal(out.tokens.length, 32);
  });

  test('usage errors (unknown option, missing required option) exit 2', () => {
    const r = run('logits', '--model', GPT2, '--bogus');
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown option '--bogus'/);
    assert.doesNotMatch(r.err, /\n\s+at /);
    const t = run('tokenize', '--tokenizer', join(TOKENIZERS, 'bert-base-uncased'));
    assert.equal(t.code, 2);
    assert.match(t.err, /--text/);
  });
});

describe('a Hub id on the command line (a local fake Hub on 127.0.0.1)', () => {
  test('downloads with a progress summary, then runs offline from the cache with the server gone', async () => {
    const files = new Map(['config.json', 'model.safetensors'].map((f) => [f, readFileSync(join(GPT2, f))]));
    const commit = 'c'.repeat(40);
    // /{repo}/resolve/{rev}/{file} with X-Repo-Commit and an ETag, as huggingface.co answers.
    const server = createServer((req, res) => {
      const m = /^\/tiny\/gpt2\/resolve\/[^/]+\/(.+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
      const data = m ? files.get(m[1]!) : undefined;
      if (!m) return void res.writeHead(404, { 'x-error-code': 'RepoNotFound' }).end();
      if (!data) return void res.writeHead(404, { 'x-repo-commit': commit, 'x-error-code': 'EntryNotFound' }).end();
      const etag = createHash('sha256').update(data).digest('hex');
      res.writeHead(200, { 'x-repo-commit': commit, etag: `"${etag}"`, 'content-length': String(data.length) });
      res.end(req.method === 'HEAD' ? undefined : data);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const hubEnv = { HF_ENDPOINT: endpoint, HF_HUB_CACHE: join(temp, 'cli-hub-cache') };
    const c = cases(GPT2)[0]!;
    const args = ['logits', '--model', 'tiny/gpt2', '--input-ids', c.input_ids.join(','), '--json'];
    try {
      const r = await runAsync(hubEnv, ...args);
      assert.equal(r.code, 0, r.err);
      assert.ok(maxAbsDiff(JSON.parse(r.out).logits, c.logits) <= TOL);
      assert.match(r.err, /model\.safetensors/, 'a progress summary names the file');
      assert.doesNotMatch(r.err, /error/);

      const missing = await runAsync(hubEnv, 'info', '--model', 'tiny/nope');
      assertCleanError(missing, 1, /tiny\/nope/);
    } finally {
      await new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
    }
    const offline = await runAsync({ ...hubEnv, HF_HUB_OFFLINE: '1' }, ...args);
    assert.equal(offline.code, 0, offline.err);
    assert.ok(maxAbsDiff(JSON.parse(offline.out).logits, c.logits) <= TOL);
  });
});
