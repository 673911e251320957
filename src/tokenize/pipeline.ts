/**
 * One text to tokens, ids and offsets: the Tokenizers.js pipeline (added tokens, normalizer,
 * pre-tokenizer, model) driven step by step so that every token keeps the span of text it
 * came from (see offsets.ts).
 *
 * We call the library's own normalizer, pre-tokenizer and model objects, in the order and
 * with the arguments its `Tokenizer.encode_text` uses, so the tokens are the library's
 * tokens; only the bookkeeping around them is ours. One deliberate difference: the model is
 * called one pre-token at a time, so unknown tokens are fused within a word only, as in the
 * Rust crate (the library fuses them across words too).
 */
import type { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { fail } from '../errors.js';
import {
  type Aligned,
  type NormalizerLike,
  type Span,
  type TokenSurface,
  aligned,
  locateByteWord,
  locateWord,
  normalizeAligned,
  perCluster,
  reconcile,
  replaceAligned,
  sliceAligned,
  spanOf,
  tokenRanges,
  trimAligned,
  unitsSpan,
} from './offsets.js';

/** The tokens of one sequence, before the template adds its special tokens. */
export interface Piece {
  ids: number[];
  tokens: string[];
  offsets: Span[];
}

/** An entry of tokenizer.json's `added_tokens`. */
export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
}

/** The library objects we drive; typed here because the package keeps them loosely typed or private. */
interface Internals {
  normalizer: NormalizerLike | null;
  pre_tokenizer: ((text: string, options?: { section_index?: number }) => string[]) | null;
  model: ((words: string[]) => string[]) & { tokens_to_ids: Map<string, number>; unk_token_id?: number };
}

type Json = Record<string, unknown>;

/** Leftmost-longest matching of added tokens, as the library's DictionarySplitter. */
function splitter(tokens: readonly { content: string; token: AddedToken }[]) {
  const byContent = new Map(tokens.filter((t) => t.content.length > 0).map((t) => [t.content, t.token]));
  // candidates by first unit, longest first
  const byFirst = new Map<string, string[]>();
  for (const c of byContent.keys()) byFirst.set(c[0]!, [...(byFirst.get(c[0]!) ?? []), c]);
  for (const list of byFirst.values()) list.sort((x, y) => y.length - x.length);
  return (text: string): { from: number; to: number; token?: AddedToken }[] => {
    const parts: { from: number; to: number; token?: AddedToken }[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      const best = byFirst.get(text[i]!)?.find((c) => text.startsWith(c, i));
      if (best) {
        if (i > start) parts.push({ from: start, to: i });
        parts.push({ from: i, to: i + best.length, token: byContent.get(best)! });
        i += best.length;
        start = i;
      } else i++;
    }
    if (start < text.length) parts.push({ from: start, to: text.length });
    return parts;
  };
}

/** A section of text: plain, or one added token (with the span it claims, stripped whitespace included). */
type Section = { text: Aligned; token?: AddedToken; span?: Span };

/** Splits on added tokens and applies their lstrip/rstrip to the neighbouring sections. */
function splitOnAdded(a: Aligned, split: ReturnType<typeof splitter>): Section[] {
  const sections: Section[] = split(a.text).map((p) => {
    const text = sliceAligned(a, p.from, p.to);
    return p.token ? { text, token: p.token, span: spanOf(a, p.from, p.to) } : { text };
  });
  sections.forEach((s, i) => {
    if (!s.token) return;
    const prev = sections[i - 1];
    if (s.token.lstrip && prev && !prev.token) {
      const kept = trimAligned(prev.text, false, true);
      const gone = spanOf(prev.text, kept.text.length, prev.text.text.length);
      if (gone[1] > gone[0]) s.span = [Math.min(gone[0], s.span![0]), s.span![1]];
      prev.text = kept;
    }
    const next = sections[i + 1];
    if (s.token.rstrip && next && !next.token) {
      const kept = trimAligned(next.text, true, false);
      const gone = spanOf(next.text, 0, next.text.text.length - kept.text.length);
      if (gone[1] > gone[0]) s.span = [s.span![0], Math.max(gone[1], s.span![1])];
      next.text = kept;
    }
  });
  return sections;
}

/** Pre-tokenizer settings that change how pre-tokens spell the text. */
function preTokenizerTraits(config: unknown): { byteLevel: boolean; addPrefixSpace: boolean; spaceMarks: Set<string> } {
  const traits = { byteLevel: false, addPrefixSpace: false, spaceMarks: new Set<string>() };
  const walk = (c: unknown) => {
    if (c === null || typeof c !== 'object') return;
    const j = c as Json;
    if (j.type === 'Sequence') ((j.pretokenizers ?? []) as unknown[]).forEach(walk);
    if (j.type === 'ByteLevel') {
      traits.byteLevel = true;
      traits.addPrefixSpace ||= j.add_prefix_space === true;
    }
    if (j.type === 'Metaspace') traits.spaceMarks.add(typeof j.replacement === 'string' ? j.replacement : '\u2581');
    if (j.type === 'Replace' && typeof j.content === 'string' && j.content.length === 1) {
      const p = j.pattern as { String?: string } | undefined;
      if (p?.String !== undefined && /^\s+$/.test(p.String)) traits.spaceMarks.add(j.content);
    }
  };
  walk(config);
  return traits;
}

/** How the model's tokens spell the pre-token they come from. */
function surfaceOf(model: Json, unknown: string | undefined): TokenSurface {
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  return {
    prefix: str(model.continuing_subword_prefix),
    suffixes: [str(model.end_of_word_suffix), str(model.continuing_subword_suffix)].filter((s): s is string => !!s),
    unknown,
    byteFallback: model.byte_fallback === true,
  };
}

export interface Pipeline {
  /** Tokens of one text (no template), with offsets into `text`. */
  encode(text: string): Piece;
}

/**
 * Builds the pipeline for a constructed Tokenizers.js tokenizer and the JSON it came from.
 * `config` is tokenizer_config.json (for `remove_space` and `do_lowercase_and_remove_accent`,
 * which the library applies before the normalizer).
 */
export function createPipeline(lib: HfTokenizer, tokenizerJson: Json, config: Json, addedTokens: AddedToken[]): Pipeline {
  const { normalizer, pre_tokenizer: preTokenizer, model } = lib as unknown as Internals;
  const modelJson = (tokenizerJson.model ?? {}) as Json;
  const unknownToken = typeof modelJson.unk_token === 'string' ? modelJson.unk_token : undefined;
  const surface = surfaceOf(modelJson, unknownToken);
  const traits = preTokenizerTraits(tokenizerJson.pre_tokenizer);
  const removeSpace = config.remove_space === true;
  const lowercaseAndStrip = config.do_lowercase_and_remove_accent === true;

  // As the library: tokens with `normalized: false` (or every token, without a normalizer) are
  // matched in the raw text, the others in the normalized text.
  const raw = addedTokens.filter((t) => !t.normalized || normalizer === null);
  const normalizedTokens = addedTokens.filter((t) => t.normalized && normalizer !== null);
  const splitRaw = splitter(raw.map((token) => ({ content: token.content, token })));
  const splitNormalized = splitter(normalizedTokens.map((token) => ({ content: normalizer!.normalize(token.content), token })));

  const idOf = (token: string): number => {
    const id = model.tokens_to_ids.get(token) ?? model.unk_token_id;
    if (id === undefined) fail('BAD_TOKENIZER', `the model produced the token "${token}", which has no id and there is no unknown token`);
    return id;
  };

  const normalize = (a: Aligned): Aligned => {
    let x = a;
    if (removeSpace) {
      const trimmed = trimAligned(x, true, true);
      x = reconcile(replaceAligned(trimmed, /\s+/g, ' '), x.text.trim().split(/\s+/).join(' '));
    }
    if (lowercaseAndStrip) {
      const f = (s: string) => s.toLowerCase().replace(/\p{M}/gu, '');
      x = reconcile(perCluster(x, f), f(x.text));
    }
    if (normalizer !== null) x = reconcile(normalizeAligned(normalizer, x), normalizer.normalize(x.text));
    return x;
  };

  return {
    encode(text: string): Piece {
      const out: Piece = { ids: [], tokens: [], offsets: [] };
      const push = (token: string, id: number, span: Span) => {
        out.tokens.push(token);
        out.ids.push(id);
        out.offsets.push(span);
      };
      splitOnAdded(aligned(text), splitRaw).forEach((section, sectionIndex) => {
        if (section.token) return push(section.token.content, section.token.id, section.span!);
        if (section.text.text.length === 0) return;
        const normalized = normalize(section.text);
        if (normalized.text.length === 0) return;
        for (const sub of splitOnAdded(normalized, splitNormalized)) {
          if (sub.token) {
            push(sub.token.content, sub.token.id, sub.span!);
            continue;
          }
          if (sub.text.text.length === 0) continue;
          const s = sub.text.text;
          const words = preTokenizer ? preTokenizer(s, { section_index: sectionIndex }) : [s];
          let cursor = 0;
          for (const word of words) {
            const loc = traits.byteLevel ? locateByteWord(s, word, cursor) : locateWord(s, word, cursor, traits.spaceMarks);
            cursor = loc.next;
            const tokens = model([word]);
            tokenRanges(word, tokens, surface).forEach(([a, b], k) => {
              const [from, to] = unitsSpan(loc.units, a, b, cursor);
              push(tokens[k]!, idOf(tokens[k]!), spanOf(sub.text, from, to));
            });
          }
        }
      });
      return out;
    },
  };
}
