/**
 * Generation mode: greedily continue a prompt by N tokens, then attribute each generated
 * token to the prompt and the tokens generated before it — a matrix with one row per
 * generated token (as Inseq's attribution of generated sequences). Row j is an ordinary
 * attribution of the next-token target at position S + j − 1 of prompt + generated[:j].
 */
import { fail } from '../errors.js';
import { compile, runProgram } from '../engine/program.js';
import type { Model } from '../models/model.js';
import { defaultExecutor } from '../runtime/index.js';
import { explain } from './explain.js';
import { prepareInput } from './target.js';
import type { Attribution, ExplainInput, ExplainOptions } from './types.js';

/** Greedy continuation: N times, the arg-max next token (the LM head runs at the last position only). */
export async function greedy(model: Model, ids: number[], n: number, opts: { signal?: AbortSignal; eosId?: number | null } = {}): Promise<number[]> {
  const out: number[] = [];
  const seqIds = [...ids];
  for (let k = 0; k < n; k++) {
    if (opts.signal?.aborted) fail('CANCELLED', `generation cancelled after ${k} tokens`);
    if (seqIds.length >= model.config.maxPositions) break;
    const { graph } = model.buildGraph(1, seqIds.length, { headPositions: [seqIds.length - 1] });
    const feeds = model.feeds({ inputIds: [seqIds], attentionMask: [seqIds.map(() => 1)] });
    const { logits } = await runProgram(defaultExecutor(), compile(graph), { ...model.weights, ...feeds }, { signal: opts.signal });
    const row = logits.data as Float32Array;
    let best = 0;
    for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
    out.push(best);
    seqIds.push(best);
    if (opts.eosId !== undefined && opts.eosId !== null && best === opts.eosId) break;
  }
  return out;
}

export interface GenerationAttribution {
  /** Prompt tokens then generated tokens (labels). */
  tokens: string[];
  promptLength: number;
  generated: { id: number; label: string }[];
  /** [generated j][token i]: attribution of generated token j to token i (0 for i >= promptLength + j). */
  matrix: number[][];
  rows: Attribution[];
}

export async function explainGeneration(model: Model, input: ExplainInput, n: number, options: ExplainOptions): Promise<GenerationAttribution> {
  if (model.head !== 'causal_lm') fail('BAD_INPUT', `--generate needs a causal language model; ${model.className} is a ${model.head.replace('_', ' ')} model`);
  if (!Number.isInteger(n) || n < 1) fail('BAD_INPUT', `--generate needs a positive number of tokens, got ${n}`);
  const prompt = prepareInput(model, input);
  const gen = await greedy(model, prompt.ids, n, { signal: options.signal, eosId: model.tokenizer?.eosId });
  const all = [...prompt.ids, ...gen];
  const label = (id: number) => model.tokenizer?.decode([id]) ?? String(id);
  const rows: Attribution[] = [];
  for (let j = 0; j < gen.length; j++) {
    const ids = all.slice(0, prompt.ids.length + j);
    const a = await explain(model, { ids, typeIds: ids.map(() => 0) }, { ...options, target: gen[j], position: ids.length - 1, continuation: undefined });
    rows.push(a);
    options.onProgress?.({ done: j + 1, total: gen.length, stage: 'generation' });
  }
  const width = all.length - 1;
  const matrix = rows.map((a) => Array.from({ length: width }, (_, i) => a.features.reduce((s, f, k) => (f.tokens.includes(i) ? s + a.scores[k] : s), 0)));
  const tokens = [...prompt.tokens.map((t) => t.text), ...gen.map(label)].slice(0, width);
  return { tokens, promptLength: prompt.ids.length, generated: gen.map((id) => ({ id, label: label(id) })), matrix, rows };
}
