/**
 * `defineMethod`: turns a method's core (which sees a ready scorer and features) into the
 * public `(model, input, options) => Attribution` function. Preparation is the same for every
 * method: tokenize, one forward pass for the prediction, resolve the target, build the scorer,
 * group features; and so is the result assembly.
 */
import { fail } from '../errors.js';
import type { Model } from '../models/model.js';
import { defaultExecutor } from '../runtime/index.js';
import { createScorer, hookFor, type Scorer } from './scorer.js';
import { groupFeatures, prepareInput, resolveTarget, type PreparedInput } from './target.js';
import type { Attribution, AttributionMethod, ExplainInput, ExplainOptions, Feature, Prediction, Quality } from './types.js';

export interface MethodContext {
  model: Model;
  scorer: Scorer;
  input: PreparedInput;
  features: Feature[];
  prediction: Prediction;
  options: ExplainOptions;
}

export interface MethodOutput {
  /** Per-token scores (summed into features by defineMethod), or per-feature scores. */
  tokenScores?: number[];
  featureScores?: number[];
  /** [token][dim] */
  full?: number[][];
  quality?: Quality;
  settings?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  /** Overrides the features (e.g. a method that attributes to generated tokens too). */
  features?: Feature[];
}

export interface MethodSpec {
  name: string;
  /** One line for `--help` and the docs. */
  summary: string;
  /** Needs gradients (a model graph that can be differentiated). */
  gradients: boolean;
  /** Where the method can attribute: 'any' hook, or only the embeddings. */
  at: 'any' | 'embed';
  run(ctx: MethodContext): Promise<MethodOutput>;
}

export interface RegisteredMethod extends AttributionMethod {
  spec: MethodSpec;
}

/** Per-token sums of a [seq, ...] per-dimension tensor. */
export function sumPerToken(values: Float32Array | Float64Array, seq: number): number[] {
  const per = values.length / seq;
  const out: number[] = [];
  for (let t = 0; t < seq; t++) {
    let s = 0;
    for (let j = 0; j < per; j++) s += values[t * per + j];
    out.push(s);
  }
  return out;
}

export function toRows(values: Float32Array | Float64Array, seq: number): number[][] {
  const per = values.length / seq;
  return Array.from({ length: seq }, (_, t) => Array.from(values.subarray(t * per, (t + 1) * per)));
}

export async function prepare(model: Model, input: ExplainInput, options: ExplainOptions, spec?: MethodSpec): Promise<MethodContext> {
  const executor = options.executor ?? defaultExecutor();
  const at = options.at ?? 'embed';
  if (spec && spec.at === 'embed' && at !== 'embed') fail('BAD_INPUT', `method ${spec.name} attributes to input tokens only; --at is not supported for it`);
  const prepared = prepareInput(model, input);
  // One forward pass gives the prediction and, when the hook exists, the value the scorer starts
  // from (an unknown hook is reported by createScorer, with the list of hooks).
  const hook = hookFor(at);
  const capture = model.hookNames.includes(hook) ? [hook] : [];
  const plain = await model.forward({ inputIds: [prepared.ids], attentionMask: [prepared.ids.map(() => 1)], tokenTypeIds: [prepared.typeIds] }, { capture, executor, signal: options.signal });
  const { input: resolved, target, prediction } = resolveTarget(model, prepared, plain.logits.data as Float32Array, options);
  // A continuation target appends tokens: then the scorer runs its own forward pass.
  const precomputed = resolved === prepared ? plain : undefined;
  const scorer = await createScorer(model, resolved, target, { at, executor, batchSize: options.batchSize, signal: options.signal, onProgress: options.onProgress, precomputed });
  return { model, scorer, input: resolved, features: groupFeatures(resolved, options.group), prediction, options };
}

export function defineMethod(spec: MethodSpec): RegisteredMethod {
  const fn = async (model: Model, input: ExplainInput, options: ExplainOptions): Promise<Attribution> => {
    const ctx = await prepare(model, input, options, spec);
    const out = await spec.run(ctx);
    const features = out.features ?? ctx.features;
    const scores = out.featureScores ?? features.map((f) => f.tokens.reduce((s, i) => s + out.tokenScores![i], 0));
    return {
      method: spec.name,
      text: ctx.input.text,
      tokens: ctx.input.tokens,
      features,
      scores,
      full: options.full ? out.full : undefined,
      target: ctx.scorer.target,
      prediction: ctx.prediction,
      at: options.at ?? 'embed',
      settings: { ...out.settings, at: options.at ?? 'embed', target: ctx.scorer.target.description },
      quality: { fx: ctx.scorer.fx, ...out.quality },
      extra: out.extra,
    };
  };
  return Object.assign(fn, { spec });
}
