/**
 * `explain(model, input, options)`: run one attribution method by name.
 *
 * @example
 * const a = await explain(model, { text: 'I loved this movie' }, { method: 'integrated-gradients', steps: 50 });
 * a.scores;                     // one per token
 * a.quality.completenessDelta;  // sum of attributions - (f(x) - f(baseline))
 */
import type { Model } from '../models/model.js';
import { getMethod } from './registry.js';
import type { Attribution, ExplainInput, ExplainOptions } from './types.js';

export async function explain(model: Model, input: ExplainInput, options: ExplainOptions): Promise<Attribution> {
  return getMethod(options.method)(model, input, options);
}
