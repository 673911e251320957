/**
 * The one list of attribution methods. The CLI (`glassbox explain --method`), the docs and the
 * contract tests enumerate it; a new method joins by adding a row here.
 */
import { fail } from '../errors.js';
import { attention, attentionRollout, attentionXGradient } from './attention.js';
import { inputXGradient, integratedGradients, saliency, smoothgrad, vargrad } from './gradient.js';
import { lime } from './lime.js';
import type { RegisteredMethod } from './method.js';
import { occlusion } from './occlusion.js';
import { partitionShap } from './partition.js';
import { kernelShap, shapley, shapleySamplingMethod } from './shap.js';

export const METHODS: Record<string, RegisteredMethod> = {
  saliency,
  'input-x-gradient': inputXGradient,
  'integrated-gradients': integratedGradients,
  smoothgrad,
  vargrad,
  attention,
  'attention-rollout': attentionRollout,
  'attention-x-gradient': attentionXGradient,
  occlusion,
  lime,
  'kernel-shap': kernelShap,
  shapley,
  'shapley-sampling': shapleySamplingMethod,
  'partition-shap': partitionShap,
};

/** Other names for methods: Captum's layer variants (used with --at) and occlusion's synonyms. */
export const ALIASES: Record<string, string> = {
  'gradient-x-activation': 'input-x-gradient',
  'layer-integrated-gradients': 'integrated-gradients',
  'feature-ablation': 'occlusion',
  'leave-one-out': 'occlusion',
};

export function getMethod(name: string): RegisteredMethod {
  const m = METHODS[ALIASES[name] ?? name];
  if (!m) fail('BAD_INPUT', `unknown method '${name}'`, { hint: `Methods: ${[...Object.keys(METHODS), ...Object.keys(ALIASES)].join(', ')}` });
  return m;
}
