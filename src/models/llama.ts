/**
 * The Llama family (Llama 2/3, Mistral, Qwen2, SmolLM), as transformers' modeling_llama /
 * modeling_qwen2: RMSNorm, rotary position embeddings (with `rope_scaling` of type linear or
 * llama3), grouped-query attention, a SwiGLU MLP, q/k/v biases where the config has them,
 * tied or untied embeddings.
 */
import { fail } from '../errors.js';
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import { atHeadPositions, attend, attentionMask, baseConfig, dense, mergeHeads, num, optNum, positionsFromMask, splitHeads } from './common.js';
import { blockHooks } from './gpt2.js';
import type { Architecture, BuildContext, ModelConfig, WeightSpec } from './types.js';

const P = 'model.';

/** q/k/v carry a bias in Qwen2 always, in Llama when `attention_bias` says so. */
function qkvBias(cfg: ModelConfig): boolean {
  return cfg.modelType === 'qwen2' || cfg.raw.attention_bias === true;
}

/**
 * Inverse frequencies of the rotary embedding, theta^(-2i/d) for i < d/2 (Su et al. 2021),
 * with transformers' `rope_scaling` rules (`_compute_llama3_parameters`, linear scaling).
 */
export function ropeInvFreq(cfg: ModelConfig): Float64Array {
  const d = cfg.dHead;
  const theta = num(cfg.raw, 'rope_theta', 10000);
  const inv = Float64Array.from({ length: d / 2 }, (_, i) => 1 / theta ** ((2 * i) / d));
  const scaling = cfg.raw.rope_scaling as Record<string, unknown> | null | undefined;
  if (!scaling) return inv;
  const type = (scaling.rope_type ?? scaling.type) as string | undefined;
  const factor = num(scaling, 'factor', 1);
  if (type === 'default') return inv;
  if (type === 'linear') return inv.map((f) => f / factor);
  if (type === 'llama3') {
    const low = num(scaling, 'low_freq_factor', 1);
    const high = num(scaling, 'high_freq_factor', 4);
    const oldLen = num(scaling, 'original_max_position_embeddings', 8192);
    const lowWavelen = oldLen / low;
    const highWavelen = oldLen / high;
    return inv.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highWavelen) return f;
      if (wavelen > lowWavelen) return f / factor;
      const smooth = (oldLen / wavelen - low) / (high - low);
      return (1 - smooth) * (f / factor) + smooth * f;
    });
  }
  return fail('UNSUPPORTED_MODEL', `rope_scaling of type '${type}' is not supported`, { hint: 'Supported: linear, llama3' });
}

/**
 * x [batch, pos, heads, d_head] rotated by position: x cos + rotate_half(x) sin, where
 * rotate_half(x) = [-x2, x1] for the two halves of d_head (transformers' apply_rotary_pos_emb).
 */
function rotate(x: Value, cos: Value, sin: Value): Value {
  const half = x.shape[3] / 2;
  const [x1, x2] = op.split(x, 3, [half, half]);
  return op.add(op.mul(x, cos), op.mul(op.concat([op.neg(x2), x1], 3), sin));
}

/** cos and sin tables [batch, pos, 1, d_head] for the fed position ids, in float32 as transformers computes them. */
function rotaryTables(ctx: BuildContext, cfg: ModelConfig): { cos: Value; sin: Value } {
  const { g, batch, seq } = ctx;
  const inv = g.constant(Float32Array.from(ropeInvFreq(cfg)), [cfg.dHead / 2], g.uniqueName('rope_inv_freq'));
  const freqs = op.mul(op.reshape(op.cast(ctx.positionIds, 'float32'), [batch, seq, 1]), inv); // [batch, pos, d_head/2]
  const emb = op.reshape(op.concat([freqs, freqs], 2), [batch, seq, 1, cfg.dHead]);
  return { cos: op.cos(emb), sin: op.sin(emb) };
}

export const llama: Architecture = {
  family: 'Llama (Llama, Mistral, Qwen2)',
  modelTypes: ['llama', 'mistral', 'qwen2'],
  classes: { LlamaForCausalLM: 'causal_lm', MistralForCausalLM: 'causal_lm', Qwen2ForCausalLM: 'causal_lm', LlamaModel: 'base', MistralModel: 'base', Qwen2Model: 'base' },
  defaultClass: 'LlamaForCausalLM',
  poolAt: 'last',

  parseConfig(raw): ModelConfig {
    const d = num(raw, 'hidden_size');
    const h = num(raw, 'num_attention_heads');
    const modelType = String(raw.model_type);
    return {
      ...baseConfig(raw),
      modelType,
      nLayers: num(raw, 'num_hidden_layers'),
      nHeads: h,
      nKvHeads: optNum(raw, 'num_key_value_heads') ?? h,
      dModel: d,
      dHead: optNum(raw, 'head_dim') ?? d / h,
      dMlp: num(raw, 'intermediate_size'),
      vocabSize: num(raw, 'vocab_size'),
      maxPositions: num(raw, 'max_position_embeddings', 2048),
      causal: true,
      typeVocabSize: 0,
      tieWordEmbeddings: raw.tie_word_embeddings === true,
    };
  },

  weights(cfg, cls): WeightSpec {
    const { dModel: d, dMlp: m, dHead, nHeads, nKvHeads } = cfg;
    const e = new Map<string, number[]>([[`${P}embed_tokens.weight`, [cfg.vocabSize, d]], [`${P}norm.weight`, [d]]]);
    const bias = qkvBias(cfg);
    const mlpBias = cfg.raw.mlp_bias === true;
    for (let l = 0; l < cfg.nLayers; l++) {
      const b = `${P}layers.${l}.`;
      e.set(`${b}input_layernorm.weight`, [d]);
      e.set(`${b}post_attention_layernorm.weight`, [d]);
      e.set(`${b}self_attn.q_proj.weight`, [nHeads * dHead, d]);
      e.set(`${b}self_attn.k_proj.weight`, [nKvHeads * dHead, d]);
      e.set(`${b}self_attn.v_proj.weight`, [nKvHeads * dHead, d]);
      e.set(`${b}self_attn.o_proj.weight`, [d, nHeads * dHead]);
      if (bias) {
        e.set(`${b}self_attn.q_proj.bias`, [nHeads * dHead]);
        e.set(`${b}self_attn.k_proj.bias`, [nKvHeads * dHead]);
        e.set(`${b}self_attn.v_proj.bias`, [nKvHeads * dHead]);
      }
      if (cfg.raw.attention_bias === true) e.set(`${b}self_attn.o_proj.bias`, [d]);
      e.set(`${b}mlp.gate_proj.weight`, [m, d]);
      e.set(`${b}mlp.up_proj.weight`, [m, d]);
      e.set(`${b}mlp.down_proj.weight`, [d, m]);
      if (mlpBias) {
        e.set(`${b}mlp.gate_proj.bias`, [m]);
        e.set(`${b}mlp.up_proj.bias`, [m]);
        e.set(`${b}mlp.down_proj.bias`, [d]);
      }
    }
    const optional = new Set<string>();
    const tied = new Map<string, string>();
    if (this.classes[cls] === 'causal_lm') {
      e.set('lm_head.weight', [cfg.vocabSize, d]);
      if (cfg.tieWordEmbeddings) {
        optional.add('lm_head.weight');
        tied.set('lm_head.weight', `${P}embed_tokens.weight`);
      }
    }
    return { expected: e, optional, tied, ignore: [/rotary_emb\.inv_freq$/], prefix: P };
  },

  positionIds: (mask) => positionsFromMask(mask),

  build(ctx, cfg, cls) {
    const { g } = ctx;
    const W = ctx.weight;
    const expected = this.weights(cfg, cls).expected;
    const has = (n: string) => expected.has(n);
    const eps = num(cfg.raw, 'rms_norm_eps', 1e-6);
    const mask = attentionMask(ctx, true);
    const { cos, sin } = rotaryTables(ctx, cfg);
    let resid = g.tap('hook_embed', op.gather(W(`${P}embed_tokens.weight`), ctx.inputIds)); // [batch, pos, d_model]
    for (let l = 0; l < cfg.nLayers; l++) {
      const p = `blocks.${l}`;
      const name = (n: string) => `${P}layers.${l}.${n}`;
      const w = (n: string) => W(name(n));
      const wb = (n: string) => (has(name(n)) ? W(name(n)) : null);
      resid = g.scope(p, () => {
        const pre = g.tap(`${p}.hook_resid_pre`, resid);
        const n1 = g.tap(`${p}.ln1.hook_normalized`, op.rmsNorm(pre, w('input_layernorm.weight'), eps));
        const proj = (k: string, heads: number) => splitHeads(dense(n1, w(`self_attn.${k}.weight`), wb(`self_attn.${k}.bias`), 'out_in'), heads);
        const q = g.tap(`${p}.attn.hook_q`, proj('q_proj', cfg.nHeads));
        const k = g.tap(`${p}.attn.hook_k`, proj('k_proj', cfg.nKvHeads));
        const v = g.tap(`${p}.attn.hook_v`, proj('v_proj', cfg.nKvHeads));
        const rq = g.tap(`${p}.attn.hook_rot_q`, rotate(q, cos, sin));
        const rk = g.tap(`${p}.attn.hook_rot_k`, rotate(k, cos, sin));
        const z = attend(rq, rk, v, mask, `${p}.attn`);
        const attnOut = g.tap(`${p}.hook_attn_out`, dense(mergeHeads(z), w('self_attn.o_proj.weight'), wb('self_attn.o_proj.bias'), 'out_in'));
        const mid = g.tap(`${p}.hook_resid_mid`, op.add(pre, attnOut));
        const n2 = g.tap(`${p}.ln2.hook_normalized`, op.rmsNorm(mid, w('post_attention_layernorm.weight'), eps));
        const gate = g.tap(`${p}.mlp.hook_pre`, dense(n2, w('mlp.gate_proj.weight'), wb('mlp.gate_proj.bias'), 'out_in'));
        const up = g.tap(`${p}.mlp.hook_pre_linear`, dense(n2, w('mlp.up_proj.weight'), wb('mlp.up_proj.bias'), 'out_in'));
        const post = g.tap(`${p}.mlp.hook_post`, op.mul(op.silu(gate), up));
        const mlpOut = g.tap(`${p}.hook_mlp_out`, dense(post, w('mlp.down_proj.weight'), wb('mlp.down_proj.bias'), 'out_in'));
        return g.tap(`${p}.hook_resid_post`, op.add(mid, mlpOut));
      });
    }
    const final = g.tap('ln_final.hook_normalized', op.rmsNorm(resid, W(`${P}norm.weight`), eps));
    if (this.classes[cls] === 'causal_lm') return { logits: dense(atHeadPositions(final, ctx), W('lm_head.weight'), null, 'out_in') };
    return { logits: final };
  },

  hookNames(cfg) {
    const names = ['hook_embed', ...blockHooks(cfg.nLayers, ['hook_rot_q', 'hook_rot_k'])];
    return [...names.flatMap((n) => (n.endsWith('.mlp.hook_pre') ? [n, n.replace('hook_pre', 'hook_pre_linear')] : [n])), 'ln_final.hook_normalized'];
  },
};
