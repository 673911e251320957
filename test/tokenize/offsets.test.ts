/**
 * The alignment primitives under token offsets, on cases small enough to work out by hand.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Aligned,
  aligned,
  locateByteWord,
  locateWord,
  normalizeAligned,
  perCluster,
  reconcile,
  replaceAligned,
  spanOf,
  tokenRanges,
  trimAligned,
} from '../../src/tokenize/offsets.js';

/** Each unit of an aligned string with the source text it points at. */
const sources = (a: Aligned, source: string) => [...a.text].map((_, i) => source.slice(a.starts[i], a.ends[i]));

describe('aligned normalization', () => {
  it('per cluster: an accent goes with its letter, one letter may become two', () => {
    const src = 'Ce\u0301İ';
    const a = perCluster(aligned(src), (s) => s.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, ''));
    assert.equal(a.text, 'cei');
    assert.deepEqual(sources(a, src), ['C', 'e\u0301', 'İ']);
  });

  it('replace: the replacement gets the span of the match', () => {
    const src = 'a  b';
    const a = replaceAligned(aligned(src), /\s+/g, '▁');
    assert.equal(a.text, 'a▁b');
    assert.deepEqual(sources(a, src), ['a', '  ', 'b']);
  });

  it('strip and prepend: removed units go, inserted units have no source', () => {
    const src = '  hi ';
    const stripped = trimAligned(aligned(src), true, true);
    assert.deepEqual(sources(stripped, src), ['h', 'i']);
    const prepended = normalizeAligned({ normalize: (s) => '▁' + s, config: { type: 'Prepend', prepend: '▁' } }, stripped);
    assert.equal(prepended.text, '▁hi');
    assert.deepEqual(spanOf(prepended, 0, 1), [2, 2]);
    assert.deepEqual(spanOf(prepended, 0, 3), [2, 4]);
  });

  it('reconcile: where a replay differs, the middle maps as one block', () => {
    const src = 'ΟΔΟΣ';
    const replay = perCluster(aligned(src), (s) => s.toLowerCase()); // 'οδοσ', no final sigma
    const fixed = reconcile(replay, src.toLowerCase()); // 'οδος'
    assert.equal(fixed.text, 'οδος');
    assert.deepEqual(sources(fixed, src), ['Ο', 'Δ', 'Ο', 'Σ']);
    const coarse = reconcile(aligned('abcd'), 'aXYd');
    assert.deepEqual(sources(coarse, 'abcd'), ['a', 'bc', 'bc', 'd']);
  });
});

describe('locating pre-tokens', () => {
  it('skips dropped whitespace and treats an unmatched ▁ as inserted', () => {
    const marks = new Set(['▁']);
    assert.deepEqual(locateWord('  ab', 'ab', 0, marks), { units: [[2, 3], [3, 4]], next: 4 });
    assert.deepEqual(locateWord('ab cd', '▁ab', 0, marks).units, [[0, 0], [0, 1], [1, 2]]);
    assert.deepEqual(locateWord('ab cd', '▁cd', 2, marks).units, [[2, 3], [3, 4], [4, 5]]);
  });

  it('byte-level: every byte of a character points at the whole character', () => {
    // " é😀" as GPT-2 writes it: Ġ, then é's two bytes, then the emoji's four
    const word = 'ĠÃ©ðŁĺĢ';
    const { units, next } = locateByteWord('x é😀', word, 1);
    assert.deepEqual(units, [[1, 2], [2, 3], [2, 3], [3, 5], [3, 5], [3, 5], [3, 5]]);
    assert.equal(next, 5);
    // a prefix space the text does not have is inserted
    assert.deepEqual(locateByteWord('hi', 'Ġhi', 0).units, [[0, 0], [0, 1], [1, 2]]);
  });
});

describe('tokens within a pre-token', () => {
  it('strips the WordPiece prefix and gives [UNK] what is left', () => {
    const s = { prefix: '##', unknown: '[UNK]' };
    assert.deepEqual(tokenRanges('unaffable', ['una', '##ffa', '##ble'], s), [[0, 3], [3, 6], [6, 9]]);
    assert.deepEqual(tokenRanges('x🍕y', ['[UNK]'], s), [[0, 4]]);
    assert.deepEqual(tokenRanges('abXYcd', ['ab', '[UNK]', '##cd'], s), [[0, 2], [2, 4], [4, 6]]);
  });

  it('gives byte-fallback tokens the character their byte belongs to', () => {
    const ranges = tokenRanges('▁é', ['▁', '<0xC3>', '<0xA9>'], { byteFallback: true });
    assert.deepEqual(ranges, [[0, 1], [1, 2], [1, 2]]);
  });

  it('strips an end-of-word suffix', () => {
    assert.deepEqual(tokenRanges('lower', ['low', 'er</w>'], { suffixes: ['</w>'] }), [[0, 3], [3, 5]]);
  });
});
