/**
 * The pipeline on tokenizer shapes the two fixtures lack, built by hand in synthetic.ts
 * (plus GPT-2's file turned into a RoBERTa-style one): ids against Tokenizers.js, offsets
 * worked out by hand.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { tokenizerFromJson } from '../../src/tokenize/index.js';
import { llamaLike, metaspaceUnigram, tinyBpe } from './synthetic.js';

const slices = (text: string, offsets: [number, number][]) => offsets.map((o) => text.slice(...o));

describe('SentencePiece-style BPE (Prepend + Replace normalizer, byte fallback)', () => {
  const json = llamaLike();
  const tok = tokenizerFromJson(json);
  const ref = new HfTokenizer(json, {});

  it('matches Tokenizers.js and gives inserted ▁ no text', () => {
    const text = 'hi 😀';
    const enc = tok.encode(text);
    assert.deepEqual(enc.ids, ref.encode(text).ids);
    assert.deepEqual(enc.tokens, ['<s>', '▁hi', '▁', '<0xF0>', '<0x9F>', '<0x98>', '<0x80>']);
    // "▁hi": the ▁ was prepended (no source), "hi" is [0, 2]; the second ▁ is the space;
    // each byte-fallback token gets the whole emoji (two UTF-16 units).
    assert.deepEqual(enc.offsets, [[0, 0], [0, 2], [2, 3], [3, 5], [3, 5], [3, 5], [3, 5]]);
    assert.equal(tok.decode(enc.ids, { skipSpecialTokens: true }), text);
  });

  it('follows spaces turned into ▁ through the merges', () => {
    const text = 'hi  hello world';
    const enc = tok.encode(text, { addSpecialTokens: false });
    assert.deepEqual(enc.ids, ref.encode(text, { add_special_tokens: false }).ids);
    assert.deepEqual(slices(text, enc.offsets), ['hi', ' ', ' h', 'e', 'l', 'l', 'o', ' w', 'o', 'r', 'l', 'd']);
  });

  it('uses the template with its own type ids for a pair', () => {
    const enc = tok.encode('hi', { pair: 'hi' });
    assert.deepEqual(enc.tokens, ['<s>', '▁hi', '<s>', '▁hi']);
    assert.deepEqual(enc.typeIds, [0, 0, 1, 1]);
    assert.deepEqual(enc.offsets, [[0, 0], [0, 2], [0, 0], [0, 2]]);
  });
});

describe('Metaspace + Unigram', () => {
  const json = metaspaceUnigram();
  const tok = tokenizerFromJson(json);
  const ref = new HfTokenizer(json, {});

  for (const [text, expected] of [
    ['hello world', ['hello', ' world']],
    ['hello  world', ['hello', ' ', ' world']],
    ['hello xyz world', ['hello', ' ', 'xyz', ' world']], // unknown characters fused into one token
  ] as const) {
    it(JSON.stringify(text), () => {
      const enc = tok.encode(text);
      assert.deepEqual(enc.ids, ref.encode(text).ids);
      assert.deepEqual(slices(text, enc.offsets), expected);
    });
  }
});

describe('BPE merges in either form', () => {
  it('reads "a b" strings and ["a", "b"] pairs alike', () => {
    const text = 'abc ab  <mask> cab';
    const [strings, pairs] = [tokenizerFromJson(tinyBpe('strings')), tokenizerFromJson(tinyBpe('pairs'))];
    const enc = strings.encode(text);
    assert.deepEqual(enc.tokens, ['abc', 'ab', '<mask>', 'c', 'ab']);
    assert.deepEqual(pairs.encode(text), enc);
    // <mask> has lstrip: it swallows the spaces before it, and its span says so
    assert.deepEqual(slices(text, enc.offsets), ['abc', 'ab', '  <mask>', 'c', 'ab']);
  });
});

describe('RoBERTa-style byte level (add_prefix_space, trim_offsets)', () => {
  const gpt2 = JSON.parse(readFileSync(fileURLToPath(new URL('../../../shared/fixtures/tokenizers/gpt2/tokenizer.json', import.meta.url)), 'utf8'));
  const eot = ['<|endoftext|>', 50256];
  const tok = tokenizerFromJson({
    ...gpt2,
    pre_tokenizer: { ...gpt2.pre_tokenizer, add_prefix_space: true },
    post_processor: { type: 'RobertaProcessing', sep: eot, cls: eot, trim_offsets: true, add_prefix_space: true },
  });

  it('adds a prefix space with no source and trims spaces off the offsets', () => {
    const text = 'Hello  world';
    const enc = tok.encode(text);
    assert.deepEqual(enc.tokens, ['<|endoftext|>', 'ĠHello', 'Ġ', 'Ġworld', '<|endoftext|>']);
    assert.deepEqual(enc.ids, [50256, 18435, 220, 995, 50256]);
    assert.deepEqual(enc.offsets, [[0, 0], [0, 5], [5, 6], [7, 12], [0, 0]]); // an all-space token keeps its span
  });

  it('lays out a pair as <s> A </s></s> B </s> with type ids 0', () => {
    const enc = tok.encode('Hi', { pair: 'there' });
    assert.deepEqual(enc.ids, [50256, 15902, 50256, 50256, 612, 50256]);
    assert.deepEqual(enc.typeIds, [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(enc.sequenceIds, [null, 0, null, null, 1, null]);
    assert.deepEqual(enc.offsets, [[0, 0], [0, 2], [0, 0], [0, 0], [0, 5], [0, 0]]);
  });
});
