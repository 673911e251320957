/**
 * GPT-2 (Radford et al. 2019), as transformers' modeling_gpt2: learned positions, pre-norm
 * blocks, fused QKV in a Conv1D (weights stored [in, out]), tanh-GELU by default, final
 * LayerNorm, and an LM head tied to the token embeddings.
 */
import * as op from '../graph/ops.js';
import { activation, type Activation } from '../nn/layers.js';
import { atHeadPositions, attend, attentionMask, baseConfig, dense, mergeHeads, num, optNum, pickPositions, positionsFromMask, splitHeads, str } from './common.js';
import type { Architecture, ModelConfig, WeightSpec } from './types.js';

const P = 'transformer.';

export const gpt2: Architecture = {
  family: 'GPT-2',
  modelTypes: ['gpt2'],
  classes: { GPT2LMHeadModel: 'causal_lm', GPT2Model: 'base', GPT2ForSequenceClassification: 'sequence_classification' },
  defaultClass: 'GPT2LMHeadModel',
  poolAt: 'last',

  parseConfig(raw): ModelConfig {
    const d = num(raw, ['n_embd', 'hidden_size']);
    const h = num(raw, ['n_head', 'num_attention_heads']);
    return {
      ...baseConfig(raw),
      modelType: 'gpt2',
      nLayers: num(raw, ['n_layer', 'num_hidden_layers']),
      nHeads: h,
      nKvHeads: h,
      dModel: d,
      dHead: d / h,
      dMlp: optNum(raw, 'n_inner') ?? 4 * d,
      vocabSize: num(raw, 'vocab_size'),
      maxPositions: num(raw, ['n_positions', 'max_position_embeddings']),
      causal: true,
      typeVocabSize: 0,
      tieWordEmbeddings: raw.tie_word_embeddings !== false,
    };
  },

  weights(cfg, cls): WeightSpec {
    const { dModel: d, dMlp: m, nLayers } = cfg;
    const e = new Map<string, number[]>([
      [`${P}wte.weight`, [cfg.vocabSize, d]],
      [`${P}wpe.weight`, [cfg.maxPositions, d]],
      [`${P}ln_f.weight`, [d]],
      [`${P}ln_f.bias`, [d]],
    ]);
    for (let l = 0; l < nLayers; l++) {
      const b = `${P}h.${l}.`;
      for (const [n, s] of [
        ['ln_1.weight', [d]], ['ln_1.bias', [d]],
        ['attn.c_attn.weight', [d, 3 * d]], ['attn.c_attn.bias', [3 * d]],
        ['attn.c_proj.weight', [d, d]], ['attn.c_proj.bias', [d]],
        ['ln_2.weight', [d]], ['ln_2.bias', [d]],
        ['mlp.c_fc.weight', [d, m]], ['mlp.c_fc.bias', [m]],
        ['mlp.c_proj.weight', [m, d]], ['mlp.c_proj.bias', [d]],
      ] as const) e.set(b + n, [...s]);
    }
    const optional = new Set<string>();
    const tied = new Map<string, string>();
    if (cls === 'GPT2LMHeadModel') {
      e.set('lm_head.weight', [cfg.vocabSize, d]);
      if (cfg.tieWordEmbeddings) {
        optional.add('lm_head.weight');
        tied.set('lm_head.weight', `${P}wte.weight`);
      }
    } else if (cls === 'GPT2ForSequenceClassification') {
      e.set('score.weight', [cfg.numLabels, d]);
    }
    // attn.bias / attn.masked_bias are causal-mask buffers older checkpoints saved.
    return { expected: e, optional, tied, ignore: [/\.attn\.(masked_)?bias$/], prefix: P };
  },

  positionIds: (mask) => positionsFromMask(mask),

  build(ctx, cfg, cls) {
    const { g } = ctx;
    const W = ctx.weight;
    const eps = num(cfg.raw, 'layer_norm_epsilon', 1e-5);
    const act = str(cfg.raw, 'activation_function', 'gelu_new') as Activation;
    const mask = attentionMask(ctx, true);
    const embed = g.tap('hook_embed', op.gather(W(`${P}wte.weight`), ctx.inputIds)); // [batch, pos, d_model]
    const posEmbed = g.tap('hook_pos_embed', op.gather(W(`${P}wpe.weight`), ctx.positionIds));
    let resid = op.add(embed, posEmbed);
    for (let l = 0; l < cfg.nLayers; l++) {
      const p = `blocks.${l}`;
      const w = (n: string) => W(`${P}h.${l}.${n}`);
      resid = g.scope(p, () => {
        const pre = g.tap(`${p}.hook_resid_pre`, resid);
        const n1 = g.tap(`${p}.ln1.hook_normalized`, op.layerNorm(pre, w('ln_1.weight'), w('ln_1.bias'), -1, eps));
        const qkv = dense(n1, w('attn.c_attn.weight'), w('attn.c_attn.bias'), 'in_out');
        const [q, k, v] = op.split(qkv, -1, 3).map((t) => splitHeads(t, cfg.nHeads));
        const z = attend(g.tap(`${p}.attn.hook_q`, q), g.tap(`${p}.attn.hook_k`, k), g.tap(`${p}.attn.hook_v`, v), mask, `${p}.attn`);
        const attnOut = g.tap(`${p}.hook_attn_out`, dense(mergeHeads(z), w('attn.c_proj.weight'), w('attn.c_proj.bias'), 'in_out'));
        const mid = g.tap(`${p}.hook_resid_mid`, op.add(pre, attnOut));
        const n2 = g.tap(`${p}.ln2.hook_normalized`, op.layerNorm(mid, w('ln_2.weight'), w('ln_2.bias'), -1, eps));
        const hPre = g.tap(`${p}.mlp.hook_pre`, dense(n2, w('mlp.c_fc.weight'), w('mlp.c_fc.bias'), 'in_out'));
        const hPost = g.tap(`${p}.mlp.hook_post`, activation(hPre, act));
        const mlpOut = g.tap(`${p}.hook_mlp_out`, dense(hPost, w('mlp.c_proj.weight'), w('mlp.c_proj.bias'), 'in_out'));
        return g.tap(`${p}.hook_resid_post`, op.add(mid, mlpOut));
      });
    }
    const final = g.tap('ln_final.hook_normalized', op.layerNorm(resid, W(`${P}ln_f.weight`), W(`${P}ln_f.bias`), -1, eps));
    if (cls === 'GPT2LMHeadModel') return { logits: dense(atHeadPositions(final, ctx), W('lm_head.weight'), null, 'out_in') };
    if (cls === 'GPT2ForSequenceClassification') return { logits: dense(pickPositions(final, ctx.poolIndex), W('score.weight'), null, 'out_in') };
    return { logits: final };
  },

  hookNames: (cfg) => ['hook_embed', 'hook_pos_embed', ...blockHooks(cfg.nLayers), 'ln_final.hook_normalized'],
};

/** The per-block hooks every pre-norm family emits. */
export function blockHooks(nLayers: number, extraAttn: string[] = []): string[] {
  const out: string[] = [];
  for (let l = 0; l < nLayers; l++) {
    const p = `blocks.${l}`;
    out.push(
      `${p}.hook_resid_pre`, `${p}.ln1.hook_normalized`,
      `${p}.attn.hook_q`, `${p}.attn.hook_k`, `${p}.attn.hook_v`, ...extraAttn.map((h) => `${p}.attn.${h}`),
      `${p}.attn.hook_attn_scores`, `${p}.attn.hook_pattern`, `${p}.attn.hook_z`,
      `${p}.hook_attn_out`, `${p}.hook_resid_mid`, `${p}.ln2.hook_normalized`,
      `${p}.mlp.hook_pre`, `${p}.mlp.hook_post`, `${p}.hook_mlp_out`, `${p}.hook_resid_post`,
    );
  }
  return out;
}
