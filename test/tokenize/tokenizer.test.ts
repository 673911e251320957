/**
 * Tokenizers on real tokenizer.json files (shared/fixtures/tokenizers: GPT-2 byte-level BPE,
 * bert-base-uncased WordPiece).
 *
 * References, none of them our own code:
 * - published ids (GPT-2 "Hello world" = [15496, 995], BERT "hello world" = [101, 7592, 2088, 102], ...);
 * - Tokenizers.js's own `encode()` on every text: the fixture README records that it agrees
 *   with transformers' slow Python tokenizers and gpt-3-encoder on such texts;
 * - for offsets, a property per token: the text it points at, put through the model's
 *   normalization (GPT-2: UTF-8 bytes; BERT: lowercase, strip accents), spells the token.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { GlassboxError } from '../../src/errors.js';
import { type Encoding, type Tokenizer, loadTokenizer, tokenizerFromJson } from '../../src/tokenize/index.js';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/tokenizers/', import.meta.url));
const GPT2 = join(FIXTURES, 'gpt2');
const BERT = join(FIXTURES, 'bert-base-uncased');
const readJson = (folder: string, file: string) => JSON.parse(readFileSync(join(folder, file), 'utf8'));

/** Texts that stress normalization, byte-level splits, surrogate pairs and whitespace. */
const TEXTS = [
  'Hello world',
  'Café naïve résumé',
  'e\u0301 decomposed cafe\u0301', // combining acute accents
  '日本語のテキスト',
  '한국어 텍스트', // NFD splits each syllable into jamo
  'I ❤️ 🍕 pizza',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 surrogate pairs 👩‍👩‍👧',
  'a   b',
  'tab\there\nnew\r\nline ',
  "don't you'll I'm",
  'https://example.com/path?q=1&x=%20',
  'antidisestablishmentarianism',
  'ΟΔΟΣ İstanbul straße', // final sigma, dotted capital I, sharp s
  '  leading and trailing  ',
  'numbers 3.14159 and 1,000,000',
  'ctrl\u0000char zero\u200dwidth',
];
const GPT2_SPECIAL_TEXT = 'end<|endoftext|>start <|endoftext|>';
const BERT_SPECIAL_TEXT = 'a [SEP] b [MASK] c';

const withCode = (code: string, ...parts: (string | RegExp)[]) => (e: unknown) => {
  assert.ok(e instanceof GlassboxError, `expected a GlassboxError, got ${String(e)}`);
  assert.equal(e.code, code);
  for (const p of parts) assert.match(e.message, typeof p === 'string' ? new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : p);
  return true;
};

/** Tokenizers.js on the same files: the reference for ids. */
const reference = (folder: string) => new HfTokenizer(readJson(folder, 'tokenizer.json'), readJson(folder, 'tokenizer_config.json'));

/** Offsets are in range, in order, and never cut a surrogate pair. */
function assertWellFormedOffsets(text: string, enc: Encoding) {
  let lastStart = 0;
  enc.offsets.forEach(([s, e], i) => {
    assert.ok(0 <= s && s <= e && e <= text.length, `token ${i} offsets [${s}, ${e}] outside the text`);
    if (enc.sequenceIds[i] === null) return assert.deepEqual([s, e], [0, 0]);
    assert.ok(s >= lastStart, `token ${i} starts before token ${i - 1}`);
    lastStart = s;
    for (const p of [s, e]) {
      const cutsPair = p > 0 && p < text.length && /[\uD800-\uDBFF]/.test(text[p - 1]!) && /[\uDC00-\uDFFF]/.test(text[p]!);
      assert.ok(!cutsPair, `token ${i} offset ${p} cuts a surrogate pair`);
    }
  });
}

// --- GPT-2 ------------------------------------------------------------------------------------

/** GPT-2's byte <-> character table, written out independently of src/. */
const GPT2_BYTE: Map<string, number> = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) (bs.push(b), cs.push(256 + n++));
  return new Map(bs.map((b, i) => [String.fromCharCode(cs[i]!), b]));
})();
const tokenBytes = (token: string) => Buffer.from([...token].map((c) => GPT2_BYTE.get(c)!));

function assertGpt2Offsets(text: string, enc: Encoding) {
  assertWellFormedOffsets(text, enc);
  enc.tokens.forEach((token, i) => {
    const slice = text.slice(...enc.offsets[i]!);
    if (token === '<|endoftext|>') return assert.equal(slice, token);
    const bytes = tokenBytes(token);
    let decoded: string | null = null;
    try {
      decoded = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      // a piece of a multi-byte character: its span is the whole character(s)
    }
    if (decoded !== null) assert.equal(slice, decoded, `token ${i} ${JSON.stringify(token)}`);
    else assert.ok(Buffer.from(slice, 'utf8').includes(bytes), `token ${i} ${JSON.stringify(token)} bytes not in ${JSON.stringify(slice)}`);
  });
}

describe('GPT-2 (byte-level BPE)', async () => {
  const tok = await loadTokenizer(GPT2);
  const ref = reference(GPT2);

  it('gives published ids and special ids', () => {
    assert.deepEqual(tok.encode('Hello world').ids, [15496, 995]);
    assert.deepEqual(tok.encode(' Hello').ids, [18435]);
    assert.deepEqual(tok.encode('<|endoftext|>').ids, [50256]);
    assert.deepEqual(tok.encode('The quick brown fox.').ids, [464, 2068, 7586, 21831, 13]);
    assert.deepEqual(tok.encode('\n').ids, [198]);
    assert.equal(tok.vocabSize, 50257);
    assert.deepEqual([tok.bosId, tok.eosId, tok.unkId, tok.padId, tok.clsId], [50256, 50256, 50256, null, null]);
    assert.deepEqual(tok.specialTokens, ['<|endoftext|>']);
    assert.equal(tok.modelMaxLength, 1024);
    assert.equal(tok.idToToken(995), 'Ġworld');
    assert.equal(tok.tokenToId('Ġworld'), 995);
    assert.equal(tok.idToToken(50257), undefined);
  });

  for (const text of [...TEXTS, GPT2_SPECIAL_TEXT]) {
    it(`ids and offsets: ${JSON.stringify(text)}`, () => {
      const enc = tok.encode(text);
      assert.deepEqual(enc.ids, ref.encode(text).ids);
      assert.deepEqual(enc.tokens, ref.encode(text).tokens);
      assertGpt2Offsets(text, enc);
      // no normalizer, nothing dropped: the tokens' bytes are the text's bytes
      if (!text.includes('<|endoftext|>')) {
        assert.deepEqual(Buffer.concat(enc.tokens.map(tokenBytes)), Buffer.from(text, 'utf8'));
      }
      assert.equal(tok.decode(enc.ids), text);
    });
  }

  it('gives each byte piece of a split character the whole character', () => {
    const text = 'I ❤️ 🍕';
    const enc = tok.encode(text);
    const slices = enc.offsets.map((o) => text.slice(...o));
    assert.deepEqual(enc.tokens, ['I', 'ĠâĿ', '¤', 'ï¸ı', 'ĠðŁ', 'į', 'ķ']);
    assert.deepEqual(slices, ['I', ' ❤', '❤', '\uFE0F', ' 🍕', '🍕', '🍕']);
    assert.deepEqual(enc.offsets.slice(-2), [[5, 7], [5, 7]]); // UTF-16 units; Python counts code points: [5, 6]
  });

  it('matches the special token in the text and keeps its span', () => {
    const enc = tok.encode(GPT2_SPECIAL_TEXT);
    const i = enc.tokens.indexOf('<|endoftext|>');
    assert.deepEqual(enc.offsets[i], [3, 16]);
    assert.equal(enc.specialMask[i], false); // typed in the text, not added by a template
  });

  it('encodes a pair as the two sequences with type ids 0 then 1 (no template)', () => {
    const enc = tok.encode('Hello', { pair: ' world' });
    assert.deepEqual(enc.ids, [15496, 995]);
    assert.deepEqual(enc.typeIds, [0, 1]);
    assert.deepEqual(enc.sequenceIds, [0, 1]);
    assert.deepEqual(enc.offsets, [[0, 5], [0, 6]]);
  });

  it('truncates from the end without special tokens', () => {
    const enc = tok.encode('The quick brown fox.', { maxLength: 3, truncation: true });
    assert.deepEqual(enc.ids, [464, 2068, 7586]);
    assert.equal(enc.truncated, true);
    assert.equal(tok.encode('The quick brown fox.', { maxLength: 5 }).truncated, false);
  });

  it('pads a batch with the end-of-text token when there is no pad token', () => {
    const [a, b] = tok.encodeBatch(['Hello', 'Hello world'], { paddingSide: 'left' });
    assert.deepEqual(a!.ids, [50256, 15496]);
    assert.deepEqual(a!.attentionMask, [0, 1]);
    assert.deepEqual(b!.ids, [15496, 995]);
  });
});

// --- BERT -------------------------------------------------------------------------------------

/** What BertNormalizer does to text, written out independently of src/: lowercase, strip accents, drop controls. */
const bertNormalize = (s: string) => s.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '').replace(/[\p{Cc}\p{Cf}]/gu, '');

/**
 * Each token, without its ##, is what its source text normalizes to. Tokens that share one
 * span (the jamo of a Hangul syllable, which NFD splits) spell it together.
 */
function assertBertOffsets(text: string, enc: Encoding) {
  assertWellFormedOffsets(text, enc);
  for (let i = 0; i < enc.tokens.length; ) {
    const [s, e] = enc.offsets[i]!;
    let j = i + 1;
    while (j < enc.tokens.length && enc.offsets[j]![0] === s && enc.offsets[j]![1] === e) j++;
    const group = enc.tokens.slice(i, j);
    const slice = text.slice(s, e);
    const where = `tokens ${i}..${j - 1} ${JSON.stringify(group)} from ${JSON.stringify(slice)}`;
    if (enc.specialMask[i]) {
      // template tokens: [0, 0]
    } else if (group.includes('[UNK]')) {
      assert.deepEqual(group, ['[UNK]'], where);
      assert.match(slice, /^\S+$/u, `[UNK] should cover one word: ${where}`);
    } else if (['[SEP]', '[MASK]', '[CLS]', '[PAD]'].includes(group[0]!)) {
      assert.equal(slice, group[0], where);
    } else {
      assert.equal(bertNormalize(slice), group.map((t) => t.replace(/^##/, '')).join(''), where);
    }
    i = j;
  }
}

describe('bert-base-uncased (WordPiece)', async () => {
  const tok = await loadTokenizer(BERT);
  const ref = reference(BERT);

  it('gives published ids and special ids', () => {
    assert.deepEqual(tok.encode('hello world').ids, [101, 7592, 2088, 102]);
    assert.deepEqual(tok.encode('Hello, world!').ids, [101, 7592, 1010, 2088, 999, 102]);
    assert.deepEqual(tok.encode("don't").ids, [101, 2123, 1005, 1056, 102]);
    assert.deepEqual(
      [tok.clsId, tok.sepId, tok.maskId, tok.padId, tok.unkId, tok.bosId, tok.eosId],
      [101, 102, 103, 0, 100, null, null],
    );
    assert.equal(tok.vocabSize, 30522);
    assert.deepEqual(tok.specialTokens, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  });

  it('splits an unknown word greedily, longest piece first', () => {
    // "una" is in this vocabulary, so WordPiece takes it before "un" (the "un ##aff ##able"
    // of the WordPiece docstring assumes a smaller vocabulary).
    assert.deepEqual(tok.encode('unaffable', { addSpecialTokens: false }).tokens, ['una', '##ffa', '##ble']);
  });

  for (const text of [...TEXTS, BERT_SPECIAL_TEXT]) {
    it(`ids and offsets: ${JSON.stringify(text)}`, () => {
      const enc = tok.encode(text);
      assert.deepEqual(enc.ids, ref.encode(text).ids);
      assert.deepEqual(enc.tokens, ref.encode(text).tokens);
      assert.deepEqual(enc.tokens.slice(0, 1).concat(enc.tokens.slice(-1)), ['[CLS]', '[SEP]']);
      assertBertOffsets(text, enc);
    });
  }

  it('maps lowercased and accent-stripped tokens back to the original characters', () => {
    const text = 'Café ΟΔΟΣ 日本';
    const enc = tok.encode(text, { addSpecialTokens: false });
    assert.deepEqual(enc.tokens, ['cafe', 'ο', '##δ', '##ος', '日', '本']);
    assert.deepEqual(enc.offsets.map((o) => text.slice(...o)), ['Café', 'Ο', 'Δ', 'ΟΣ', '日', '本']);
  });

  it('encodes a pair as [CLS] a [SEP] b [SEP] with type ids 0…0 1…1', () => {
    const enc = tok.encode('Hello there', { pair: 'How are you?' });
    assert.deepEqual(enc.tokens, ['[CLS]', 'hello', 'there', '[SEP]', 'how', 'are', 'you', '?', '[SEP]']);
    assert.deepEqual(enc.typeIds, [0, 0, 0, 0, 1, 1, 1, 1, 1]);
    assert.deepEqual(enc.sequenceIds, [null, 0, 0, null, 1, 1, 1, 1, null]);
    assert.deepEqual(enc.specialMask, [true, false, false, true, false, false, false, false, true]);
    assert.deepEqual(enc.offsets, [[0, 0], [0, 5], [6, 11], [0, 0], [0, 3], [4, 7], [8, 11], [11, 12], [0, 0]]);
    assert.deepEqual(ref.encode('Hello there', { text_pair: 'How are you?' }).ids, enc.ids);
  });

  it('leaves the template out on request, keeping its type ids', () => {
    const enc = tok.encode('hello', { pair: 'world', addSpecialTokens: false });
    assert.deepEqual(enc.ids, [7592, 2088]);
    assert.deepEqual(enc.typeIds, [0, 1]);
  });

  it('refuses a text over maxLength unless truncation is on', () => {
    const text = 'one two three four five';
    assert.throws(() => tok.encode(text, { maxLength: 5 }), withCode('BAD_INPUT', 'has 7 tokens', 'more than maxLength 5', 'truncation', '--truncate'));
    assert.throws(() => tok.encode(text, { pair: 'six', maxLength: 5 }), withCode('BAD_INPUT', 'text and its pair have 9 tokens'));
    assert.equal(tok.encode(text, { maxLength: 7 }).truncated, false);
  });

  it('truncates the content and re-adds [CLS] and [SEP]', () => {
    const text = 'one two three four five';
    const enc = tok.encode(text, { maxLength: 4, truncation: true });
    assert.deepEqual(enc.tokens, ['[CLS]', 'one', 'two', '[SEP]']);
    assert.deepEqual(enc.offsets, [[0, 0], [0, 3], [4, 7], [0, 0]]);
    assert.equal(enc.truncated, true);
  });

  it('truncates pairs by each strategy', () => {
    const a = 'one two three four five'; // 5 tokens
    const b = 'six seven'; // 2 tokens
    const cut = (truncation: 'longest_first' | 'only_first' | 'only_second' | true, maxLength: number) =>
      tok.encode(a, { pair: b, maxLength, truncation }).tokens.join(' ');
    assert.equal(cut(true, 8), '[CLS] one two three [SEP] six seven [SEP]');
    assert.equal(cut('longest_first', 6), '[CLS] one two [SEP] six [SEP]'); // a tie takes from the second
    assert.equal(cut('only_first', 6), '[CLS] one [SEP] six seven [SEP]');
    assert.equal(cut('only_second', 9), '[CLS] one two three four five [SEP] six [SEP]');
    assert.throws(() => cut('only_second', 6), withCode('BAD_INPUT', "only_second"));
    assert.throws(() => tok.encode(a, { maxLength: 1, truncation: true }), withCode('BAD_INPUT', 'cannot hold the 2 special tokens'));
    assert.throws(() => tok.encode(a, { maxLength: 0 }), withCode('BAD_INPUT', 'positive integer'));
  });

  it('pads a batch on the right or the left, with attention mask 0 on pads', () => {
    const texts = ['hi', 'hello there friend'];
    const [r0, r1] = tok.encodeBatch(texts);
    assert.deepEqual(r0!.ids, [101, 7632, 102, 0, 0]);
    assert.deepEqual(r0!.attentionMask, [1, 1, 1, 0, 0]);
    assert.deepEqual(r0!.typeIds, [0, 0, 0, 0, 0]);
    assert.deepEqual(r0!.offsets, [[0, 0], [0, 2], [0, 0], [0, 0], [0, 0]]);
    assert.deepEqual(r0!.specialMask, [true, false, true, true, true]);
    assert.deepEqual(r0!.sequenceIds, [null, 0, null, null, null]);
    assert.deepEqual(r0!.tokens.slice(-1), ['[PAD]']);
    assert.deepEqual(r1!.ids, [101, 7592, 2045, 2767, 102]);
    assert.deepEqual(r1!.attentionMask, [1, 1, 1, 1, 1]);

    const [l0] = tok.encodeBatch(texts, { paddingSide: 'left' });
    assert.deepEqual(l0!.ids, [0, 0, 101, 7632, 102]);
    assert.deepEqual(l0!.attentionMask, [0, 0, 1, 1, 1]);
    assert.deepEqual(l0!.offsets, [[0, 0], [0, 0], [0, 0], [0, 2], [0, 0]]);

    const fixed = tok.encodeBatch(texts, { padding: 'max_length', maxLength: 8 });
    assert.deepEqual(fixed.map((r) => r.ids.length), [8, 8]);
    assert.deepEqual(fixed[1]!.attentionMask, [1, 1, 1, 1, 1, 0, 0, 0]);
    assert.throws(() => tok.encodeBatch(texts, { padding: 'max_length' }), withCode('BAD_INPUT', 'needs maxLength'));
    assert.throws(() => tok.encodeBatch(['fine', '']), withCode('BAD_INPUT', 'empty', 'text 1'));
    assert.deepEqual(tok.encodeBatch([]), []);
  });

  it('decodes back to the normalized text', () => {
    const back = (t: string) => tok.decode(tok.encode(t).ids, { skipSpecialTokens: true });
    assert.equal(back('Hello, world!'), 'hello, world!');
    assert.equal(back('Café naïve'), 'cafe naive');
    assert.equal(back("don't"), "don't");
    assert.equal(back('antidisestablishmentarianism'), 'antidisestablishmentarianism');
    assert.equal(tok.decode(tok.encode('hello world').ids), '[CLS] hello world [SEP]');
    assert.equal(tok.decode([]), '');
    assert.throws(() => tok.decode([30522]), withCode('BAD_INPUT', 'token id 30522', 'not in the vocabulary'));
    assert.throws(() => tok.decode([1.5]), withCode('BAD_INPUT'));
  });

  it('says that an empty text is empty', () => {
    assert.throws(() => tok.encode(''), withCode('BAD_INPUT', 'the text is empty'));
    assert.throws(() => tok.encode('a', { pair: '' }), withCode('BAD_INPUT', 'the pair text is empty'));
  });

  it('encodes a text of only whitespace to the template alone', () => {
    assert.deepEqual(tok.encode(' \t\n').ids, [101, 102]);
  });
});

// --- loading ----------------------------------------------------------------------------------

describe('loadTokenizer', () => {
  const folderWith = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'glassbox-tok-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };

  it('accepts the path of tokenizer.json itself', async () => {
    const tok = await loadTokenizer(join(BERT, 'tokenizer.json'));
    assert.equal(tok.clsId, 101);
  });

  it('reads tokenizer.json alone, without the config files', async () => {
    const dir = folderWith({ 'tokenizer.json': readFileSync(join(GPT2, 'tokenizer.json'), 'utf8') });
    const tok = await loadTokenizer(dir);
    assert.deepEqual(tok.encode('Hello world').ids, [15496, 995]);
    assert.equal(tok.eosId, null); // named only in the config files
  });

  it('names a missing folder', async () => {
    await assert.rejects(loadTokenizer('/nonexistent/tokenizer-folder'), withCode('MISSING_FILE', 'not found', '/nonexistent/tokenizer-folder'));
  });

  it('explains how to make tokenizer.json from vocab.txt or vocab.json + merges.txt', async () => {
    const bert = folderWith({ 'vocab.txt': '[PAD]\n' });
    await assert.rejects(loadTokenizer(bert), withCode('MISSING_FILE', 'no tokenizer.json', 'vocab.txt', 'AutoTokenizer.from_pretrained', 'save_pretrained'));
    const gpt = folderWith({ 'vocab.json': '{}', 'merges.txt': '' });
    await assert.rejects(loadTokenizer(gpt), withCode('MISSING_FILE', 'vocab.json, merges.txt', 'save_pretrained'));
    await assert.rejects(loadTokenizer(folderWith({})), withCode('MISSING_FILE', 'no tokenizer.json'));
  });

  it('names the file that is not valid JSON', async () => {
    await assert.rejects(loadTokenizer(folderWith({ 'tokenizer.json': '{"model": ' })), withCode('BAD_TOKENIZER', 'tokenizer.json is not valid JSON'));
    const badConfig = folderWith({ 'tokenizer.json': readFileSync(join(GPT2, 'tokenizer.json'), 'utf8'), 'tokenizer_config.json': '[1, 2' });
    await assert.rejects(loadTokenizer(badConfig), withCode('BAD_TOKENIZER', 'tokenizer_config.json is not valid JSON'));
  });

  it('refuses a tokenizer.json without a model, or with one it cannot build', () => {
    assert.throws(() => tokenizerFromJson({}), withCode('BAD_TOKENIZER', 'no `model`'));
    assert.throws(() => tokenizerFromJson({ model: { type: 'Mystery' } }), withCode('BAD_TOKENIZER', 'cannot build the tokenizer', 'Mystery'));
    const gpt2 = readJson(GPT2, 'tokenizer.json');
    assert.throws(
      () => tokenizerFromJson({ ...gpt2, post_processor: { type: 'Mystery' } }),
      withCode('BAD_TOKENIZER', 'PostProcessor type: Mystery'),
    );
  });

  it('builds from parsed JSON with the configs', () => {
    const tok: Tokenizer = tokenizerFromJson(readJson(BERT, 'tokenizer.json'), readJson(BERT, 'tokenizer_config.json'), readJson(BERT, 'special_tokens_map.json'));
    assert.deepEqual(tok.encode('hello world').ids, [101, 7592, 2088, 102]);
    assert.equal(tok.maskId, 103);
  });
});
