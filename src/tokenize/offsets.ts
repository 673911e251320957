/**
 * Character offsets for tokens, carried beside the tokenizer pipeline.
 *
 * Tokenizers.js (`@huggingface/tokenizers`) gives tokens but no offsets, so we carry them
 * ourselves, the way the Rust crate's `NormalizedString` does: every string that flows
 * through the pipeline is an `Aligned` string whose UTF-16 units each remember the span of
 * the original text they came from. Offsets are JavaScript string indices (UTF-16 units),
 * so `text.slice(start, end)` is a token's source; the Python API counts code points instead.
 *
 * Decisions:
 * - The library's own output stays the truth for *what* the tokens are; alignment only says
 *   *where* they come from. Normalizers we can follow exactly (Sequence, Prepend, Strip,
 *   Replace, and any normalizer that acts on one character with its combining marks at a
 *   time: lowercase, NFx, accents, BertNormalizer, Precompiled) are replayed on aligned
 *   strings; where the replay differs from the library's result (Greek final sigma, Hangul
 *   jamo under NFC) the differing middle is mapped as one block (`reconcile`), so offsets
 *   stay valid and in order, only coarser there.
 * - A byte-level token that holds part of a multi-byte character gets the whole character.
 * - A character the pipeline inserted (a prefix space, a Metaspace `▁`) has an empty span.
 */

/** A string with, for each UTF-16 unit, the span `[starts[i], ends[i])` of source it came from. */
export interface Aligned {
  readonly text: string;
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  /** Source position of this string when it is empty, or of an insertion at its end. */
  readonly at: number;
}

export type Span = [number, number];

/** `text` aligned to itself, its unit i at source `offset + i`. */
export function aligned(text: string, offset = 0): Aligned {
  const starts = Array.from({ length: text.length }, (_, i) => offset + i);
  return { text, starts, ends: starts.map((s) => s + 1), at: offset };
}

/** Units [from, to) of `a`, still aligned. */
export function sliceAligned(a: Aligned, from: number, to: number): Aligned {
  return {
    text: a.text.slice(from, to),
    starts: a.starts.slice(from, to),
    ends: a.ends.slice(from, to),
    at: positionAt(a, from),
  };
}

/** Source position just before unit `i` (for an insertion there). */
function positionAt(a: Aligned, i: number): number {
  if (i < a.text.length) return a.starts[i]!;
  return a.text.length > 0 ? a.ends[a.text.length - 1]! : a.at;
}

/** Source span of units [from, to) of `a`; an empty range is an empty span at its position. */
export function spanOf(a: Aligned, from: number, to: number): Span {
  let start = Infinity;
  let end = -Infinity;
  for (let i = from; i < to; i++) {
    if (a.ends[i]! <= a.starts[i]!) continue; // inserted unit: no source
    start = Math.min(start, a.starts[i]!);
    end = Math.max(end, a.ends[i]!);
  }
  if (start === Infinity) {
    const p = positionAt(a, from);
    return [p, p];
  }
  return [start, end];
}

/** Builds an aligned string piece by piece; each piece's units share one source span. */
function builder(at: number) {
  let text = '';
  const starts: number[] = [];
  const ends: number[] = [];
  return {
    push(piece: string, span: Span) {
      text += piece;
      for (let k = 0; k < piece.length; k++) {
        starts.push(span[0]);
        ends.push(span[1]);
      }
    },
    done: (): Aligned => ({ text, starts, ends, at }),
  };
}

// --- normalization ------------------------------------------------------------------------

/** A normalizer object from Tokenizers.js, as far as we look into it. */
export interface NormalizerLike {
  normalize(text: string): string;
  config?: { type?: string; prepend?: string; strip_left?: boolean; strip_right?: boolean; content?: string };
  /** Sequence */
  normalizers?: (NormalizerLike | null)[];
  /** Replace: the library's compiled pattern (global), or null when it has none. */
  pattern?: RegExp | null;
}

/** A base character with the combining marks that follow it (NFC composes within one). */
const CLUSTER = /\P{M}\p{M}*|\p{M}+/gsu;

/** Applies `f` to each cluster on its own; every output unit gets the cluster's span. */
export function perCluster(a: Aligned, f: (s: string) => string): Aligned {
  const out = builder(a.at);
  for (const m of a.text.matchAll(CLUSTER)) {
    out.push(f(m[0]), spanOf(a, m.index, m.index + m[0].length));
  }
  return out.done();
}

/** Replaces every match of `pattern` (global) by `content`; the replacement gets the match's span. */
export function replaceAligned(a: Aligned, pattern: RegExp, content: string): Aligned {
  const out = builder(a.at);
  let last = 0;
  for (const m of a.text.matchAll(pattern)) {
    for (let i = last; i < m.index; i++) out.push(a.text[i]!, [a.starts[i]!, a.ends[i]!]);
    const span = spanOf(a, m.index, m.index + m[0].length);
    out.push(content, m[0].length > 0 ? span : [span[0], span[0]]);
    last = m.index + m[0].length;
    if (m[0].length === 0 && last < a.text.length) {
      // an empty match: keep the unit it stood before, as String.replaceAll does
      out.push(a.text[last]!, [a.starts[last]!, a.ends[last]!]);
      last++;
    }
  }
  for (let i = last; i < a.text.length; i++) out.push(a.text[i]!, [a.starts[i]!, a.ends[i]!]);
  return out.done();
}

/** Removes leading and/or trailing whitespace (JavaScript's `trim` set). */
export function trimAligned(a: Aligned, left: boolean, right: boolean): Aligned {
  let from = 0;
  let to = a.text.length;
  if (left) from = a.text.length - a.text.trimStart().length;
  if (right) to = a.text.trimEnd().length;
  return sliceAligned(a, Math.min(from, to), to);
}

/** Prepends `prefix`, inserted (empty span at the first character). */
function prependAligned(a: Aligned, prefix: string): Aligned {
  const out = builder(a.at);
  const p = positionAt(a, 0);
  out.push(prefix, [p, p]);
  for (let i = 0; i < a.text.length; i++) out.push(a.text[i]!, [a.starts[i]!, a.ends[i]!]);
  return out.done();
}

/** Replays a Tokenizers.js normalizer on an aligned string (see the module doc). */
export function normalizeAligned(n: NormalizerLike | null, a: Aligned): Aligned {
  if (n === null) return a;
  switch (n.config?.type) {
    case 'Sequence':
      return (n.normalizers ?? []).reduce((acc, m) => normalizeAligned(m, acc), a);
    case 'Prepend':
      return prependAligned(a, n.config.prepend ?? '');
    case 'Strip':
      return trimAligned(a, n.config.strip_left === true, n.config.strip_right === true);
    case 'Replace':
      return n.pattern ? replaceAligned(a, n.pattern, n.config.content ?? '') : a;
    default:
      return perCluster(a, (s) => n.normalize(s));
  }
}

/**
 * Makes `a` spell `target` (the library's own result for the same input): a common prefix
 * and suffix keep their alignment, and the differing middle of `target` gets the span of the
 * differing middle of `a` as one block.
 */
export function reconcile(a: Aligned, target: string): Aligned {
  if (a.text === target) return a;
  const n = a.text.length;
  const m = target.length;
  let p = 0;
  while (p < n && p < m && a.text[p] === target[p]) p++;
  let s = 0;
  while (s < n - p && s < m - p && a.text[n - 1 - s] === target[m - 1 - s]) s++;
  const out = builder(a.at);
  for (let i = 0; i < p; i++) out.push(target[i]!, [a.starts[i]!, a.ends[i]!]);
  out.push(target.slice(p, m - s), spanOf(a, p, n - s));
  for (let i = n - s; i < n; i++) out.push(a.text[i]!, [a.starts[i]!, a.ends[i]!]);
  return out.done();
}

// --- pre-tokens -----------------------------------------------------------------------------

/**
 * Where each unit of a pre-token (word) comes from in the aligned section it was cut from,
 * found by walking the section from `from`. Characters before the word that the
 * pre-tokenizer dropped (whitespace) are skipped. A unit of the word that matches nothing is
 * an insertion (empty span): a Metaspace `▁` at the start of a section, for instance.
 * `spaceMarks` are the characters a pre-tokenizer writes for a space (Metaspace's `▁`).
 */
export function locateWord(
  section: string,
  word: string,
  from: number,
  spaceMarks: ReadonlySet<string>,
): { units: Span[]; next: number } {
  const units: Span[] = [];
  const matches = (c: string, x: string | undefined) =>
    x !== undefined && (c === x || (spaceMarks.has(c) && /\s/.test(x)));
  let q = from;
  for (let k = 0; k < word.length; k++) {
    const c = word[k]!;
    if (matches(c, section[q])) {
      units.push([q, q + 1]);
      q++;
      continue;
    }
    if (!spaceMarks.has(c)) {
      // Skip what the pre-tokenizer dropped: anything before the word, only whitespace inside it.
      let r = q;
      while (r < section.length && !matches(c, section[r]) && (k === 0 || /\s/.test(section[r]!))) r++;
      if (matches(c, section[r])) {
        units.push([r, r + 1]);
        q = r + 1;
        continue;
      }
    }
    units.push([q, q]); // inserted by the pipeline
  }
  return { units, next: q };
}

/** GPT-2's byte-to-character table, reversed: the character a byte-level token writes -> its byte. */
export const BYTE_OF_CHAR: ReadonlyMap<string, number> = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const map = new Map<string, number>();
  let n = 0;
  for (let b = 0; b < 256; b++) map.set(String.fromCharCode(printable(b) ? b : 256 + n++), b);
  return map;
})();

const utf8 = new TextEncoder();

/**
 * `locateWord` for byte-level pre-tokens: each unit of `word` stands for one UTF-8 byte, and
 * gets the span of the whole character that byte belongs to. A leading space byte that is
 * not in the section (ByteLevel's `add_prefix_space`) is an insertion.
 */
export function locateByteWord(section: string, word: string, from: number): { units: Span[]; next: number } {
  const bytes = [...word].map((c) => BYTE_OF_CHAR.get(c));
  if (bytes.some((b) => b === undefined)) return locateWord(section, word, from, new Set());
  const units: Span[] = [];
  let q = from;
  let k = 0;
  while (k < bytes.length) {
    if (q >= section.length) {
      units.push([section.length, section.length]);
      k++;
      continue;
    }
    const cp = section.codePointAt(q)!;
    const ch = String.fromCodePoint(cp); // a lone surrogate encodes as U+FFFD, as in the library
    const chBytes = utf8.encode(ch);
    if (chBytes.every((b, j) => bytes[k + j] === b)) {
      for (let j = 0; j < chBytes.length; j++) units.push([q, q + ch.length]);
      k += chBytes.length;
      q += ch.length;
    } else if (k === 0 && bytes[0] === 0x20) {
      units.push([q, q]); // the prefix space
      k++;
    } else if (k === 0) {
      q += ch.length; // dropped before the word
    } else {
      units.push([q, q]); // cannot happen with the library's pre-tokenizers; degrade, do not throw
      k++;
    }
  }
  return { units, next: q };
}

// --- tokens within a pre-token --------------------------------------------------------------

/** How a model's token strings relate to the pre-token they were cut from. */
export interface TokenSurface {
  /** WordPiece `##`, BPE `continuing_subword_prefix`. */
  prefix?: string;
  /** BPE `end_of_word_suffix`, `continuing_subword_suffix`. */
  suffixes?: string[];
  /** Tokens that stand for no fixed text (the unknown token). */
  unknown?: string;
  /** BPE `byte_fallback`: `<0xAB>` tokens are single UTF-8 bytes of the word. */
  byteFallback?: boolean;
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/**
 * For each token the model cut `word` into, the range of `word`'s units it covers, in order.
 * A token that does not spell the next piece of the word (the unknown token) covers up to
 * where the next token that does is found, or the rest of the word.
 */
export function tokenRanges(word: string, tokens: readonly string[], surface: TokenSurface): Span[] {
  const spell = (t: string, pos: number): string | null => {
    if (t === surface.unknown || t.length === 0) return null;
    const candidates = [t];
    const p = surface.prefix;
    const unprefixed = p && t.startsWith(p) && t.length > p.length ? t.slice(p.length) : t;
    candidates.push(unprefixed);
    for (const s of surface.suffixes ?? []) {
      if (s && unprefixed.endsWith(s) && unprefixed.length > s.length) candidates.push(unprefixed.slice(0, -s.length));
    }
    return candidates.find((c) => word.startsWith(c, pos)) ?? null;
  };
  const ranges: Span[] = [];
  let pos = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (surface.byteFallback && BYTE_TOKEN.test(t)) {
      // A run of byte tokens spells whole characters; every byte gets its character.
      let j = i;
      while (j < tokens.length && BYTE_TOKEN.test(tokens[j]!)) j++;
      let budget = 0;
      let charRange: Span = [pos, pos];
      for (let b = i; b < j; b++) {
        if (budget === 0 && pos < word.length) {
          const ch = String.fromCodePoint(word.codePointAt(pos)!);
          budget = utf8.encode(ch).length;
          charRange = [pos, pos + ch.length];
          pos += ch.length;
        }
        ranges.push(charRange);
        budget = Math.max(0, budget - 1);
      }
      i = j - 1;
      continue;
    }
    const s = spell(t, pos);
    if (s !== null) {
      ranges.push([pos, pos + s.length]);
      pos += s.length;
      continue;
    }
    // Unknown: up to the next token that spells a later piece of the word.
    let end = word.length;
    for (let j = i + 1; j < tokens.length; j++) {
      const next = tokens[j]!;
      if (next === surface.unknown) continue;
      const bare = surface.prefix && next.startsWith(surface.prefix) ? next.slice(surface.prefix.length) : next;
      const at = bare.length > 0 ? word.indexOf(bare, pos) : -1;
      if (at >= 0) end = at;
      break;
    }
    ranges.push([pos, end]);
    pos = end;
  }
  return ranges;
}

/** Section positions covered by units [from, to) of a located word (see `locateWord`). */
export function unitsSpan(units: readonly Span[], from: number, to: number, fallback: number): Span {
  let start = Infinity;
  let end = -Infinity;
  for (let i = from; i < to; i++) {
    const [s, e] = units[i]!;
    if (e <= s) continue;
    start = Math.min(start, s);
    end = Math.max(end, e);
  }
  if (start !== Infinity) return [start, end];
  const p = from < units.length ? units[from]![0] : fallback;
  return [p, p];
}
