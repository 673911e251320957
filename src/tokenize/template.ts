/**
 * Post-processing: where the special tokens go around one sequence or a pair, and which
 * type id each part gets, read once from tokenizer.json's `post_processor`.
 *
 * Decision: we apply the template ourselves instead of calling Tokenizers.js's
 * post-processor, because truncation must cut the content and then re-add the specials, the
 * encoding must know which tokens the template added (their offsets are [0, 0]), and the
 * library's ByteLevel post-processor drops the second sequence of a pair. Semantics follow
 * the Rust crate (`tokenizers/src/processors/`): without special tokens the sequences keep
 * their template type ids; RoBERTa gives every token type id 0; a pair without a template
 * gets type ids 0 then 1.
 */
import { fail } from '../errors.js';

export type TemplateItem =
  | { kind: 'special'; token: string; id: number; typeId: number }
  | { kind: 'sequence'; seq: 0 | 1; typeId: number };

export interface Template {
  single: TemplateItem[];
  pair: TemplateItem[];
  /** ByteLevel / RoBERTa `trim_offsets`: offsets leave out the whitespace a token starts or ends with. */
  trimOffsets: boolean;
}

type Json = Record<string, unknown>;

const DEFAULT: Template = {
  single: [{ kind: 'sequence', seq: 0, typeId: 0 }],
  pair: [
    { kind: 'sequence', seq: 0, typeId: 0 },
    { kind: 'sequence', seq: 1, typeId: 1 },
  ],
  trimOffsets: false,
};

/** Reads `post_processor` (null, TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence). */
export function templateFromJson(
  config: unknown,
  tokenToId: (token: string) => number | undefined,
  where: string,
): Template {
  if (config === null || config === undefined) return DEFAULT;
  const c = config as Json;
  const special = (token: string, typeId: number, id?: number): TemplateItem => {
    const found = id ?? tokenToId(token);
    if (found === undefined) fail('BAD_TOKENIZER', `post_processor uses the token "${token}", which is not in the vocabulary`, { where });
    return { kind: 'special', token, id: found, typeId };
  };
  const seq = (s: 0 | 1, typeId: number): TemplateItem => ({ kind: 'sequence', seq: s, typeId });
  switch (c.type) {
    case 'TemplateProcessing': {
      const specials = (c.special_tokens ?? {}) as Record<string, { ids?: number[]; tokens?: string[] }>;
      const parse = (items: unknown): TemplateItem[] =>
        ((items ?? []) as Json[]).flatMap((item): TemplateItem[] => {
          if ('Sequence' in item) {
            const s = item.Sequence as { id: string; type_id?: number };
            return [seq(s.id === 'B' ? 1 : 0, s.type_id ?? 0)];
          }
          if ('SpecialToken' in item) {
            const s = item.SpecialToken as { id: string; type_id?: number };
            const entry = specials[s.id];
            if (entry?.ids && entry.tokens && entry.ids.length === entry.tokens.length) {
              return entry.ids.map((id, k) => special(entry.tokens![k]!, s.type_id ?? 0, id));
            }
            return [special(s.id, s.type_id ?? 0)];
          }
          fail('BAD_TOKENIZER', `unknown TemplateProcessing item ${JSON.stringify(item)}`, { where });
        });
      const single = parse(c.single);
      return { single, pair: c.pair ? parse(c.pair) : [...single, seq(1, 1)], trimOffsets: false };
    }
    case 'BertProcessing': {
      const [cls, clsId] = c.cls as [string, number];
      const [sep, sepId] = c.sep as [string, number];
      return {
        single: [special(cls, 0, clsId), seq(0, 0), special(sep, 0, sepId)],
        pair: [special(cls, 0, clsId), seq(0, 0), special(sep, 0, sepId), seq(1, 1), special(sep, 1, sepId)],
        trimOffsets: false,
      };
    }
    case 'RobertaProcessing': {
      const [cls, clsId] = c.cls as [string, number];
      const [sep, sepId] = c.sep as [string, number];
      return {
        single: [special(cls, 0, clsId), seq(0, 0), special(sep, 0, sepId)],
        pair: [
          special(cls, 0, clsId), seq(0, 0), special(sep, 0, sepId),
          special(sep, 0, sepId), seq(1, 0), special(sep, 0, sepId),
        ],
        trimOffsets: c.trim_offsets === true,
      };
    }
    case 'ByteLevel':
      return { ...DEFAULT, trimOffsets: c.trim_offsets === true };
    case 'Sequence': {
      // ByteLevel only touches offsets; the last processor that places tokens decides the layout.
      const parts = ((c.processors ?? []) as unknown[]).map((p) => templateFromJson(p, tokenToId, where));
      const layout = [...parts].reverse().find((p) => p.single !== DEFAULT.single) ?? DEFAULT;
      return { ...layout, trimOffsets: parts.some((p) => p.trimOffsets) };
    }
    default:
      fail('BAD_TOKENIZER', `unsupported post_processor type "${String(c.type)}"`, {
        where,
        hint: 'Glassbox reads TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel and Sequence',
      });
  }
}

/** How many special tokens the template adds around one sequence, or a pair. */
export function specialCount(t: Template, pair: boolean): number {
  return (pair ? t.pair : t.single).filter((i) => i.kind === 'special').length;
}
