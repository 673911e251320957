/**
 * Transformer building blocks on the graph builder, with TransformerLens tap names.
 * Architectures (models/) compose these; each block taps its activations so hooks work
 * the same on every family:
 *
 *   blocks.{l}.hook_resid_pre      [batch, pos, d_model]
 *   blocks.{l}.ln1.hook_normalized [batch, pos, d_model]
 *   blocks.{l}.attn.hook_q|k|v     [batch, pos, head, d_head]
 *   blocks.{l}.attn.hook_attn_scores [batch, head, query, key]  (scaled, masked, pre-softmax)
 *   blocks.{l}.attn.hook_pattern   [batch, head, query, key]
 *   blocks.{l}.attn.hook_z         [batch, pos, head, d_head]
 *   blocks.{l}.hook_attn_out       [batch, pos, d_model]
 *   blocks.{l}.hook_resid_mid      [batch, pos, d_model]
 *   blocks.{l}.ln2.hook_normalized [batch, pos, d_model]
 *   blocks.{l}.mlp.hook_pre|hook_post [batch, pos, d_mlp]
 *   blocks.{l}.hook_mlp_out        [batch, pos, d_model]
 *   blocks.{l}.hook_resid_post     [batch, pos, d_model]
 */
import type { DType } from '../graph/dtype.js';
import type { Graph, Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';

/** x [..., in] @ w [in, out] (+ b [out]). */
export function linear(x: Value, w: Value, b?: Value | null): Value {
  const y = op.matmul(x, w);
  return b ? op.add(y, b) : y;
}

/** A boolean [query, key] mask, true where key <= query (causal attention may look there). */
export function causalMask(g: Graph, seq: number): Value {
  const data = new Uint8Array(seq * seq);
  for (let q = 0; q < seq; q++) for (let k = 0; k <= q; k++) data[q * seq + k] = 1;
  return g.constant(data, [seq, seq], g.uniqueName(`causal_mask_${seq}`));
}

export interface AttentionWeights {
  wq: Value; bq?: Value | null; // [d_model, n_heads * d_head]
  wk: Value; bk?: Value | null;
  wv: Value; bv?: Value | null;
  wo: Value; bo?: Value | null; // [n_heads * d_head, d_model]
}

export interface AttentionOptions {
  nHeads: number;
  /** Boolean mask broadcastable to [batch, head, query, key]; false positions get `maskValue`. */
  mask?: Value | null;
  /** The fill value for masked scores (HF uses the dtype's most negative finite value). */
  maskValue?: number;
  /** Tap prefix, e.g. `blocks.3.attn`. */
  prefix: string;
}

const MOST_NEGATIVE: Record<DType, number> = { float32: -3.4028234663852886e38, float64: -1.7976931348623157e308, int64: 0, int32: 0, bool: 0 };

/** Multi-head self-attention (Vaswani et al. 2017), scores scaled by 1/sqrt(d_head). */
export function selfAttention(x: Value, w: AttentionWeights, opts: AttentionOptions): Value {
  const g = x.graph;
  const [batch, seq] = x.shape;
  const inner = w.wq.shape[1];
  const h = opts.nHeads;
  const dHead = inner / h;
  const t = (name: string, v: Value) => g.tap(`${opts.prefix}.${name}`, v);
  const heads = (v: Value) => op.reshape(v, [batch, seq, h, dHead]); // [batch, pos, head, d_head]
  const q = t('hook_q', heads(linear(x, w.wq, w.bq)));
  const k = t('hook_k', heads(linear(x, w.wk, w.bk)));
  const v = t('hook_v', heads(linear(x, w.wv, w.bv)));
  const qh = op.transpose(q, [0, 2, 1, 3]); // [batch, head, pos, d_head]
  const kT = op.transpose(k, [0, 2, 3, 1]); // [batch, head, d_head, pos]
  const vh = op.transpose(v, [0, 2, 1, 3]);
  let scores = op.mul(op.matmul(qh, kT), 1 / Math.sqrt(dHead)); // [batch, head, query, key]
  if (opts.mask) scores = op.where(opts.mask, scores, opts.maskValue ?? MOST_NEGATIVE[x.dtype]);
  scores = t('hook_attn_scores', scores);
  const pattern = t('hook_pattern', op.softmax(scores, -1));
  const z = t('hook_z', op.transpose(op.matmul(pattern, vh), [0, 2, 1, 3])); // [batch, pos, head, d_head]
  return linear(op.reshape(z, [batch, seq, inner]), w.wo, w.bo);
}

export interface MlpWeights {
  wIn: Value; bIn?: Value | null; // [d_model, d_mlp]
  wOut: Value; bOut?: Value | null; // [d_mlp, d_model]
}

export type Activation = 'gelu' | 'gelu_new' | 'relu' | 'silu';

export function activation(x: Value, kind: Activation): Value {
  switch (kind) {
    case 'gelu':
      return op.gelu(x);
    case 'gelu_new':
      return op.geluTanh(x);
    case 'relu':
      return op.relu(x);
    case 'silu':
      return op.silu(x);
  }
}

/** Two-layer MLP with taps `hook_pre` (before the activation) and `hook_post`. */
export function mlp(x: Value, w: MlpWeights, act: Activation, prefix: string): Value {
  const g = x.graph;
  const pre = g.tap(`${prefix}.hook_pre`, linear(x, w.wIn, w.bIn));
  const post = g.tap(`${prefix}.hook_post`, activation(pre, act));
  return linear(post, w.wOut, w.bOut);
}

export interface PreNormBlockWeights {
  ln1: { scale: Value; bias: Value | null };
  attn: AttentionWeights;
  ln2: { scale: Value; bias: Value | null };
  mlp: MlpWeights;
}

/**
 * A pre-norm (GPT-2 style) block: resid_mid = resid_pre + attn(ln1(resid_pre));
 * resid_post = resid_mid + mlp(ln2(resid_mid)).
 */
export function preNormBlock(
  resid: Value,
  w: PreNormBlockWeights,
  opts: { layer: number; nHeads: number; mask?: Value | null; act: Activation; eps: number },
): Value {
  const g = resid.graph;
  const p = `blocks.${opts.layer}`;
  return g.scope(p, () => {
    const pre = g.tap(`${p}.hook_resid_pre`, resid);
    const n1 = g.tap(`${p}.ln1.hook_normalized`, op.layerNorm(pre, w.ln1.scale, w.ln1.bias, -1, opts.eps));
    const attnOut = g.tap(`${p}.hook_attn_out`, selfAttention(n1, w.attn, { nHeads: opts.nHeads, mask: opts.mask, prefix: `${p}.attn` }));
    const mid = g.tap(`${p}.hook_resid_mid`, op.add(pre, attnOut));
    const n2 = g.tap(`${p}.ln2.hook_normalized`, op.layerNorm(mid, w.ln2.scale, w.ln2.bias, -1, opts.eps));
    const mlpOut = g.tap(`${p}.hook_mlp_out`, mlp(n2, w.mlp, opts.act, `${p}.mlp`));
    return g.tap(`${p}.hook_resid_post`, op.add(mid, mlpOut));
  });
}

/** Declare the weights of a pre-norm block as graph weights named `<prefix>.<part>`. */
export function declarePreNormBlock(g: Graph, prefix: string, dtype: DType, dModel: number, dMlp: number): PreNormBlockWeights {
  const W = (n: string, s: number[]) => g.weight(`${prefix}.${n}`, dtype, s);
  return {
    ln1: { scale: W('ln1.weight', [dModel]), bias: W('ln1.bias', [dModel]) },
    attn: {
      wq: W('attn.q.weight', [dModel, dModel]), bq: W('attn.q.bias', [dModel]),
      wk: W('attn.k.weight', [dModel, dModel]), bk: W('attn.k.bias', [dModel]),
      wv: W('attn.v.weight', [dModel, dModel]), bv: W('attn.v.bias', [dModel]),
      wo: W('attn.o.weight', [dModel, dModel]), bo: W('attn.o.bias', [dModel]),
    },
    ln2: { scale: W('ln2.weight', [dModel]), bias: W('ln2.bias', [dModel]) },
    mlp: { wIn: W('mlp.in.weight', [dModel, dMlp]), bIn: W('mlp.in.bias', [dMlp]), wOut: W('mlp.out.weight', [dMlp, dModel]), bOut: W('mlp.out.bias', [dModel]) },
  };
}
