/**
 * A tiny WordPiece tokenizer for the tiny-bert-cls fixture (vocab 64), in tokenizer.json's format
 * (as ../shared/fixtures/tokenizers/bert-base-uncased/tokenizer.json writes it), so tests can
 * pass text to the fixture models.
 */

export const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
export const WORDS = [
  'the', 'a', 'is', 'was', 'good', 'bad', 'movie', 'film', 'great', 'terrible', 'i', 'you', 'it', 'this', 'that',
  'and', 'or', 'not', 'very', 'really', 'love', 'hate', 'like', 'story', 'plot', 'acting', 'actor', 'are', 'were', 'be',
  'of', 'to', 'in', 'on', 'with', 'for', 'at', 'my', 'hello', 'world', 'fun', 'boring', 'best', 'worst', 'ever', 'so',
  '.', ',', '!', '?', "'", 'un', '##s', '##ing', '##ed', '##ly', 'end', 'time', 'day',
];
export const VOCAB: Record<string, number> = Object.fromEntries([...SPECIALS, ...WORDS].map((w, i) => [w, i]));

export function tinyBertTokenizerJson(): object {
  const special = (id: string) => ({ SpecialToken: { id, type_id: 0 } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, special('[SEP]')],
      pair: [special('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, special('[SEP]'), { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [VOCAB['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [VOCAB['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: VOCAB },
  };
}

