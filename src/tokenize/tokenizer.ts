/**
 * Hugging Face tokenizers for glassbox: `tokenizer.json` (+ `tokenizer_config.json`,
 * `special_tokens_map.json`) read through Tokenizers.js (`@huggingface/tokenizers`, pure
 * JavaScript, no dependencies), with what the library lacks added here: character offsets
 * (pipeline.ts, offsets.ts), pairs and truncation that keep the template's special tokens
 * (template.ts), and batches padded on either side.
 *
 * Offsets are JavaScript string indices (UTF-16 units): `text.slice(start, end)` is the text
 * a token came from. The Python API counts code points, so the two differ after an emoji or
 * any character outside the BMP. A byte-level piece of a multi-byte character gets the whole
 * character; tokens the template adds get [0, 0]; a pair's second text has offsets into that
 * text, told apart by `sequenceIds`.
 *
 * @example
 * const tok = await loadTokenizer('models/bert-base-uncased');
 * const enc = tok.encode('Hello world', { pair: 'Second text', maxLength: 512, truncation: true });
 * enc.tokens;   // ['[CLS]', 'hello', 'world', '[SEP]', 'second', 'text', '[SEP]']
 * enc.offsets;  // [[0, 0], [0, 5], [6, 11], [0, 0], [0, 6], [7, 11], [0, 0]]
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { GlassboxError, fail } from '../errors.js';
import type { Span } from './offsets.js';
import { type AddedToken, type Piece, createPipeline } from './pipeline.js';
import { type Template, type TemplateItem, specialCount, templateFromJson } from './template.js';

export interface Encoding {
  ids: number[];
  tokens: string[];
  /** [start, end) in UTF-16 units of the text the token came from (the pair's text for sequence 1). */
  offsets: [number, number][];
  typeIds: number[];
  /** True for tokens added by the template (and for padding), not for special tokens typed in the text. */
  specialMask: boolean[];
  attentionMask: number[];
  /** 0 or 1 for tokens of the text or the pair, null for template tokens and padding. */
  sequenceIds: (0 | 1 | null)[];
  /** Whether truncation removed tokens. */
  truncated: boolean;
}

export type Truncation = boolean | 'longest_first' | 'only_first' | 'only_second';

export interface EncodeOptions {
  /** Second text of a pair (BERT: `[CLS] text [SEP] pair [SEP]`). */
  pair?: string;
  /** Add the template's special tokens (default true). */
  addSpecialTokens?: boolean;
  /** Most tokens allowed, special tokens included. */
  maxLength?: number;
  /** What to do beyond `maxLength`: fail (default), or cut the content (`true` = 'longest_first'). */
  truncation?: Truncation;
}

export interface EncodeBatchOptions extends EncodeOptions {
  /** Pad to the longest row (default) or to `maxLength`. */
  padding?: 'longest' | 'max_length';
  /** Default: tokenizer_config.json's `padding_side`, else 'right'. */
  paddingSide?: 'left' | 'right';
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
}

export interface Tokenizer {
  /** Ids run from 0 to vocabSize - 1 (added tokens included). */
  vocabSize: number;
  padId: number | null;
  bosId: number | null;
  eosId: number | null;
  unkId: number | null;
  clsId: number | null;
  sepId: number | null;
  maskId: number | null;
  /** tokenizer_config.json's `model_max_length`, when it is a real limit. */
  modelMaxLength: number | null;
  /** Every special token, named or added. */
  specialTokens: string[];
  encode(text: string, opts?: EncodeOptions): Encoding;
  /** Rows padded to one length with `padId` (`eosId` when there is no pad token); attentionMask 0 on padding. */
  encodeBatch(texts: string[], opts?: EncodeBatchOptions): Encoding[];
  decode(ids: number[], opts?: DecodeOptions): string;
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
}

type Json = Record<string, unknown>;

const MAKE_TOKENIZER_JSON = (folder: string) =>
  `Glassbox reads only tokenizer.json; make one with Python: ` +
  `from transformers import AutoTokenizer; AutoTokenizer.from_pretrained(${JSON.stringify(folder)}).save_pretrained(${JSON.stringify(folder)})`;

/**
 * Reads a tokenizer from a folder with `tokenizer.json` and, when present,
 * `tokenizer_config.json` and `special_tokens_map.json` (a path to tokenizer.json works too).
 *
 * @example
 * const tok = await loadTokenizer('models/gpt2');
 * tok.encode('Hello world').ids; // [15496, 995]
 */
export async function loadTokenizer(folder: string): Promise<Tokenizer> {
  if (basename(folder) === 'tokenizer.json' && existsSync(folder) && statSync(folder).isFile()) folder = dirname(folder);
  if (!existsSync(folder)) fail('MISSING_FILE', 'tokenizer folder not found', { where: folder });
  const path = join(folder, 'tokenizer.json');
  if (!existsSync(path)) {
    const legacy = ['vocab.txt', 'vocab.json', 'merges.txt', 'tokenizer.model', 'spiece.model', 'sentencepiece.bpe.model']
      .filter((f) => existsSync(join(folder, f)));
    fail('MISSING_FILE', legacy.length > 0 ? `no tokenizer.json (the folder has ${legacy.join(', ')})` : 'no tokenizer.json', {
      where: folder,
      hint: legacy.length > 0 ? MAKE_TOKENIZER_JSON(folder) : 'A Hugging Face tokenizer folder holds tokenizer.json',
    });
  }
  const readJson = async (file: string, required: boolean): Promise<Json | undefined> => {
    const p = join(folder, file);
    if (!required && !existsSync(p)) return undefined;
    let text: string;
    try {
      text = await readFile(p, 'utf8');
    } catch (e) {
      fail('MISSING_FILE', `cannot read ${file}: ${(e as Error).message}`, { where: p, cause: e });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      fail('BAD_TOKENIZER', `${file} is not valid JSON: ${(e as Error).message}`, { where: p, cause: e });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('BAD_TOKENIZER', `${file} is not a JSON object`, { where: p });
    return value as Json;
  };
  const tokenizerJson = (await readJson('tokenizer.json', true))!;
  const config = await readJson('tokenizer_config.json', false);
  const specialTokensMap = await readJson('special_tokens_map.json', false);
  return buildTokenizer(tokenizerJson, config ?? {}, specialTokensMap ?? {}, path);
}

/**
 * A tokenizer from the parsed contents of tokenizer.json, tokenizer_config.json and
 * special_tokens_map.json.
 *
 * @example
 * const tok = tokenizerFromJson(JSON.parse(readFileSync('tokenizer.json', 'utf8')));
 */
export function tokenizerFromJson(tokenizerJson: object, config: object = {}, specialTokensMap: object = {}): Tokenizer {
  return buildTokenizer(tokenizerJson as Json, config as Json, specialTokensMap as Json, 'tokenizer.json');
}

/** A special token's name in a config: a string, or an AddedToken object `{ content }`. */
function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

function readAddedTokens(json: Json, where: string): AddedToken[] {
  const list = json.added_tokens ?? [];
  if (!Array.isArray(list)) fail('BAD_TOKENIZER', '`added_tokens` is not a list', { where });
  return list.map((t: Json, i) => {
    if (typeof t?.content !== 'string' || typeof t.id !== 'number') fail('BAD_TOKENIZER', `added_tokens[${i}] has no content or id`, { where });
    const special = t.special === true;
    return {
      id: t.id,
      content: t.content,
      special,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      normalized: typeof t.normalized === 'boolean' ? t.normalized : !special,
    };
  });
}

function buildTokenizer(json: Json, config: Json, specialTokensMap: Json, where: string): Tokenizer {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('BAD_TOKENIZER', 'tokenizer.json is not a JSON object', { where });
  const model = json.model as Json | undefined;
  if (!model || typeof model !== 'object' || typeof model.type !== 'string') {
    fail('BAD_TOKENIZER', 'tokenizer.json has no `model` with a `type`', {
      where,
      hint: 'A tokenizer.json written by the Hugging Face tokenizers library has model.type BPE, WordPiece, Unigram or WordLevel',
    });
  }
  const addedTokens = readAddedTokens(json, where);
  // The library insists on these keys; files written by hand may leave the null ones out.
  const complete: Json = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...json };
  let lib: HfTokenizer;
  try {
    lib = new HfTokenizer(complete, config);
  } catch (e) {
    throw new GlassboxError('BAD_TOKENIZER', `cannot build the tokenizer (model ${String(model.type)}): ${(e as Error).message}`, { where, cause: e });
  }
  const pipeline = createPipeline(lib, complete, config, addedTokens);
  const tokenToId = (token: string) => lib.token_to_id(token);
  const idToToken = (id: number) => (Number.isInteger(id) && id >= 0 ? lib.id_to_token(id) : undefined);
  const template = templateFromJson(complete.post_processor, tokenToId, where);
  let vocabSize = 0;
  for (const id of lib.get_vocab(true).values()) vocabSize = Math.max(vocabSize, id + 1);

  const named = (key: string): number | null => {
    const name = tokenName(specialTokensMap[key]) ?? tokenName(config[key]);
    return name === undefined ? null : (tokenToId(name) ?? null);
  };
  const modelUnk = typeof model.unk_token === 'string' ? tokenToId(model.unk_token) : undefined;
  const specialTokens = [
    ...addedTokens.filter((t) => t.special).map((t) => t.content),
    ...['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token']
      .map((k) => tokenName(specialTokensMap[k]) ?? tokenName(config[k])),
    ...[specialTokensMap.additional_special_tokens, config.additional_special_tokens]
      .flatMap((v) => (Array.isArray(v) ? v.map(tokenName) : [])),
  ].filter((t): t is string => t !== undefined && tokenToId(t) !== undefined);
  const maxLen = config.model_max_length;
  const paddingSide = config.padding_side === 'left' ? 'left' : 'right';

  const tok: Tokenizer = {
    vocabSize,
    padId: named('pad_token'),
    bosId: named('bos_token'),
    eosId: named('eos_token'),
    unkId: named('unk_token') ?? modelUnk ?? null,
    clsId: named('cls_token'),
    sepId: named('sep_token'),
    maskId: named('mask_token'),
    modelMaxLength: typeof maxLen === 'number' && Number.isFinite(maxLen) && maxLen > 0 && maxLen < 1e12 ? maxLen : null,
    specialTokens: [...new Set(specialTokens)],
    tokenToId,
    idToToken,

    encode(text, opts = {}) {
      checkText(text, 'text');
      if (opts.pair !== undefined) checkText(opts.pair, 'pair text');
      const trim = (p: Piece, t: string) => (template.trimOffsets ? trimOffsets(p, t) : p);
      const a = trim(pipeline.encode(text), text);
      const b = opts.pair === undefined ? null : trim(pipeline.encode(opts.pair), opts.pair);
      return assemble(a, b, template, opts);
    },

    encodeBatch(texts, opts = {}) {
      if (!Array.isArray(texts)) fail('BAD_INPUT', 'encodeBatch takes a list of texts');
      const rows = texts.map((t, i) => {
        try {
          return tok.encode(t, opts);
        } catch (e) {
          if (e instanceof GlassboxError) throw new GlassboxError(e.code, e.message, { where: `text ${i}`, cause: e });
          throw e;
        }
      });
      const padding = opts.padding ?? 'longest';
      if (padding === 'max_length' && opts.maxLength === undefined) {
        fail('BAD_INPUT', "padding 'max_length' needs maxLength");
      }
      const width = padding === 'max_length' ? opts.maxLength! : Math.max(0, ...rows.map((r) => r.ids.length));
      if (rows.every((r) => r.ids.length === width)) return rows;
      const padId = tok.padId ?? tok.eosId;
      if (padId === null) {
        fail('BAD_INPUT', 'cannot pad: the tokenizer has no pad token and no end-of-sequence token', {
          hint: 'Encode the texts one at a time, or give texts of equal token length',
        });
      }
      return rows.map((r) => pad(r, width, padId, tok.idToToken(padId) ?? '', opts.paddingSide ?? paddingSide));
    },

    decode(ids, opts = {}) {
      if (!Array.isArray(ids)) fail('BAD_INPUT', 'decode takes a list of token ids');
      ids.forEach((id, i) => {
        if (idToToken(id) === undefined) fail('BAD_INPUT', `token id ${id} at position ${i} is not in the vocabulary (0..${vocabSize - 1})`);
      });
      if (ids.length === 0) return '';
      return lib.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? false });
    },
  };
  return tok;
}

function checkText(text: unknown, what: string): asserts text is string {
  if (typeof text !== 'string') fail('BAD_INPUT', `the ${what} is not a string (got ${typeof text})`);
  if (text.length === 0) fail('BAD_INPUT', `the ${what} is empty: give at least one character`);
}

/** Cuts the pieces to `budget` tokens in all, from their ends, by `strategy` (the Rust crate's rules). */
function truncatePieces(a: Piece, b: Piece | null, budget: number, strategy: Exclude<Truncation, boolean>): [number, number] {
  let na = a.ids.length;
  let nb = b?.ids.length ?? 0;
  let excess = na + nb - budget;
  if (strategy === 'only_first' || (strategy === 'only_second' && b === null)) {
    na -= excess;
    excess = 0;
  } else if (strategy === 'only_second') {
    nb -= excess;
    excess = 0;
  } else {
    // longest_first: take one token at a time from the longer sequence (the second on a tie)
    while (excess > 0) {
      if (na > nb) na--;
      else nb--;
      excess--;
    }
  }
  if (na < 0 || nb < 0) {
    const which = na < 0 ? 'text' : 'pair text';
    fail('BAD_INPUT', `cannot truncate with '${strategy}': the ${which} alone would have to lose more tokens than it has`, {
      hint: "Use truncation 'longest_first' or a larger maxLength",
    });
  }
  return [na, nb];
}

/** Truncates (or refuses to), then lays the pieces out by the template. */
function assemble(a: Piece, b: Piece | null, template: Template, opts: EncodeOptions): Encoding {
  const addSpecial = opts.addSpecialTokens ?? true;
  const specials = addSpecial ? specialCount(template, b !== null) : 0;
  let keep: [number, number] = [a.ids.length, b?.ids.length ?? 0];
  let truncated = false;
  if (opts.maxLength !== undefined) {
    const max = opts.maxLength;
    if (!Number.isInteger(max) || max <= 0) fail('BAD_INPUT', `maxLength must be a positive integer (got ${max})`);
    const total = keep[0] + keep[1] + specials;
    if (total > max) {
      if (!opts.truncation) {
        fail('BAD_INPUT', `the ${b === null ? 'text has' : 'text and its pair have'} ${total} tokens, more than maxLength ${max}`, {
          hint: 'Pass truncation: true to cut it (--truncate on the command line)',
        });
      }
      if (max < specials) fail('BAD_INPUT', `maxLength ${max} cannot hold the ${specials} special tokens the template adds`);
      keep = truncatePieces(a, b, max - specials, opts.truncation === true ? 'longest_first' : opts.truncation);
      truncated = true;
    }
  }
  const enc: Encoding = {
    ids: [], tokens: [], offsets: [], typeIds: [], specialMask: [], attentionMask: [], sequenceIds: [], truncated,
  };
  const items: TemplateItem[] = b === null ? template.single : template.pair;
  for (const item of items) {
    if (item.kind === 'special') {
      if (!addSpecial) continue;
      enc.ids.push(item.id);
      enc.tokens.push(item.token);
      enc.offsets.push([0, 0]);
      enc.typeIds.push(item.typeId);
      enc.specialMask.push(true);
      enc.attentionMask.push(1);
      enc.sequenceIds.push(null);
      continue;
    }
    const piece = item.seq === 0 ? a : b;
    if (piece === null) continue;
    for (let i = 0; i < keep[item.seq]; i++) {
      enc.ids.push(piece.ids[i]!);
      enc.tokens.push(piece.tokens[i]!);
      enc.offsets.push([...piece.offsets[i]!]);
      enc.typeIds.push(item.typeId);
      enc.specialMask.push(false);
      enc.attentionMask.push(1);
      enc.sequenceIds.push(item.seq);
    }
  }
  return enc;
}

/**
 * ByteLevel `trim_offsets`: a token's span leaves out the whitespace it starts or ends with
 * (a token that is all whitespace keeps its span).
 */
function trimOffsets(piece: Piece, text: string): Piece {
  const offsets = piece.offsets.map(([s, e]): Span => {
    let from = s;
    let to = e;
    while (from < to && /\s/.test(text[from]!)) from++;
    while (to > from && /\s/.test(text[to - 1]!)) to--;
    return from < to ? [from, to] : [s, e];
  });
  return { ...piece, offsets };
}

/** Pads one row to `width` on `side`. */
function pad(r: Encoding, width: number, padId: number, padToken: string, side: 'left' | 'right'): Encoding {
  const n = width - r.ids.length;
  if (n <= 0) return r;
  const fill = <T>(v: T): T[] => Array.from({ length: n }, () => v);
  const join = <T>(row: T[], v: T): T[] => (side === 'left' ? [...fill(v), ...row] : [...row, ...fill(v)]);
  return {
    ids: join(r.ids, padId),
    tokens: join(r.tokens, padToken),
    offsets: side === 'left'
      ? [...Array.from({ length: n }, (): Span => [0, 0]), ...r.offsets]
      : [...r.offsets, ...Array.from({ length: n }, (): Span => [0, 0])],
    typeIds: join(r.typeIds, 0),
    specialMask: join(r.specialMask, true),
    attentionMask: join(r.attentionMask, 0),
    sequenceIds: join<0 | 1 | null>(r.sequenceIds, null),
    truncated: r.truncated,
  };
}
