/**
 * Pieces every architecture family shares: config readers that name the missing key,
 * linear layers in both weight layouts, the attention mask from the padding mask, the
 * attention core with TransformerLens taps, and host-side position ids.
 */
import { fail } from '../errors.js';
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import type { BuildContext, ModelConfig } from './types.js';

// ---------------------------------------------------------------------------------------
// config.json readers

export function num(raw: Record<string, unknown>, keys: string | string[], fallback?: number): number {
  for (const k of Array.isArray(keys) ? keys : [keys]) {
    const v = raw[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  if (fallback !== undefined) return fallback;
  return fail('BAD_CONFIG', `config.json has no numeric '${Array.isArray(keys) ? keys.join("' or '") : keys}'`, {
    hint: 'Is this a complete Hugging Face config.json?',
  });
}

export function optNum(raw: Record<string, unknown>, key: string): number | null {
  const v = raw[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function str(raw: Record<string, unknown>, key: string, fallback: string): string {
  const v = raw[key];
  return typeof v === 'string' ? v : fallback;
}

/** id2label with integer keys; defaults to LABEL_i as transformers does. */
export function labels(raw: Record<string, unknown>): { numLabels: number; id2label: Record<number, string> } {
  const given = raw.id2label && typeof raw.id2label === 'object' ? (raw.id2label as Record<string, string>) : null;
  const n = optNum(raw, 'num_labels') ?? (given ? Object.keys(given).length : 2);
  const id2label: Record<number, string> = {};
  for (let i = 0; i < n; i++) id2label[i] = given?.[String(i)] ?? `LABEL_${i}`;
  return { numLabels: n, id2label };
}

export function baseConfig(raw: Record<string, unknown>): Pick<ModelConfig, 'raw' | 'numLabels' | 'id2label' | 'padTokenId'> {
  return { raw, ...labels(raw), padTokenId: optNum(raw, 'pad_token_id') };
}

// ---------------------------------------------------------------------------------------
// Layers

/** A linear layer. `layout` 'out_in' is torch.nn.Linear's [out, in]; 'in_out' is GPT-2's Conv1D [in, out]. */
export function dense(x: Value, w: Value, b: Value | null, layout: 'out_in' | 'in_out'): Value {
  if (layout === 'in_out') {
    const y = op.matmul(x, w);
    return b ? op.add(y, b) : y;
  }
  // x [..., in] -> [rows, in]; Gemm reads W transposed without a copy.
  const inDim = x.shape[x.shape.length - 1];
  const outDim = w.shape[0];
  const y = op.gemm(op.reshape(x, [-1, inDim]), w, b, { transB: true });
  return op.reshape(y, [...x.shape.slice(0, -1), outDim]);
}

/**
 * The boolean attention mask [batch, 1, query, key]: true where a query may attend to a key
 * (a real token, and for causal models not in the future).
 */
export function attentionMask(ctx: BuildContext, causal: boolean): Value {
  const { g, batch, seq } = ctx;
  const keys = op.reshape(op.cast(ctx.attentionMask, 'bool'), [batch, 1, 1, seq]);
  if (!causal) return op.expand(keys, [batch, 1, seq, seq]);
  const data = new Uint8Array(seq * seq);
  for (let q = 0; q < seq; q++) for (let k = 0; k <= q; k++) data[q * seq + k] = 1;
  const tri = g.constant(data, [1, 1, seq, seq], g.uniqueName(`causal_mask_${seq}`));
  return op.and(tri, keys);
}

const FLOAT32_MIN = -3.4028234663852886e38;

/**
 * Scaled dot-product attention on per-head tensors, with taps under `prefix`:
 * q [batch, pos, head, d_head]; k, v [batch, pos, kv_head, d_head] (kv heads are repeated
 * for grouped-query attention). Masked scores take float32's most negative value, as
 * transformers' eager attention does. Returns z [batch, pos, head, d_head] (tapped).
 */
export function attend(q: Value, k: Value, v: Value, mask: Value, prefix: string, scale?: number): Value {
  const g = q.graph;
  const [batch, seq, nHeads, dHead] = q.shape;
  const nKv = k.shape[2];
  const repeat = (t: Value) => {
    if (nKv === nHeads) return t;
    // [b, s, kv, d] -> [b, s, kv, rep, d] -> [b, s, heads, d]: head h reads kv head floor(h / rep),
    // as transformers' repeat_kv.
    const rep = nHeads / nKv;
    return op.reshape(op.expand(op.unsqueeze(t, 3), [batch, seq, nKv, rep, dHead]), [batch, seq, nHeads, dHead]);
  };
  const qh = op.transpose(q, [0, 2, 1, 3]); // [batch, head, pos, d_head]
  const kT = op.transpose(repeat(k), [0, 2, 3, 1]); // [batch, head, d_head, pos]
  const vh = op.transpose(repeat(v), [0, 2, 1, 3]);
  const raw = op.mul(op.matmul(qh, kT), scale ?? 1 / Math.sqrt(dHead));
  const scores = g.tap(`${prefix}.hook_attn_scores`, op.where(mask, raw, FLOAT32_MIN)); // [batch, head, query, key]
  const pattern = g.tap(`${prefix}.hook_pattern`, op.softmax(scores, -1));
  return g.tap(`${prefix}.hook_z`, op.transpose(op.matmul(pattern, vh), [0, 2, 1, 3]));
}

/** [batch, pos, heads * d_head] -> [batch, pos, heads, d_head] */
export function splitHeads(x: Value, heads: number): Value {
  const [b, s, d] = x.shape;
  return op.reshape(x, [b, s, heads, d / heads]);
}

/** [batch, pos, heads, d_head] -> [batch, pos, heads * d_head] */
export function mergeHeads(z: Value): Value {
  const [b, s, h, d] = z.shape;
  return op.reshape(z, [b, s, h * d]);
}

/** The positions a language-model head applies to: all of x [batch, pos, d], or ctx.headPositions. */
export function atHeadPositions(x: Value, ctx: BuildContext): Value {
  if (!ctx.headPositions) return x;
  const g = x.graph;
  const idx = g.constant(BigInt64Array.from(ctx.headPositions, (p) => BigInt(p)), [ctx.headPositions.length], g.uniqueName('head_positions'));
  return op.gather(x, idx, 1);
}

/** Rows of `x` [batch, pos, d] at `index` [batch]: [batch, d]. */
export function pickPositions(x: Value, index: Value): Value {
  const [b, , d] = x.shape;
  const idx = op.expand(op.reshape(index, [b, 1, 1]), [b, 1, d]);
  return op.reshape(op.gatherElements(x, idx, 1), [b, d]);
}

// ---------------------------------------------------------------------------------------
// Host-side positions

/**
 * Position ids that make a padded row compute exactly what it computes alone: each real
 * token's index among the real tokens of its row (pads get 0), plus `offset`.
 */
export function positionsFromMask(mask: number[][], offset = 0, padValue = 0): number[][] {
  return mask.map((row) => {
    let n = 0;
    return row.map((m) => (m ? offset + n++ : padValue));
  });
}
