/**
 * The WordPiece trainer on a small corpus: frequent words become single tokens, unseen words
 * split into pieces, seen characters never give [UNK], and the tokenizer.json it writes has
 * bert-base-uncased's layout and loads with `loadTokenizer` (offsets included).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadTokenizer, tokenizerFromJson } from '../../src/tokenize/index.js';
import { bertNormalize, bertPreTokenize, learnWordPieceVocab, trainWordPiece } from '../../src/tokenize/train-wordpiece.js';

const temp = mkdtempSync(join(tmpdir(), 'glassbox-wordpiece-'));
after(() => rmSync(temp, { recursive: true, force: true }));

const CORPUS = [
  'The movie was good, really good!',
  'A great film; the acting was great.',
  'The plot was boring and the film was bad.',
  "It's not a good movie, it's a bad movie.",
  'Really, really boring acting.',
  'A Great, great story: I loved the story.',
  'Loving it -- the best film of the year.',
  'Naïve but charming.',
].flatMap((s) => [s, s, s]); // every word at least 3 times

const REFERENCE = join(import.meta.dirname, '../../../shared/fixtures/tokenizers/bert-base-uncased/tokenizer.json');

test('BertNormalizer and BertPreTokenizer semantics: lower case, accents stripped, punctuation split off', () => {
  assert.equal(bertNormalize('Naïve CAFÉ\tok'), 'naive cafe ok');
  assert.deepEqual(bertPreTokenize("it's (very) good--ok $5"), ['it', "'", 's', '(', 'very', ')', 'good', '-', '-', 'ok', '$', '5']);
});

test('frequent words become single tokens; the vocabulary starts with the special tokens', () => {
  const vocab = learnWordPieceVocab(CORPUS, { vocabSize: 200, minFrequency: 2 });
  assert.deepEqual(vocab.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  for (const w of ['the', 'movie', 'good', 'film', 'boring', 'great', 'story']) assert.ok(vocab.includes(w), `'${w}' is one token`);
  assert.equal(new Set(vocab).size, vocab.length, 'no duplicates');
  // Every seen character in both forms.
  for (const c of 'abcdefghilmnoprstuvy,.!;:\'-') {
    assert.ok(vocab.includes(c), `'${c}'`);
    assert.ok(vocab.includes(`##${c}`), `'##${c}'`);
  }
});

test('the tokenizer.json has bert-base-uncased layout and splits unseen words into pieces without [UNK]', () => {
  const json = trainWordPiece(CORPUS, { vocabSize: 200, minFrequency: 2 });
  const reference = JSON.parse(readFileSync(REFERENCE, 'utf8'));
  assert.deepEqual(Object.keys(json), Object.keys(reference), 'same top-level keys in the same order');
  for (const key of ['normalizer', 'pre_tokenizer', 'decoder']) assert.deepEqual(json[key], reference[key], key);
  const model = json.model as Record<string, unknown>;
  const { vocab: _v, ...rest } = reference.model;
  assert.deepEqual({ ...model, vocab: undefined }, { ...rest, vocab: undefined });
  assert.deepEqual((json.added_tokens as { content: string; id: number }[]).map((t) => [t.content, t.id]), [['[PAD]', 0], ['[UNK]', 1], ['[CLS]', 2], ['[SEP]', 3], ['[MASK]', 4]]);
  const pp = json.post_processor as { single: unknown; pair: unknown; special_tokens: Record<string, { ids: number[] }> };
  assert.deepEqual(pp.single, reference.post_processor.single);
  assert.deepEqual(pp.pair, reference.post_processor.pair);
  assert.deepEqual(pp.special_tokens['[CLS]']!.ids, [2]);

  const tok = tokenizerFromJson(json, { do_lower_case: true });
  assert.deepEqual(tok.encode('The movie was GOOD').tokens, ['[CLS]', 'the', 'movie', 'was', 'good', '[SEP]']);
  // Unseen words made of seen characters: pieces, never [UNK].
  for (const word of ['goodest', 'filmography', 'storyboard', 'unacted']) {
    const enc = tok.encode(word);
    assert.ok(enc.tokens.length > 3, `${word}: ${enc.tokens}`);
    assert.ok(!enc.ids.includes(1), `${word} has no [UNK]: ${enc.tokens}`);
    assert.equal(enc.tokens.slice(1, -1).map((t, i) => (i === 0 ? t : t.replace(/^##/, ''))).join(''), word);
  }
  // A character never seen is [UNK].
  assert.ok(tok.encode('good ☃').ids.includes(1));
});

test('the trained tokenizer loads from a folder with loadTokenizer and encodes with offsets', async () => {
  const json = trainWordPiece(CORPUS, { vocabSize: 150 });
  writeFileSync(join(temp, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(join(temp, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, model_max_length: 64, pad_token: '[PAD]', unk_token: '[UNK]', cls_token: '[CLS]', sep_token: '[SEP]', mask_token: '[MASK]' }));
  const tok = await loadTokenizer(temp);
  assert.equal(tok.padId, 0);
  assert.equal(tok.clsId, 2);
  assert.equal(tok.sepId, 3);
  assert.equal(tok.modelMaxLength, 64);
  const text = 'A Storyboard, GOOD!';
  const enc = tok.encode(text);
  assert.equal(enc.tokens[0], '[CLS]');
  assert.deepEqual(enc.offsets[0], [0, 0]);
  enc.tokens.slice(1, -1).forEach((t, i) => {
    const [s, e] = enc.offsets[i + 1]!;
    assert.equal(text.slice(s, e).toLowerCase(), t.replace(/^##/, ''), `offsets of ${t}`);
  });
  const [a, b] = tok.encodeBatch(['good', 'a good movie'], {});
  assert.equal(a!.ids.length, b!.ids.length);
  assert.deepEqual(a!.attentionMask.slice(-2), [0, 0]);
});

test('bad settings and empty text are errors', () => {
  assert.throws(() => learnWordPieceVocab(['abc'], { vocabSize: 5 }), /vocabulary size/);
  assert.throws(() => learnWordPieceVocab(['abcdefgh'], { vocabSize: 10 }), /cannot hold/);
  assert.throws(() => learnWordPieceVocab(['', '  ']), /empty/);
});
