/**
 * Inputs and targets: tokenize the text (or take ids), resolve what is explained against the
 * model (class index or label; next token at a position; a teacher-forced continuation; a
 * contrastive foil, as Inseq's contrast_prob_diff / contrast_logits_diff), and group tokens
 * into features.
 */
import { fail } from '../errors.js';
import type { Model } from '../models/model.js';
import type { ExplainInput, ExplainOptions, Feature, Prediction, ScoreKind, Target, Token } from './types.js';

export interface PreparedInput {
  text: string | null;
  tokens: Token[];
  ids: number[];
  typeIds: number[];
}

export function prepareInput(model: Model, input: ExplainInput, opts: { truncate?: boolean } = {}): PreparedInput {
  if (input.ids) {
    if (input.ids.length === 0) fail('BAD_INPUT', 'empty input: no token ids');
    const typeIds = input.typeIds ?? input.ids.map(() => 0);
    const tokens = input.ids.map((id, i) => ({ id, text: model.tokenizer?.idToToken(id) ?? String(id), start: 0, end: 0, special: false, typeId: typeIds[i] ?? 0 }));
    return { text: null, tokens, ids: [...input.ids], typeIds };
  }
  if (input.text === undefined) fail('BAD_INPUT', 'no input: give a text or token ids');
  const tok = model.tokenizer;
  if (!tok) fail('BAD_TOKENIZER', `${model.folder} has no tokenizer.json, so a text cannot be used`, { hint: 'Give token ids instead (--input-ids)' });
  const enc = tok.encode(input.text, { pair: input.pair, maxLength: model.config.maxPositions, truncation: opts.truncate ?? false });
  const tokens = enc.ids.map((id, i) => ({ id, text: enc.tokens[i], start: enc.offsets[i][0], end: enc.offsets[i][1], special: enc.specialMask[i], typeId: enc.typeIds[i] }));
  return { text: input.text, tokens, ids: enc.ids, typeIds: enc.typeIds };
}

function softmax(x: ArrayLike<number>): number[] {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]);
  const e = Array.from(x, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** A token id from a number or a string that must be exactly one token. */
function singleToken(model: Model, t: number | string, what: string): number {
  if (typeof t === 'number' || /^\d+$/.test(String(t))) {
    const id = Number(t);
    if (!Number.isInteger(id) || id < 0 || id >= model.config.vocabSize) fail('BAD_INPUT', `${what} token id ${t} is outside the vocabulary (0..${model.config.vocabSize - 1})`);
    return id;
  }
  const tok = model.tokenizer;
  if (!tok) fail('BAD_TOKENIZER', `${what} '${t}' needs a tokenizer; give a token id instead`);
  const direct = tok.tokenToId(t);
  if (direct !== undefined) return direct;
  const ids = tok.encode(t, { addSpecialTokens: false }).ids;
  if (ids.length !== 1) {
    fail('BAD_INPUT', `${what} '${t}' is ${ids.length} tokens (${ids.join(', ')}), not a single token`, {
      hint: 'Give a token id, or use a continuation target for several tokens',
    });
  }
  return ids[0];
}

const tokenLabel = (model: Model, id: number) => model.tokenizer?.decode([id]) ?? String(id);

/**
 * Resolve the target. For language models a continuation is appended to the input (teacher
 * forcing), so `input` may grow; the returned PreparedInput is what to attribute.
 */
export function resolveTarget(
  model: Model,
  input: PreparedInput,
  logits: Float32Array,
  spec: ExplainOptions,
): { input: PreparedInput; target: Target; prediction: Prediction } {
  const score: ScoreKind = spec.score ?? (spec.continuation !== undefined ? 'logprob' : 'logit');
  if (model.head === 'sequence_classification') {
    if (spec.continuation !== undefined) fail('BAD_INPUT', 'a continuation target needs a language model; this model is a classifier');
    const n = model.config.numLabels;
    const probs = softmax(logits);
    const top = argmax(logits);
    const prediction = { id: top, label: model.config.id2label[top], probability: probs[top] };
    const cls = (t: number | string, what: string): number => {
      if (typeof t === 'number' || /^\d+$/.test(String(t))) {
        const i = Number(t);
        if (i < 0 || i >= n) fail('BAD_INPUT', `${what} class ${t} is out of range: this model has ${n} classes (0..${n - 1})`);
        return i;
      }
      const found = Object.entries(model.config.id2label).find(([, v]) => v.toLowerCase() === String(t).toLowerCase());
      if (!found) fail('BAD_INPUT', `${what} '${t}' is not a label of this model`, { hint: `Labels: ${Object.values(model.config.id2label).join(', ')}` });
      return Number(found[0]);
    };
    const id = spec.target === undefined ? top : cls(spec.target, 'target');
    const foil = spec.foil === undefined ? null : { id: cls(spec.foil, 'foil'), label: '' };
    if (foil) foil.label = model.config.id2label[foil.id];
    const label = model.config.id2label[id];
    return {
      input,
      prediction,
      target: { kind: 'class', ids: [id], labels: [label], positions: [], foil, score, description: `class ${label}${foil ? ` minus ${foil.label}` : ''} (${score})` },
    };
  }
  if (model.head === 'base') fail('BAD_INPUT', `${model.className} has no head to explain`, { hint: 'Load a model with a classification or language-model head' });

  const V = model.config.vocabSize;
  const S = input.ids.length;
  if (spec.continuation !== undefined) {
    const tok = model.tokenizer;
    const cont = typeof spec.continuation === 'string' ? (tok ? tok.encode(spec.continuation, { addSpecialTokens: false }).ids : fail('BAD_TOKENIZER', 'a text continuation needs a tokenizer')) : spec.continuation;
    if (cont.length === 0) fail('BAD_INPUT', 'the continuation is empty');
    if (model.head === 'masked_lm') fail('BAD_INPUT', 'continuations need a causal language model, not a masked one');
    const ids = [...input.ids, ...cont];
    if (ids.length > model.config.maxPositions) fail('BAD_INPUT', `input plus continuation is ${ids.length} tokens, more than the model's ${model.config.maxPositions}`);
    const enc = tok && typeof spec.continuation === 'string' ? tok.encode(spec.continuation, { addSpecialTokens: false }) : null;
    const base = input.text?.length ?? 0;
    const extra: Token[] = cont.map((id, i) => ({
      id,
      text: enc?.tokens[i] ?? tok?.idToToken(id) ?? String(id),
      start: enc ? base + enc.offsets[i][0] : 0,
      end: enc ? base + enc.offsets[i][1] : 0,
      special: false,
      typeId: 0,
    }));
    const grown: PreparedInput = { text: input.text !== null && typeof spec.continuation === 'string' ? input.text + spec.continuation : input.text, tokens: [...input.tokens, ...extra], ids, typeIds: ids.map(() => 0) };
    const positions = cont.map((_, i) => S - 1 + i);
    const last = logits.subarray((S - 1) * V, S * V);
    const probs = softmax(last);
    const top = argmax(last);
    const foil = spec.foil === undefined ? null : { id: singleToken(model, spec.foil, 'foil'), label: '' };
    if (foil) foil.label = tokenLabel(model, foil.id);
    return {
      input: grown,
      prediction: { id: top, label: tokenLabel(model, top), probability: probs[top] },
      target: {
        kind: 'continuation',
        ids: cont,
        labels: cont.map((id) => tokenLabel(model, id)),
        positions,
        foil,
        score,
        description: `continuation ${JSON.stringify(cont.map((id) => tokenLabel(model, id)).join(''))} (sum of ${score})`,
      },
    };
  }
  let position = spec.position ?? (model.head === 'masked_lm' ? input.ids.findIndex((id) => id === model.tokenizer?.maskId) : S - 1);
  if (position < 0) {
    if (model.head === 'masked_lm') fail('BAD_INPUT', 'a masked language model needs a mask token in the text to explain', { hint: 'Put the mask token where a word should be predicted, or pass a position' });
    position += S;
  }
  if (!Number.isInteger(position) || position < 0 || position >= S) fail('BAD_INPUT', `position ${spec.position} is outside the input (0..${S - 1})`);
  const row = logits.subarray(position * V, (position + 1) * V);
  const probs = softmax(row);
  const top = argmax(row);
  const id = spec.target === undefined ? top : singleToken(model, spec.target, 'target');
  const foil = spec.foil === undefined ? null : { id: singleToken(model, spec.foil, 'foil'), label: '' };
  if (foil) foil.label = tokenLabel(model, foil.id);
  const label = tokenLabel(model, id);
  return {
    input,
    prediction: { id: top, label: tokenLabel(model, top), probability: probs[top] },
    target: {
      kind: 'next-token',
      ids: [id],
      labels: [label],
      positions: [position],
      foil,
      score,
      description: `${model.head === 'masked_lm' ? 'token at' : 'next token after'} position ${position}: ${JSON.stringify(label)}${foil ? ` minus ${JSON.stringify(foil.label)}` : ''} (${score})`,
    },
  };
}

/** Group tokens into features: one per token, per word (subword pieces merged), or custom spans. */
export function groupFeatures(input: PreparedInput, group: ExplainOptions['group'] = 'tokens'): Feature[] {
  const { tokens, text } = input;
  if (group === 'tokens') return tokens.map((t, i) => ({ label: t.text, tokens: [i] }));
  if (group === 'words') {
    const out: Feature[] = [];
    tokens.forEach((t, i) => {
      const prev = out[out.length - 1];
      const prevTok = prev ? tokens[prev.tokens[prev.tokens.length - 1]] : null;
      // A piece continues the previous word when its span starts where the previous one
      // ended, both sides are word characters (so punctuation stays its own feature) and it
      // does not start with whitespace (BPE's leading space marks a new word).
      const continues =
        prevTok && !t.special && !prevTok.special && t.end > t.start && prevTok.end === t.start && text !== null && /^\w/.test(text.slice(t.start, t.end)) && /\w$/.test(text.slice(prevTok.start, prevTok.end));
      if (continues) {
        prev.tokens.push(i);
        prev.label = text!.slice(tokens[prev.tokens[0]].start, t.end);
      } else out.push({ label: text && t.end > t.start ? text.slice(t.start, t.end).trim() || t.text : t.text, tokens: [i] });
    });
    return out;
  }
  const covered = new Set<number>();
  return group.spans.map(([a, b], k) => {
    if (!(Number.isInteger(a) && Number.isInteger(b) && 0 <= a && a < b && b <= tokens.length)) fail('BAD_INPUT', `span [${a}, ${b}) is not inside the ${tokens.length} tokens`);
    const idx = Array.from({ length: b - a }, (_, i) => a + i);
    for (const i of idx) {
      if (covered.has(i)) fail('BAD_INPUT', `token ${i} is in two spans`);
      covered.add(i);
    }
    return { label: group.labels?.[k] ?? tokens.slice(a, b).map((t) => t.text).join(' '), tokens: idx };
  });
}
