/**
 * Small tokenizer.json files written by hand, one per pipeline shape the fixtures do not
 * have: SentencePiece-style BPE (Prepend + Replace normalizer, byte fallback), Metaspace +
 * Unigram, and a plain BPE whose merges come in either form.
 */

const BYTE_TOKENS = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);

const special = (id: number, content: string) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
});

/** Llama-2 style: `▁` for spaces by the normalizer, no pre-tokenizer, byte fallback, `<s>` template. */
export function llamaLike() {
  const pieces = ['▁', 'h', 'i', '▁h', '▁hi', 'e', 'l', 'o', '▁w', 'w', 'r', 'd'];
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  BYTE_TOKENS.forEach((t, b) => (vocab[t] = 3 + b));
  pieces.forEach((p, i) => (vocab[p] = 259 + i));
  return {
    version: '1.0',
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: [['▁', 'h'], ['▁h', 'i'], ['▁', 'w']],
    },
  };
}

/** T5 / XLNet style: Metaspace pre-tokenizer over a Unigram model. */
export function metaspaceUnigram() {
  const vocab: [string, number][] = [
    ['<unk>', 0], ['▁', -2], ['▁hello', -1], ['▁world', -1],
    ...['h', 'e', 'l', 'o', 'w', 'r', 'd'].map((c): [string, number] => [c, -5]),
  ];
  return {
    version: '1.0',
    added_tokens: [special(0, '<unk>')],
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    post_processor: null,
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 0, vocab, byte_fallback: false },
  };
}

/** Whitespace-split BPE over a, b, c; `merges` in the classic "a b" strings or ["a", "b"] pairs. */
export function tinyBpe(mergeForm: 'strings' | 'pairs') {
  const merges = [['a', 'b'], ['ab', 'c']];
  return {
    version: '1.0',
    added_tokens: [{ ...special(5, '<mask>'), lstrip: true }],
    normalizer: null,
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: null,
    decoder: null,
    model: {
      type: 'BPE', dropout: null, unk_token: null, fuse_unk: false, byte_fallback: false,
      vocab: { a: 0, b: 1, c: 2, ab: 3, abc: 4, '<mask>': 5 },
      merges: mergeForm === 'pairs' ? merges : merges.map((m) => m.join(' ')),
    },
  };
}
