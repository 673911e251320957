/**
 * DistilBERT (Sanh et al. 2019), as transformers 4.37's modeling_distilbert computes it: word +
 * position embeddings (no token types) and a LayerNorm, then the post-LN encoder block BERT uses
 * (`encoderBlock` from bert.ts, with DistilBERT's module names), bidirectional attention, and a
 * classifier or MLM head.
 *
 * Config keys differ from BERT's (dim, n_layers, n_heads, hidden_dim, activation) and every
 * LayerNorm has eps 1e-12 fixed in the code. `sinusoidal_pos_embds` only changes how the
 * position table is initialised (create_sinusoidal_embeddings); checkpoints store the table
 * either way, so it is read like a learned one.
 *
 * The hooks are BERT's (TransformerLens BertBlock naming, see bert.ts), without
 * `hook_token_type_embed`.
 */
import { fail } from '../errors.js';
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import { activation } from '../nn/layers.js';
import { encoderActivation, encoderBlock, encoderBlockHooks, encoderBlockWeights, outside, type EncoderBlockNames } from './bert.js';
import { atHeadPositions, attentionMask, baseConfig, dense, num, pickPositions, positionsFromMask, str } from './common.js';
import type { Architecture, BuildContext, ModelConfig, WeightSpec } from './types.js';

const P = 'distilbert.';

/** DistilBERT's LayerNorms all use this eps (hard-coded in modeling_distilbert). */
const EPS = 1e-12;

const BLOCK: EncoderBlockNames = {
  q: 'attention.q_lin',
  k: 'attention.k_lin',
  v: 'attention.v_lin',
  o: 'attention.out_lin',
  ln1: 'sa_layer_norm',
  mlpIn: 'ffn.lin1',
  mlpOut: 'ffn.lin2',
  ln2: 'output_layer_norm',
};

/** A torch Linear [out, in] + bias by module name. */
function linear(ctx: BuildContext, x: Value, mod: string): Value {
  return dense(x, ctx.weight(`${mod}.weight`), ctx.weight(`${mod}.bias`), 'out_in');
}

export const distilbert: Architecture = {
  family: 'DistilBERT',
  modelTypes: ['distilbert'],
  classes: { DistilBertModel: 'base', DistilBertForSequenceClassification: 'sequence_classification', DistilBertForMaskedLM: 'masked_lm' },
  defaultClass: 'DistilBertModel',
  poolAt: 'first',

  parseConfig(raw): ModelConfig {
    const d = num(raw, ['dim', 'hidden_size']);
    const h = num(raw, ['n_heads', 'num_attention_heads']);
    const where = "config.json (model_type 'distilbert')";
    if (d % h !== 0) fail('BAD_CONFIG', `dim ${d} is not a multiple of n_heads ${h}`, { where });
    encoderActivation(str(raw, 'activation', 'gelu'), where);
    return {
      ...baseConfig(raw),
      modelType: 'distilbert',
      nLayers: num(raw, ['n_layers', 'num_hidden_layers']),
      nHeads: h,
      nKvHeads: h,
      dModel: d,
      dHead: d / h,
      dMlp: num(raw, ['hidden_dim', 'intermediate_size']),
      vocabSize: num(raw, 'vocab_size'),
      maxPositions: num(raw, 'max_position_embeddings', 512),
      causal: false,
      typeVocabSize: 0,
      tieWordEmbeddings: raw.tie_word_embeddings !== false,
    };
  },

  weights(cfg, cls): WeightSpec {
    const { dModel: d, dMlp: m } = cfg;
    const e = new Map<string, number[]>([
      [`${P}embeddings.word_embeddings.weight`, [cfg.vocabSize, d]],
      [`${P}embeddings.position_embeddings.weight`, [cfg.maxPositions, d]],
      [`${P}embeddings.LayerNorm.weight`, [d]],
      [`${P}embeddings.LayerNorm.bias`, [d]],
    ]);
    for (let l = 0; l < cfg.nLayers; l++) encoderBlockWeights(e, `${P}transformer.layer.${l}.`, BLOCK, d, m);
    const optional = new Set<string>();
    const tied = new Map<string, string>();
    const ignore = [/position_ids$/];
    const head = this.classes[cls];
    if (head === 'sequence_classification') {
      e.set('pre_classifier.weight', [d, d]);
      e.set('pre_classifier.bias', [d]);
      e.set('classifier.weight', [cfg.numLabels, d]);
      e.set('classifier.bias', [cfg.numLabels]);
    } else if (head === 'masked_lm') {
      e.set('vocab_transform.weight', [d, d]);
      e.set('vocab_transform.bias', [d]);
      e.set('vocab_layer_norm.weight', [d]);
      e.set('vocab_layer_norm.bias', [d]);
      e.set('vocab_projector.weight', [cfg.vocabSize, d]);
      e.set('vocab_projector.bias', [cfg.vocabSize]);
      if (cfg.tieWordEmbeddings) {
        optional.add('vocab_projector.weight');
        tied.set('vocab_projector.weight', `${P}embeddings.word_embeddings.weight`);
      }
    } else {
      ignore.push(outside(P)); // a head checkpoint (distilbert-base-uncased is an MLM) read as the base model
    }
    return { expected: e, optional, tied, ignore, prefix: P };
  },

  positionIds: (mask) => positionsFromMask(mask),

  build(ctx, cfg, cls) {
    const { g } = ctx;
    const W = ctx.weight;
    const act = encoderActivation(str(cfg.raw, 'activation', 'gelu'), 'config.json');
    // Embeddings: word + position, then LayerNorm.
    const embed = g.tap('hook_embed', op.gather(W(`${P}embeddings.word_embeddings.weight`), ctx.inputIds)); // [batch, pos, d_model]
    const posEmbed = g.tap('hook_pos_embed', op.gather(W(`${P}embeddings.position_embeddings.weight`), ctx.positionIds));
    let resid = op.layerNorm(op.add(embed, posEmbed), W(`${P}embeddings.LayerNorm.weight`), W(`${P}embeddings.LayerNorm.bias`), -1, EPS);
    const mask = attentionMask(ctx, false);
    for (let l = 0; l < cfg.nLayers; l++) {
      // MultiHeadSelfAttention scales q by 1/sqrt(d_head) before q k^T; attend scales after (same up to rounding).
      resid = encoderBlock(ctx, resid, { index: l, layer: `${P}transformer.layer.${l}.`, names: BLOCK, nHeads: cfg.nHeads, mask, act, eps: EPS });
    }
    const head = this.classes[cls];
    if (head === 'sequence_classification') {
      // pre_classifier, ReLU, classifier on the first token. [batch, num_labels]
      const x = op.relu(linear(ctx, pickPositions(resid, ctx.poolIndex), 'pre_classifier'));
      return { logits: linear(ctx, x, 'classifier') };
    }
    if (head === 'masked_lm') {
      // vocab_transform, activation (config.activation), vocab_layer_norm, vocab_projector. [batch, pos, vocab]
      const t = activation(linear(ctx, atHeadPositions(resid, ctx), 'vocab_transform'), act);
      const n = op.layerNorm(t, W('vocab_layer_norm.weight'), W('vocab_layer_norm.bias'), -1, EPS);
      return { logits: linear(ctx, n, 'vocab_projector') };
    }
    return { logits: resid };
  },

  hookNames: (cfg) => ['hook_embed', 'hook_pos_embed', ...encoderBlockHooks(cfg.nLayers)],
};
