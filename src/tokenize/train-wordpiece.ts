/**
 * Learn a WordPiece vocabulary from text, and write it as a `tokenizer.json` in exactly the
 * layout of bert-base-uncased's (BertNormalizer, BertPreTokenizer, WordPiece model with
 * [UNK], `[CLS] $A [SEP]` template, WordPiece decoder), so that glassbox's `loadTokenizer`,
 * Tokenizers.js and Hugging Face `tokenizers` all read it.
 *
 * The method is the one Hugging Face tokenizers' `WordPieceTrainer` uses (it wraps its BPE
 * trainer; Sennrich et al. 2016 for BPE, Schuster & Nakajima 2012 / Wu et al. 2016 for
 * WordPiece): normalise and pre-tokenise the text into words and count them; spell every
 * word as characters, all but the first with the `##` continuation prefix; then repeatedly
 * merge the most frequent adjacent pair of symbols (`un` + `##able` -> `unable`,
 * `##a` + `##b` -> `##ab`) until the vocabulary reaches its target size or no pair occurs
 * `minFrequency` times. The vocabulary is the special tokens, the alphabet and the merged
 * symbols; at inference WordPiece splits greedily, longest match first.
 *
 * Decision: every character seen in training enters the alphabet in both forms (`x` and
 * `##x`), so a word made of seen characters always splits into pieces and never becomes
 * [UNK]; only characters never seen do.
 */
import { fail } from '../errors.js';

export interface TrainWordPieceOptions {
  /** Target size of the vocabulary, special tokens and alphabet included (default 8000). */
  vocabSize?: number;
  /** A pair merges only if it occurs at least this often (default 2). */
  minFrequency?: number;
  /** Lower-case and strip accents, as bert-base-uncased (default true). */
  lowercase?: boolean;
  /** Special tokens, given ids 0, 1, ... in this order (default [PAD] [UNK] [CLS] [SEP] [MASK]). */
  specialTokens?: string[];
  /** Words longer than this (in characters) become [UNK] at inference (default 100, as BERT). */
  maxInputCharsPerWord?: number;
}

export const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

const PREFIX = '##';

// ---------------------------------------------------------------------------------------
// BertNormalizer and BertPreTokenizer (tokenizers/src/normalizers/bert.rs, pre_tokenizers/bert.rs)

const isControl = (c: string) => c !== '\t' && c !== '\n' && c !== '\r' && /\p{Cc}|\p{Cf}|\p{Co}|\p{Cn}/u.test(c);
const isWhitespace = (c: string) => /\s/u.test(c);
/** CJK Unified Ideographs and their extensions, as BERT's `_is_chinese_char`. */
function isChinese(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}
/** ASCII punctuation (Rust's `is_ascii_punctuation`, which includes $ + < = > ^ ` |) or Unicode P*. */
const isPunctuation = (c: string) => /^[!-/:-@[-`{-~]$/.test(c) || /\p{P}/u.test(c);

/**
 * BertNormalizer: drop control characters and U+FFFD, whitespace to spaces, spaces around CJK
 * ideographs, and with `lowercase` also strip accents (NFD, drop combining marks) and lower-case.
 */
export function bertNormalize(text: string, lowercase = true): string {
  let out = '';
  for (const c of text) {
    const cp = c.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || isControl(c)) continue;
    if (isWhitespace(c)) out += ' ';
    else if (isChinese(cp)) out += ` ${c} `;
    else out += c;
  }
  if (lowercase) out = out.normalize('NFD').replace(/\p{Mn}/gu, '').toLowerCase();
  return out;
}

/** BertPreTokenizer: split on whitespace (dropped) and around each punctuation character (kept). */
export function bertPreTokenize(text: string): string[] {
  const words: string[] = [];
  let cur = '';
  for (const c of text) {
    if (isWhitespace(c)) {
      if (cur) words.push(cur);
      cur = '';
    } else if (isPunctuation(c)) {
      if (cur) words.push(cur);
      words.push(c);
      cur = '';
    } else cur += c;
  }
  if (cur) words.push(cur);
  return words;
}

// ---------------------------------------------------------------------------------------
// The trainer

/** A max-heap of [count, pair] by count, then the smaller pair first (as the Rust trainer's Merge order). */
class PairHeap {
  private counts: number[] = [];
  private pairs: number[] = [];
  get size(): number {
    return this.counts.length;
  }
  private before(i: number, j: number): boolean {
    const c = this.counts;
    return c[i]! > c[j]! || (c[i] === c[j] && this.pairs[i]! < this.pairs[j]!);
  }
  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.pairs[i], this.pairs[j]] = [this.pairs[j]!, this.pairs[i]!];
  }
  push(count: number, pair: number): void {
    this.counts.push(count);
    this.pairs.push(pair);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0]!, this.pairs[0]!];
    const lastC = this.counts.pop()!;
    const lastP = this.pairs.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastC;
      this.pairs[0] = lastP;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.counts.length && this.before(l, m)) m = l;
        if (r < this.counts.length && this.before(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/** Count the normalised, pre-tokenised words of `texts`. */
export function countWords(texts: Iterable<string>, lowercase = true): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of bertPreTokenize(bertNormalize(t, lowercase))) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

/**
 * The vocabulary, in id order: special tokens, alphabet, merged symbols.
 *
 * @example
 * const vocab = learnWordPieceVocab(['a good film', 'a goodly film'], { vocabSize: 60, minFrequency: 1 });
 */
export function learnWordPieceVocab(texts: Iterable<string>, opts: TrainWordPieceOptions = {}): string[] {
  const vocabSize = opts.vocabSize ?? 8000;
  const minFrequency = opts.minFrequency ?? 2;
  const specials = opts.specialTokens ?? [...BERT_SPECIAL_TOKENS];
  if (!Number.isInteger(vocabSize) || vocabSize <= specials.length) {
    fail('INVALID_ARGUMENT', `vocabulary size must be an integer above the ${specials.length} special tokens, got ${vocabSize}`);
  }
  const wordCounts = countWords(texts, opts.lowercase ?? true);
  if (wordCounts.size === 0) fail('BAD_INPUT', 'no words to learn a vocabulary from: the training text is empty');

  const vocab: string[] = [...specials];
  const ids = new Map<string, number>(vocab.map((t, i) => [t, i]));
  const intern = (t: string): number => {
    let id = ids.get(t);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(t);
      ids.set(t, id);
    }
    return id;
  };

  // The alphabet: every character seen, alone and as a continuation.
  const chars = new Set<string>();
  for (const w of wordCounts.keys()) for (const c of w) chars.add(c);
  const alphabet = [...chars].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  for (const c of alphabet) intern(c);
  for (const c of alphabet) intern(PREFIX + c);
  if (vocab.length > vocabSize) {
    fail('INVALID_ARGUMENT', `vocabulary size ${vocabSize} cannot hold the ${specials.length} special tokens and the ${vocab.length - specials.length} characters of the alphabet (both forms)`, {
      hint: `Use a vocabulary size of at least ${vocab.length}`,
    });
  }

  // Words as symbol ids; pairs keyed a * 2^21 + b (ids stay below 2^21).
  const SHIFT = 2 ** 21;
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [w, n] of wordCounts) {
    const cs = [...w];
    words.push(cs.map((c, i) => ids.get(i === 0 ? c : PREFIX + c)!));
    freq.push(n);
  }
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const heap = new PairHeap();
  const bump = (pair: number, by: number, word: number) => {
    const c = (pairCount.get(pair) ?? 0) + by;
    pairCount.set(pair, c);
    if (by > 0) {
      let s = pairWords.get(pair);
      if (!s) pairWords.set(pair, (s = new Set()));
      s.add(word);
    }
  };
  words.forEach((syms, wi) => {
    for (let i = 0; i + 1 < syms.length; i++) bump(syms[i]! * SHIFT + syms[i + 1]!, freq[wi]!, wi);
  });
  for (const [p, c] of pairCount) heap.push(c, p);

  const merged = (a: number, b: number) => vocab[a]! + vocab[b]!.slice(PREFIX.length);
  while (vocab.length < vocabSize && heap.size > 0) {
    const [count, pair] = heap.pop();
    const current = pairCount.get(pair) ?? 0;
    // A stale entry: every change of a count pushed the new count, so that entry is queued too.
    if (current !== count) continue;
    if (count < minFrequency) break;
    const a = Math.floor(pair / SHIFT);
    const b = pair % SHIFT;
    const token = intern(merged(a, b));
    const touched = new Map<number, number>();
    for (const wi of pairWords.get(pair) ?? []) {
      const syms = words[wi]!;
      const n = freq[wi]!;
      const next: number[] = [];
      let changed = false;
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
          next.push(token);
          i++;
          changed = true;
        } else next.push(syms[i]!);
      }
      if (!changed) continue;
      // Recount this word's pairs: remove the old ones, add the new ones.
      for (let i = 0; i + 1 < syms.length; i++) {
        const p = syms[i]! * SHIFT + syms[i + 1]!;
        bump(p, -n, wi);
        touched.set(p, 1);
      }
      for (let i = 0; i + 1 < next.length; i++) {
        const p = next[i]! * SHIFT + next[i + 1]!;
        bump(p, n, wi);
        touched.set(p, 1);
      }
      words[wi] = next;
    }
    pairCount.delete(pair);
    pairWords.delete(pair);
    for (const p of touched.keys()) {
      const c = pairCount.get(p) ?? 0;
      if (c > 0 && p !== pair) heap.push(c, p);
    }
  }
  return vocab;
}

/**
 * A tokenizer.json object (bert-base-uncased's layout) for a WordPiece vocabulary whose first
 * tokens are [PAD] [UNK] [CLS] [SEP] [MASK].
 */
export function wordPieceTokenizerJson(vocab: readonly string[], opts: { lowercase?: boolean; maxInputCharsPerWord?: number } = {}): Record<string, unknown> {
  const id = (t: string) => {
    const i = vocab.indexOf(t);
    if (i < 0) fail('INVALID_ARGUMENT', `the vocabulary has no ${t} token`);
    return i;
  };
  const special = (t: string) => ({ SpecialToken: { id: t, type_id: 0 } });
  const specials = vocab.filter((t) => /^\[[A-Z]+\]$/.test(t) && (BERT_SPECIAL_TOKENS as readonly string[]).includes(t));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content) => ({
      id: id(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: opts.lowercase ?? true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, special('[SEP]')],
      pair: [
        special('[CLS]'),
        { Sequence: { id: 'A', type_id: 0 } },
        special('[SEP]'),
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: PREFIX, cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: PREFIX,
      max_input_chars_per_word: opts.maxInputCharsPerWord ?? 100,
      vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
    },
  };
}

/**
 * Learn a WordPiece vocabulary from `texts` and return it as a tokenizer.json object.
 *
 * @example
 * const json = trainWordPiece(sentences, { vocabSize: 8000 });
 * const tok = tokenizerFromJson(json, { do_lower_case: true });
 * tok.encode('a gorgeous film').tokens; // ['[CLS]', 'a', 'gorgeous', 'film', '[SEP]']
 */
export function trainWordPiece(texts: Iterable<string>, opts: TrainWordPieceOptions = {}): Record<string, unknown> {
  const specials = opts.specialTokens ?? [...BERT_SPECIAL_TOKENS];
  for (const t of BERT_SPECIAL_TOKENS) {
    if (t !== '[MASK]' && !specials.includes(t)) fail('INVALID_ARGUMENT', `the special tokens must include ${t} (BERT's template and padding use it)`);
  }
  return wordPieceTokenizerJson(learnWordPieceVocab(texts, { ...opts, specialTokens: specials }), opts);
}
