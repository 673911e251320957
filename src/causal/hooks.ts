/**
 * Hook names as causal analyses read them: validation (an unknown name fails with the nearest
 * known ones), the axes of a hook's activation (which axis is the position, which the head),
 * the residual-stream hooks of each family, and `runWithCache`.
 *
 * Decision: components are named once here (`resid-pre`, `attn-out`, `head-out`, ...) and mapped
 * to TransformerLens hook names per layer, so every analysis (patching, tracing, head
 * importance) says "component at layer l" the same way. Post-LN encoders (BERT, DistilBERT) use
 * TransformerLens' BertBlock naming, where the block output is `ln2.hook_normalized`, so
 * `resid-post` maps there for them.
 */
import { fail } from '../errors.js';
import { prepareInput, type PreparedInput } from '../explain/target.js';
import type { ExplainInput } from '../explain/types.js';
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';
import type { HostTensor } from '../runtime/tensor.js';

/** Components an analysis can address per layer. */
export const COMPONENTS = ['resid-pre', 'resid-mid', 'resid-post', 'attn-out', 'mlp-out', 'head-out', 'head-q', 'head-k', 'head-v', 'head-pattern'] as const;
export type Component = (typeof COMPONENTS)[number];

/** Head components: one cell per head rather than per position. */
export const isHeadComponent = (c: Component): boolean => c.startsWith('head-');

/**
 * Post-LN encoders (BERT, RoBERTa, DistilBERT) have no final norm before the head; pre-norm
 * decoders (GPT-2, Llama) end in `ln_final`. The hook list says which a model is.
 */
export function isPostNorm(model: Model): boolean {
  return !model.hookNames.includes('ln_final.hook_normalized');
}

/** The input of block l (its residual stream before the block). */
export const blockInput = (l: number): string => `blocks.${l}.hook_resid_pre`;

/** The output of block l: `hook_resid_post` in pre-norm families, `ln2.hook_normalized` in post-LN encoders. */
export function blockOutput(model: Model, l: number): string {
  return isPostNorm(model) ? `blocks.${l}.ln2.hook_normalized` : `blocks.${l}.hook_resid_post`;
}

/** The hook a component reads at layer l. */
export function componentHook(model: Model, component: Component, l: number): string {
  const p = `blocks.${l}`;
  switch (component) {
    case 'resid-pre':
      return `${p}.hook_resid_pre`;
    case 'resid-mid':
      return `${p}.hook_resid_mid`;
    case 'resid-post':
      return blockOutput(model, l);
    case 'attn-out':
      return `${p}.hook_attn_out`;
    case 'mlp-out':
      return `${p}.hook_mlp_out`;
    case 'head-out':
      return `${p}.attn.hook_z`;
    case 'head-q':
      return `${p}.attn.hook_q`;
    case 'head-k':
      return `${p}.attn.hook_k`;
    case 'head-v':
      return `${p}.attn.hook_v`;
    case 'head-pattern':
      return `${p}.attn.hook_pattern`;
  }
}

export function checkComponent(c: string): Component {
  if (!(COMPONENTS as readonly string[]).includes(c)) fail('BAD_INPUT', `unknown component '${c}'`, { hint: `Components: ${COMPONENTS.join(', ')}` });
  return c as Component;
}

/** The layer of a `blocks.{l}.` hook, or null for hooks outside the blocks (embeddings, final norm). */
export function layerOf(hook: string): number | null {
  const m = /^blocks\.(\d+)\./.exec(hook);
  return m ? Number(m[1]) : null;
}

/** Levenshtein distance (for "did you mean"). */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The `k` known names nearest to `name`. */
export function similarNames(name: string, known: readonly string[], k = 5): string[] {
  return [...known].map((n) => [distance(name, n), n] as const).sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1])).slice(0, k).map(([, n]) => n);
}

/** Fail with UNKNOWN_TAP (and the nearest names) unless every name is a hook of this model. */
export function checkHooks(model: Model, names: readonly string[]): void {
  for (const name of names) {
    if (model.hookNames.includes(name)) continue;
    const l = layerOf(name);
    const hint =
      l !== null && l >= model.config.nLayers
        ? `This model has ${model.config.nLayers} layers (0..${model.config.nLayers - 1})`
        : `Similar hooks: ${similarNames(name, model.hookNames).join(', ')} (\`glassbox info --model ...\` lists them all)`;
    fail('UNKNOWN_TAP', `${model.arch.family} has no hook '${name}'`, { hint });
  }
}

/** Where positions and heads sit in a hook's activation (axes counted with the batch axis 0). */
export interface HookAxes {
  /** Position axis (the query axis of attention patterns and scores). */
  pos: number;
  /** Head axis, or null when the hook has none. */
  head: number | null;
  /** Number of heads on the head axis (key/value heads for k and v in grouped-query attention). */
  heads: number;
}

export function hookAxes(model: Model, hook: string): HookAxes {
  if (/\.attn\.hook_(pattern|attn_scores)$/.test(hook)) return { pos: 2, head: 1, heads: model.config.nHeads }; // [batch, head, query, key]
  const m = /\.attn\.hook_(q|k|v|z|rot_q|rot_k)$/.exec(hook); // [batch, pos, head, d_head]
  if (m) return { pos: 1, head: 2, heads: ['k', 'v', 'rot_k'].includes(m[1]) ? model.config.nKvHeads : model.config.nHeads };
  return { pos: 1, head: null, heads: 0 }; // [batch, pos, ...]
}

/** Fail unless every head index is in range for the hook. */
export function checkHeads(model: Model, hook: string, heads: readonly number[]): void {
  const ax = hookAxes(model, hook);
  if (ax.head === null) fail('BAD_INPUT', `hook '${hook}' has no head axis`, { hint: 'Heads apply to attn.hook_q|k|v|z|pattern|attn_scores' });
  for (const h of heads) {
    if (!Number.isInteger(h) || h < 0 || h >= ax.heads) {
      fail('BAD_INPUT', `head ${h} is out of range for '${hook}': this model has ${ax.heads} heads there (0..${ax.heads - 1})`);
    }
  }
}

export function checkPositions(positions: readonly number[], seq: number): void {
  for (const p of positions) {
    if (!Number.isInteger(p) || p < 0 || p >= seq) fail('BAD_INPUT', `position ${p} is outside the input (0..${seq - 1})`);
  }
}

export function checkLayers(model: Model, layers: readonly number[]): void {
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= model.config.nLayers) fail('BAD_INPUT', `layer ${l} is out of range: this model has ${model.config.nLayers} layers (0..${model.config.nLayers - 1})`);
  }
}

/** Model inputs for rows of one prepared input. */
export function rowsOf(p: { ids: number[]; typeIds: number[] }, n = 1) {
  return {
    inputIds: Array.from({ length: n }, () => p.ids),
    attentionMask: Array.from({ length: n }, () => p.ids.map(() => 1)),
    tokenTypeIds: Array.from({ length: n }, () => p.typeIds),
  };
}

export interface CacheOptions {
  /** Hook names to return (TransformerLens names: `blocks.3.attn.hook_z`); default: every hook. */
  names?: string[];
  executor?: Executor;
  signal?: AbortSignal;
}

export interface CacheResult {
  input: PreparedInput;
  /** The head's output for the input ([1, ...]). */
  logits: HostTensor;
  /** Every requested activation by hook name, with the batch axis ([1, pos, ...]). */
  cache: Record<string, HostTensor>;
}

/**
 * One forward pass that returns the requested activations by hook name (TransformerLens
 * `run_with_cache`).
 *
 * @example
 * const { cache } = await runWithCache(model, { text: 'The Eiffel Tower is in' }, { names: ['blocks.0.attn.hook_pattern'] });
 * cache['blocks.0.attn.hook_pattern'].dims; // [1, heads, pos, pos]
 */
export async function runWithCache(model: Model, input: ExplainInput, opts: CacheOptions = {}): Promise<CacheResult> {
  const names = opts.names ?? model.hookNames;
  checkHooks(model, names);
  const prepared = prepareInput(model, input);
  const { logits, captured } = await model.forward(rowsOf(prepared), { capture: [...new Set(names)], executor: opts.executor, signal: opts.signal });
  return { input: prepared, logits, cache: captured };
}
