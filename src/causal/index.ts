/**
 * Causal analysis: hooks and interventions, activation and attribution patching, causal
 * tracing, the logit lens, direct logit attribution, head ablation and counterfactuals. Every
 * method is a plain async function `(model, input, options) => result`; each result carries
 * its own reference values (clean, corrupted, base) and the renderers live in the CLI.
 */
export { runWithCache, checkHooks, componentHook, blockOutput, COMPONENTS, type Component, type CacheOptions, type CacheResult } from './hooks.js';
export { runRows, type Operand, type Edit, type RowsSpec } from './engine.js';
export { runWithHooks, type Intervention, type Where, type HooksOptions, type HooksResult } from './interventions.js';
export { METRICS, type Metric, type CausalTarget, type TargetOptions } from './target.js';
export {
  activationPatching,
  attributionPatching,
  patchResidPre,
  patchResidMid,
  patchResidPost,
  patchAttnOut,
  patchMlpOut,
  patchHeadOut,
  patchHeadQ,
  patchHeadK,
  patchHeadV,
  patchHeadPattern,
  pearson,
  type PatchingOptions,
  type AttributionPatchingOptions,
  type PatchingResult,
} from './patching.js';
export { causalTrace, findSubject, traceWindow, type TraceOptions, type TraceResult, type TraceKind } from './tracing.js';
export { logitLens, type LensOptions, type LensResult, type LensToken } from './lens.js';
export { directLogitAttribution, type DlaOptions, type DlaResult, type DlaPiece } from './dla.js';
export { headImportance, type HeadImportanceOptions, type HeadImportanceResult } from './heads.js';
export { counterfactual, type CounterfactualOptions, type CounterfactualResult, type CounterfactualEdit } from './counterfactual.js';
