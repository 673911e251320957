/**
 * Direct logit attribution (Elhage et al. 2021, "A Mathematical Framework for Transformer
 * Circuits"; TransformerLens ActivationCache.decompose_resid / stack_head_results /
 * apply_ln_to_stack / logit_attrs): the final residual stream of a pre-norm model is a sum of
 * what each part wrote into it,
 *
 *   x = embed (+ pos_embed) + Σ_l Σ_h (z_{l,h} · W_O^{l,h} + b_O^l / H) + Σ_l mlp_out_l
 *
 * (each layer's attention bias b_O shared equally among its heads), and the final norm is
 * LN(x) = γ ⊙ (x − mean x) / s + β with s = sqrt(var x + ε) (RMSNorm: γ ⊙ x / sqrt(mean x² + ε),
 * no centering, no β). Freezing s at the final stream's value (apply_ln_to_stack) makes the norm
 * linear, so with the unembedding direction u = W_U[target] (− W_U[foil])
 *
 *   logit(target) (− logit(foil)) = Σ_pieces γ ⊙ centre(piece) / s · u  +  β · u
 *
 * The pieces sum to the logit (difference) up to the norm's bias term β · u, which is reported
 * separately (zero for RMSNorm). `reconstruction` checks that the pieces sum to the stream.
 *
 * Post-LN encoders (BERT, DistilBERT) renormalise the whole stream after every block, so no
 * frozen scale makes earlier pieces add up to the logits: they are refused with an explanation.
 */
import { fail } from '../errors.js';
import { prepareInput } from '../explain/target.js';
import type { ExplainInput } from '../explain/types.js';
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';
import type { HostTensor } from '../runtime/tensor.js';
import { floats } from './engine.js';
import { isPostNorm, rowsOf } from './hooks.js';
import { type CausalTarget, resolveCausalTarget, targetRow, type TargetOptions, tokenLabels } from './target.js';

/** Where a pre-norm family keeps the weights DLA reads (state_dict names). */
interface DlaWeights {
  /** Attention output projection of layer l and its layout: [H·d_head, d] ('in_out', GPT-2 Conv1D) or [d, H·d_head] ('out_in', torch Linear). */
  wO: (l: number) => { weight: string; bias: string | null; layout: 'in_out' | 'out_in' };
  norm: { kind: 'layer' | 'rms'; weight: string; bias: string | null; epsKey: string; epsDefault: number };
  /** Unembedding rows [vocab or classes, d] by head class. */
  unembed: (model: Model) => string;
}

const FAMILIES: Record<string, DlaWeights> = {
  gpt2: {
    wO: (l) => ({ weight: `transformer.h.${l}.attn.c_proj.weight`, bias: `transformer.h.${l}.attn.c_proj.bias`, layout: 'in_out' }),
    norm: { kind: 'layer', weight: 'transformer.ln_f.weight', bias: 'transformer.ln_f.bias', epsKey: 'layer_norm_epsilon', epsDefault: 1e-5 },
    unembed: (m) => (m.head === 'sequence_classification' ? 'score.weight' : 'lm_head.weight'),
  },
  llama: {
    wO: (l) => ({ weight: `model.layers.${l}.self_attn.o_proj.weight`, bias: `model.layers.${l}.self_attn.o_proj.bias`, layout: 'out_in' }),
    norm: { kind: 'rms', weight: 'model.norm.weight', bias: null, epsKey: 'rms_norm_eps', epsDefault: 1e-6 },
    unembed: () => 'lm_head.weight',
  },
};
FAMILIES.mistral = FAMILIES.llama;
FAMILIES.qwen2 = FAMILIES.llama;

export interface DlaOptions extends TargetOptions {
  executor?: Executor;
  signal?: AbortSignal;
}

export interface DlaPiece {
  label: string;
  kind: 'embed' | 'pos_embed' | 'head' | 'mlp';
  layer?: number;
  head?: number;
  value: number;
}

export interface DlaResult {
  method: 'direct-logit-attribution';
  tokens: string[];
  target: CausalTarget;
  /** The position whose residual stream is decomposed. */
  position: number;
  pieces: DlaPiece[];
  /** [layer][head] and [layer] views of the pieces. */
  heads: number[][];
  mlp: number[];
  /** β · u, the final norm's bias along the direction (0 for RMSNorm). */
  normBias: number;
  /** Σ pieces + normBias, and the model's logit (difference): they agree up to float rounding. */
  total: number;
  logit: number;
  /** max |Σ pieces − final residual| over d_model (a self-check of the decomposition). */
  reconstruction: number;
}

/**
 * Direct logit attribution of the target's logit (or target − foil) at its position.
 *
 * @example
 * const dla = await directLogitAttribution(model, { text: 'The Eiffel Tower is in' }, { target: ' Paris', foil: ' Rome' });
 * dla.heads[9][6]; // what head 9.6 writes along W_U[Paris] − W_U[Rome]
 */
export async function directLogitAttribution(model: Model, input: ExplainInput, opts: DlaOptions = {}): Promise<DlaResult> {
  if (isPostNorm(model)) {
    fail('BAD_INPUT', `direct logit attribution does not apply to ${model.arch.family}: it is a post-LN encoder, whose LayerNorm after every block rescales and recentres the whole residual stream, so the final stream is not a sum of what each head and MLP wrote`, {
      hint: 'Use activation patching (glassbox patch) or head ablation (glassbox heads) to locate the components that matter',
    });
  }
  const fam = FAMILIES[model.config.modelType] ?? fail('UNSUPPORTED_MODEL', `direct logit attribution has no weight map for model_type '${model.config.modelType}'`);
  if (model.head === 'base') fail('BAD_INPUT', `${model.className} has no head, so there is no logit to decompose`);
  const { nLayers: L, nHeads: H, dHead, dModel: D } = model.config;
  const prepared = prepareInput(model, input);
  const hasPos = model.hookNames.includes('hook_pos_embed');
  const capture = ['hook_embed', ...(hasPos ? ['hook_pos_embed'] : []), `blocks.${L - 1}.hook_resid_post`];
  for (let l = 0; l < L; l++) capture.push(`blocks.${l}.attn.hook_z`, `blocks.${l}.hook_mlp_out`);
  const { logits, captured } = await model.forward(rowsOf(prepared), { capture, executor: opts.executor, signal: opts.signal });
  const target = resolveCausalTarget(model, prepared, logits, opts);
  const S = prepared.ids.length;
  // Classifiers read the last real token (GPT-2's pooling); language models the target's position.
  const p = target.position ?? S - 1;
  const at = (t: HostTensor, width: number) => floats(t).subarray(p * width, (p + 1) * width);

  const pieces: { label: string; kind: DlaPiece['kind']; layer?: number; head?: number; v: Float64Array }[] = [];
  pieces.push({ label: 'embed', kind: 'embed', v: Float64Array.from(at(captured.hook_embed, D)) });
  if (hasPos) pieces.push({ label: 'pos_embed', kind: 'pos_embed', v: Float64Array.from(at(captured.hook_pos_embed, D)) });
  const w = (name: string) => floats(model.weights[name] ?? fail('BAD_WEIGHTS', `direct logit attribution needs weight '${name}'`));
  for (let l = 0; l < L; l++) {
    const o = fam.wO(l);
    const W = w(o.weight);
    const b = o.bias && model.weights[o.bias] ? floats(model.weights[o.bias]) : null;
    const z = at(captured[`blocks.${l}.attn.hook_z`], H * dHead); // [H, d_head]
    for (let h = 0; h < H; h++) {
      const v = new Float64Array(D);
      for (let j = 0; j < dHead; j++) {
        const zj = z[h * dHead + j];
        const row = h * dHead + j;
        if (o.layout === 'in_out') for (let d = 0; d < D; d++) v[d] += zj * W[row * D + d];
        else for (let d = 0; d < D; d++) v[d] += zj * W[d * H * dHead + row];
      }
      if (b) for (let d = 0; d < D; d++) v[d] += b[d] / H;
      pieces.push({ label: `L${l}H${h}`, kind: 'head', layer: l, head: h, v });
    }
    pieces.push({ label: `L${l} MLP`, kind: 'mlp', layer: l, v: Float64Array.from(at(captured[`blocks.${l}.hook_mlp_out`], D)) });
  }

  // The final stream, its norm scale, and the direction u = γ ⊙ (W_U[t] − W_U[f]).
  const x = at(captured[`blocks.${L - 1}.hook_resid_post`], D);
  const eps = typeof model.config.raw[fam.norm.epsKey] === 'number' ? (model.config.raw[fam.norm.epsKey] as number) : fam.norm.epsDefault;
  const centre = fam.norm.kind === 'layer';
  const mean = (v: ArrayLike<number>) => {
    if (!centre) return 0;
    let s = 0;
    for (let d = 0; d < D; d++) s += v[d];
    return s / D;
  };
  const mx = mean(x);
  let ss = 0;
  for (let d = 0; d < D; d++) ss += (x[d] - mx) ** 2;
  const scale = Math.sqrt(ss / D + eps);
  const gamma = w(fam.norm.weight);
  const U = w(fam.unembed(model));
  const u = new Float64Array(D);
  for (let d = 0; d < D; d++) u[d] = gamma[d] * (U[target.id * D + d] - (target.foil ? U[target.foil.id * D + d] : 0));
  const beta = fam.norm.bias && model.weights[fam.norm.bias] ? floats(model.weights[fam.norm.bias]) : null;
  let normBias = 0;
  if (beta) for (let d = 0; d < D; d++) normBias += beta[d] * (U[target.id * D + d] - (target.foil ? U[target.foil.id * D + d] : 0));

  const out: DlaPiece[] = pieces.map((q) => {
    const m = mean(q.v);
    let s = 0;
    for (let d = 0; d < D; d++) s += (q.v[d] - m) * u[d];
    return { label: q.label, kind: q.kind, layer: q.layer, head: q.head, value: s / scale };
  });
  let reconstruction = 0;
  for (let d = 0; d < D; d++) reconstruction = Math.max(reconstruction, Math.abs(pieces.reduce((s, q) => s + q.v[d], 0) - x[d]));
  const row = targetRow(logits, target);
  const logit = row[target.id] - (target.foil ? row[target.foil.id] : 0);
  const heads = Array.from({ length: L }, (_, l) => out.filter((q) => q.kind === 'head' && q.layer === l).map((q) => q.value));
  const mlp = out.filter((q) => q.kind === 'mlp').map((q) => q.value);
  return {
    method: 'direct-logit-attribution',
    tokens: tokenLabels(prepared),
    target,
    position: p,
    pieces: out,
    heads,
    mlp,
    normBias,
    total: out.reduce((s, q) => s + q.value, 0) + normBias,
    logit,
    reconstruction,
  };
}
