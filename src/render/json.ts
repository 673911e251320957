/**
 * The documented JSON form of an `Attribution`: what `glassbox explain --json` prints and what
 * other tools read. Plain data only (numbers, strings, booleans, null, arrays, objects), so
 * `JSON.parse(JSON.stringify(toJson(a)))` is the identity; non-finite numbers become null.
 * The format is described once, in `JSON_FORMAT_DOC`, which the README includes.
 */
import type { Attribution } from '../explain/types.js';

export const JSON_FORMAT = 'glassbox.attribution.v1';

export interface JsonOptions {
  /** Include `full`, the per-token, per-dimension values (gradient methods asked with `full`). */
  full?: boolean;
  /** Include `extra`, the method's own data (attention matrices can be large). */
  extra?: boolean;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Plain JSON data: non-finite numbers become null, -0 becomes 0, typed arrays arrays, undefined entries are dropped. */
export function toPlain(x: unknown): Json {
  if (x === null || x === undefined) return null;
  if (typeof x === 'number') return Number.isFinite(x) ? x + 0 : null; // x + 0 turns -0 into 0, as JSON does
  if (typeof x === 'string' || typeof x === 'boolean') return x;
  if (typeof x === 'bigint') return Number(x);
  if (Array.isArray(x)) return x.map(toPlain);
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) return Array.from(x as unknown as ArrayLike<number | bigint>, (v) => toPlain(v));
  if (typeof x === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(x)) if (v !== undefined && typeof v !== 'function') out[k] = toPlain(v);
    return out;
  }
  return String(x);
}

/**
 * The documented JSON object of an attribution (see `JSON_FORMAT_DOC`).
 *
 * @example
 * const a = await explain(model, { text: 'I loved this movie' }, { method: 'integrated-gradients' });
 * writeFileSync('ig.json', JSON.stringify(toJson(a), null, 2));
 */
export function toJson(a: Attribution, opts: JsonOptions = {}): Record<string, Json> {
  const out: Record<string, Json> = {
    format: JSON_FORMAT,
    method: a.method,
    text: a.text,
    tokens: a.tokens.map((t) => ({ text: t.text, id: t.id, start: t.start, end: t.end, special: t.special, typeId: t.typeId })),
    features: a.features.map((f) => ({ label: f.label, tokens: [...f.tokens] })),
    scores: toPlain(a.scores),
    target: toPlain({
      kind: a.target.kind,
      ids: a.target.ids,
      labels: a.target.labels,
      positions: a.target.positions,
      foil: a.target.foil,
      score: a.target.score,
      description: a.target.description,
    }),
    prediction: toPlain({ id: a.prediction.id, label: a.prediction.label, probability: a.prediction.probability }),
    at: a.at,
    settings: toPlain(a.settings),
    quality: toPlain(a.quality),
  };
  if (typeof a.quality.completenessDelta === 'number') out.delta = toPlain(a.quality.completenessDelta);
  if (opts.full && a.full) out.full = toPlain(a.full);
  if (opts.extra && a.extra) out.extra = toPlain(a.extra);
  return out;
}

/** Markdown for the README: the JSON format, key by key. */
export const JSON_FORMAT_DOC = `## JSON output

\`glassbox explain --format json\` and \`toJson(attribution)\` give one object per explanation. It is plain
JSON: non-finite numbers are written as \`null\`, and keys whose value is unknown are left out
(optional keys are marked below).

| key | type | meaning |
| --- | --- | --- |
| \`format\` | string | \`"${JSON_FORMAT}"\`; changes only when the format changes incompatibly |
| \`method\` | string | the attribution method, e.g. \`"integrated-gradients"\` |
| \`text\` | string \\| null | the input text; \`null\` when the input was token ids |
| \`tokens\` | array | one object per input token: \`text\` (the tokenizer's token string), \`id\`, \`start\` and \`end\` (UTF-16 indices into \`text\`; \`0, 0\` for added special tokens and id inputs), \`special\` (boolean), \`typeId\` (segment) |
| \`features\` | array | the units scored: \`label\` and \`tokens\` (indices into \`tokens\`). One per token by default; words or custom spans with \`--group\` |
| \`scores\` | number[] | one score per feature, in the order of \`features\`; positive values support the target |
| \`target\` | object | what is explained: \`kind\` (\`"class"\`, \`"next-token"\` or \`"continuation"\`), \`ids\`, \`labels\`, \`positions\` (language models: the positions whose logits are read), \`foil\` (\`{id, label}\` or \`null\`), \`score\` (\`"logit"\`, \`"prob"\` or \`"logprob"\`), \`description\` |
| \`prediction\` | object | the model's own top prediction: \`id\`, \`label\`, \`probability\` |
| \`at\` | string | where attributions were taken: \`"embed"\` (word-embedding output) or a hook name such as \`"blocks.3.hook_resid_pre"\` |
| \`settings\` | object | the method's settings as run (steps, baseline, seed, layer, head, ...) |
| \`quality\` | object | diagnostics, each optional: \`fx\` (f at the input), \`fBaseline\`, \`completenessDelta\` (integrated gradients: sum of attributions − (f(x) − f(baseline))), \`surrogateR2\` (LIME / KernelSHAP weighted R²), \`standardError\` (sampling methods: mean per-feature standard error); methods may add others |
| \`delta\` | number | optional: the completeness delta again, at the top level, when the method has one |
| \`full\` | number[][] | optional, only when asked (\`--full\`): per token and dimension of the attribution point, \`[token][dim]\` |
| \`faithfulness\` | object | optional, with \`--faithfulness\`: \`bins\` (top-k%), \`counts\`, \`p\`, \`comprehensiveness\` and \`sufficiency\` per bin, their means \`aopcComprehensiveness\` / \`aopcSufficiency\`, the same under \`random\` (rankings averaged), \`beatsRandom\`, \`baseline\` |
| \`extra\` | object | optional, only when asked: the method's own data, e.g. \`attentions\` (\`[layer][head][query][key]\`), \`rollout\` or \`matrix\` (\`[query][key]\`) for the attention methods |
`;
