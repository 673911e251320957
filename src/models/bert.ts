/**
 * BERT (Devlin et al. 2019) and RoBERTa / XLM-RoBERTa (Liu et al. 2019), as transformers 4.37's
 * modeling_bert / modeling_roberta / modeling_xlm_roberta compute them: word + position +
 * token-type embeddings and a LayerNorm, then post-LN encoder blocks (the LayerNorm after each
 * residual add), bidirectional attention, and a pooler / classifier / MLM head on top.
 *
 * The two families share the encoder (`encoderBlock`, also used by distilbert.ts) and differ only
 * in the state_dict prefix (`bert.` / `roberta.`), the heads, and the positions: RoBERTa counts
 * positions from padding_idx + 1 (`create_position_ids_from_input_ids`), so its table has
 * padding_idx + 1 rows that real tokens never read.
 *
 * Hooks follow TransformerLens' BertBlock: in a post-LN block `hook_resid_mid` and
 * `hook_resid_post` are the sums before the LayerNorms, `ln1.hook_normalized` /
 * `ln2.hook_normalized` their normalised values, and `ln2.hook_normalized` is the block output
 * (HF `hidden_states[l + 1]`, the next block's `hook_resid_pre`).
 *
 * Padding: position ids come from the attention mask (real tokens count 0, 1, ... whatever the
 * padding side) and the classifiers read the first real token, so a padded row computes exactly
 * what it computes alone. transformers itself reads token 0 and, for BERT, positions 0..S-1.
 */
import { fail } from '../errors.js';
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import { activation, type Activation } from '../nn/layers.js';
import { atHeadPositions, attend, attentionMask, baseConfig, dense, mergeHeads, num, optNum, pickPositions, positionsFromMask, splitHeads, str } from './common.js';
import type { Architecture, BuildContext, HeadKind, ModelConfig, WeightSpec } from './types.js';

// ---------------------------------------------------------------------------------------
// The shared post-LN encoder block (BERT, RoBERTa, DistilBERT)

/** Module paths of one encoder block's parts, relative to the layer (`.weight`/`.bias` are appended). */
export interface EncoderBlockNames {
  q: string;
  k: string;
  v: string;
  /** The attention output projection. */
  o: string;
  /** LayerNorm after the attention residual add. */
  ln1: string;
  mlpIn: string;
  mlpOut: string;
  /** LayerNorm after the MLP residual add. */
  ln2: string;
}

/** Declare one block's weights, torch Linear layout [out, in], into `e`. */
export function encoderBlockWeights(e: Map<string, number[]>, layer: string, n: EncoderBlockNames, d: number, m: number): void {
  for (const lin of [n.q, n.k, n.v, n.o]) {
    e.set(`${layer}${lin}.weight`, [d, d]);
    e.set(`${layer}${lin}.bias`, [d]);
  }
  for (const ln of [n.ln1, n.ln2]) {
    e.set(`${layer}${ln}.weight`, [d]);
    e.set(`${layer}${ln}.bias`, [d]);
  }
  e.set(`${layer}${n.mlpIn}.weight`, [m, d]);
  e.set(`${layer}${n.mlpIn}.bias`, [m]);
  e.set(`${layer}${n.mlpOut}.weight`, [d, m]);
  e.set(`${layer}${n.mlpOut}.bias`, [d]);
}

export interface EncoderBlockOptions {
  /** Block index l (taps under `blocks.{l}`). */
  index: number;
  /** State-dict prefix of the layer, e.g. `bert.encoder.layer.3.`. */
  layer: string;
  names: EncoderBlockNames;
  nHeads: number;
  /** [batch, 1, query, key] boolean, from `attentionMask(ctx, false)`. */
  mask: Value;
  act: Activation;
  eps: number;
}

/**
 * One post-LN encoder block (BertLayer / TransformerBlock):
 *   mid  = x + O(attn(Q x, K x, V x))        hook_resid_mid
 *   h    = LN1(mid)                           ln1.hook_normalized
 *   post = h + W2 act(W1 h)                   hook_resid_post
 *   out  = LN2(post)                          ln2.hook_normalized (the block output)
 * `resid` and the result are [batch, pos, d_model].
 */
export function encoderBlock(ctx: BuildContext, resid: Value, o: EncoderBlockOptions): Value {
  const { g } = ctx;
  const p = `blocks.${o.index}`;
  const n = o.names;
  const lin = (x: Value, mod: string) => dense(x, ctx.weight(`${o.layer}${mod}.weight`), ctx.weight(`${o.layer}${mod}.bias`), 'out_in');
  const norm = (x: Value, mod: string) => op.layerNorm(x, ctx.weight(`${o.layer}${mod}.weight`), ctx.weight(`${o.layer}${mod}.bias`), -1, o.eps);
  return g.scope(p, () => {
    const pre = g.tap(`${p}.hook_resid_pre`, resid); // [batch, pos, d_model]
    const q = g.tap(`${p}.attn.hook_q`, splitHeads(lin(pre, n.q), o.nHeads)); // [batch, pos, head, d_head]
    const k = g.tap(`${p}.attn.hook_k`, splitHeads(lin(pre, n.k), o.nHeads));
    const v = g.tap(`${p}.attn.hook_v`, splitHeads(lin(pre, n.v), o.nHeads));
    const z = attend(q, k, v, o.mask, `${p}.attn`);
    const attnOut = g.tap(`${p}.hook_attn_out`, lin(mergeHeads(z), n.o));
    const mid = g.tap(`${p}.hook_resid_mid`, op.add(pre, attnOut));
    const h = g.tap(`${p}.ln1.hook_normalized`, norm(mid, n.ln1));
    const hPre = g.tap(`${p}.mlp.hook_pre`, lin(h, n.mlpIn)); // [batch, pos, d_mlp]
    const hPost = g.tap(`${p}.mlp.hook_post`, activation(hPre, o.act));
    const mlpOut = g.tap(`${p}.hook_mlp_out`, lin(hPost, n.mlpOut));
    const post = g.tap(`${p}.hook_resid_post`, op.add(h, mlpOut));
    return g.tap(`${p}.ln2.hook_normalized`, norm(post, n.ln2));
  });
}

/** The hooks of `nLayers` post-LN encoder blocks, in the order a block computes them. */
export function encoderBlockHooks(nLayers: number): string[] {
  const out: string[] = [];
  for (let l = 0; l < nLayers; l++) {
    const p = `blocks.${l}`;
    out.push(
      `${p}.hook_resid_pre`, `${p}.attn.hook_q`, `${p}.attn.hook_k`, `${p}.attn.hook_v`,
      `${p}.attn.hook_attn_scores`, `${p}.attn.hook_pattern`, `${p}.attn.hook_z`,
      `${p}.hook_attn_out`, `${p}.hook_resid_mid`, `${p}.ln1.hook_normalized`,
      `${p}.mlp.hook_pre`, `${p}.mlp.hook_post`, `${p}.hook_mlp_out`, `${p}.hook_resid_post`, `${p}.ln2.hook_normalized`,
    );
  }
  return out;
}

/**
 * transformers' ACT2FN names mapped onto the activations glassbox builds: `gelu` is the erf
 * form (GELUActivation), `gelu_new` / `gelu_pytorch_tanh` / `gelu_fast` the tanh approximation.
 */
export function encoderActivation(name: string, where: string): Activation {
  const known: Record<string, Activation> = {
    gelu: 'gelu',
    gelu_python: 'gelu',
    gelu_new: 'gelu_new',
    gelu_pytorch_tanh: 'gelu_new',
    gelu_fast: 'gelu_new',
    relu: 'relu',
    silu: 'silu',
    swish: 'silu',
  };
  return known[name] ?? fail('UNSUPPORTED_MODEL', `activation '${name}' is not supported`, { where, hint: `Supported: ${Object.keys(known).join(', ')}` });
}

// ---------------------------------------------------------------------------------------
// BERT and RoBERTa

const BERT_BLOCK: EncoderBlockNames = {
  q: 'attention.self.query',
  k: 'attention.self.key',
  v: 'attention.self.value',
  o: 'attention.output.dense',
  ln1: 'attention.output.LayerNorm',
  mlpIn: 'intermediate.dense',
  mlpOut: 'output.dense',
  ln2: 'output.LayerNorm',
};

/** What distinguishes RoBERTa from BERT: the prefix, the positions, the heads' module names. */
interface Flavour {
  prefix: string;
  /** Rows of the position table real tokens never read (RoBERTa: padding_idx + 1), from config.json's pad_token_id. */
  positionOffset(padTokenId: number | null): number;
  /** Head weights for a class, [name, shape] pairs; `decoder` names the MLM decoder weight (tied to the word embeddings). */
  headWeights(cfg: ModelConfig, head: HeadKind): { weights: [string, number[]][]; decoder: string | null };
  /** The head on top of the last hidden state [batch, pos, d_model]. */
  head(ctx: BuildContext, cfg: ModelConfig, head: HeadKind, h: Value): Value;
}

function parseEncoderConfig(raw: Record<string, unknown>, modelType: string, positionOffset: number): ModelConfig {
  const d = num(raw, 'hidden_size');
  const h = num(raw, 'num_attention_heads');
  const where = `config.json (model_type '${modelType}')`;
  const posType = str(raw, 'position_embedding_type', 'absolute');
  if (posType !== 'absolute') {
    fail('UNSUPPORTED_MODEL', `position_embedding_type '${posType}' is not supported`, { where, hint: 'Only absolute position embeddings are' });
  }
  if (raw.is_decoder === true) fail('UNSUPPORTED_MODEL', `a ${modelType} decoder (is_decoder: true) is not supported`, { where });
  if (d % h !== 0) fail('BAD_CONFIG', `hidden_size ${d} is not a multiple of num_attention_heads ${h}`, { where });
  encoderActivation(str(raw, 'hidden_act', 'gelu'), where);
  return {
    ...baseConfig(raw),
    modelType,
    nLayers: num(raw, 'num_hidden_layers'),
    nHeads: h,
    nKvHeads: h,
    dModel: d,
    dHead: d / h,
    dMlp: num(raw, 'intermediate_size'),
    vocabSize: num(raw, 'vocab_size'),
    maxPositions: num(raw, 'max_position_embeddings', 512) - positionOffset,
    causal: false,
    typeVocabSize: num(raw, 'type_vocab_size', 2),
    tieWordEmbeddings: raw.tie_word_embeddings !== false,
  };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Names outside the base model (`prefix`): a head's weights, ignored when the base class reads a head checkpoint. */
export const outside = (prefix: string) => new RegExp(`^(?!${escape(prefix)})`);

function encoderFamily(
  base: Pick<Architecture, 'family' | 'modelTypes' | 'classes' | 'defaultClass'>,
  flavour: Flavour,
): Architecture {
  const P = flavour.prefix;
  return {
    ...base,
    poolAt: 'first',

    parseConfig(raw) {
      return parseEncoderConfig(raw, String(raw.model_type), flavour.positionOffset(optNum(raw, 'pad_token_id')));
    },

    weights(cfg, cls): WeightSpec {
      const { dModel: d, dMlp: m } = cfg;
      const e = new Map<string, number[]>([
        [`${P}embeddings.word_embeddings.weight`, [cfg.vocabSize, d]],
        [`${P}embeddings.position_embeddings.weight`, [cfg.maxPositions + flavour.positionOffset(cfg.padTokenId), d]],
        [`${P}embeddings.token_type_embeddings.weight`, [cfg.typeVocabSize, d]],
        [`${P}embeddings.LayerNorm.weight`, [d]],
        [`${P}embeddings.LayerNorm.bias`, [d]],
      ]);
      for (let l = 0; l < cfg.nLayers; l++) encoderBlockWeights(e, `${P}encoder.layer.${l}.`, BERT_BLOCK, d, m);
      const optional = new Set<string>();
      const tied = new Map<string, string>();
      // position_ids / token_type_ids are buffers some checkpoints saved.
      const ignore = [/position_ids$/, /embeddings\.token_type_ids$/];
      const head = this.classes[cls];
      if (head === 'base') {
        // BertModel has a pooler (add_pooling_layer=True) that its logits do not use.
        for (const n of ['weight', 'bias']) {
          e.set(`${P}pooler.dense.${n}`, n === 'weight' ? [d, d] : [d]);
          optional.add(`${P}pooler.dense.${n}`);
        }
        // A head checkpoint read as the base model: drop the head, as from_pretrained does.
        ignore.push(outside(P));
      } else if (!(P === 'bert.' && head === 'sequence_classification')) {
        ignore.push(new RegExp(`^${escape(P)}pooler\\.`)); // heads built with add_pooling_layer=False
      }
      const { weights, decoder } = flavour.headWeights(cfg, head);
      for (const [n, s] of weights) e.set(n, s);
      if (decoder && cfg.tieWordEmbeddings) {
        optional.add(decoder);
        tied.set(decoder, `${P}embeddings.word_embeddings.weight`);
      }
      // A pretraining checkpoint (bert-base-uncased, roberta-base) carries every head.
      if (head !== 'masked_lm') ignore.push(/^(cls|lm_head)\./);
      else ignore.push(/^cls\.seq_relationship\./, /decoder\.bias$/); // decoder.bias is the head's `bias`, saved twice
      return { expected: e, optional, tied, ignore, prefix: P };
    },

    positionIds(mask, cfg) {
      const offset = flavour.positionOffset(cfg.padTokenId);
      // RoBERTa: padding_idx + 1 + index among real tokens, pads padding_idx (create_position_ids_from_input_ids).
      return offset === 0 ? positionsFromMask(mask) : positionsFromMask(mask, offset, offset - 1);
    },

    build(ctx, cfg, cls) {
      const { g } = ctx;
      const W = ctx.weight;
      const eps = num(cfg.raw, 'layer_norm_eps', 1e-12);
      const act = encoderActivation(str(cfg.raw, 'hidden_act', 'gelu'), 'config.json');
      // BertEmbeddings: (word + token_type) + position, then LayerNorm.
      const embed = g.tap('hook_embed', op.gather(W(`${P}embeddings.word_embeddings.weight`), ctx.inputIds)); // [batch, pos, d_model]
      const posEmbed = g.tap('hook_pos_embed', op.gather(W(`${P}embeddings.position_embeddings.weight`), ctx.positionIds));
      const types = ctx.tokenTypeIds ?? fail('BAD_INPUT', `${base.family} needs token_type_ids, but the graph has none`);
      const typeEmbed = g.tap('hook_token_type_embed', op.gather(W(`${P}embeddings.token_type_embeddings.weight`), types));
      const sum = op.add(op.add(embed, typeEmbed), posEmbed);
      let resid = op.layerNorm(sum, W(`${P}embeddings.LayerNorm.weight`), W(`${P}embeddings.LayerNorm.bias`), -1, eps);
      const mask = attentionMask(ctx, false);
      for (let l = 0; l < cfg.nLayers; l++) {
        resid = encoderBlock(ctx, resid, { index: l, layer: `${P}encoder.layer.${l}.`, names: BERT_BLOCK, nHeads: cfg.nHeads, mask, act, eps });
      }
      return { logits: flavour.head(ctx, cfg, this.classes[cls], resid) };
    },

    hookNames: (cfg) => ['hook_embed', 'hook_pos_embed', 'hook_token_type_embed', ...encoderBlockHooks(cfg.nLayers)],
  };
}

/** A torch Linear [out, in] + bias by module name. */
function linear(ctx: BuildContext, x: Value, mod: string): Value {
  return dense(x, ctx.weight(`${mod}.weight`), ctx.weight(`${mod}.bias`), 'out_in');
}

const linearShapes = (mod: string, out: number, inp: number): [string, number[]][] => [
  [`${mod}.weight`, [out, inp]],
  [`${mod}.bias`, [out]],
];

export const bert: Architecture = encoderFamily(
  {
    family: 'BERT',
    modelTypes: ['bert'],
    classes: { BertModel: 'base', BertForSequenceClassification: 'sequence_classification', BertForMaskedLM: 'masked_lm' },
    defaultClass: 'BertModel',
  },
  {
    prefix: 'bert.',
    positionOffset: () => 0,
    headWeights(cfg, head) {
      const d = cfg.dModel;
      if (head === 'sequence_classification') {
        return { weights: [...linearShapes('bert.pooler.dense', d, d), ...linearShapes('classifier', cfg.numLabels, d)], decoder: null };
      }
      if (head === 'masked_lm') {
        return {
          weights: [
            ...linearShapes('cls.predictions.transform.dense', d, d),
            ['cls.predictions.transform.LayerNorm.weight', [d]],
            ['cls.predictions.transform.LayerNorm.bias', [d]],
            ['cls.predictions.decoder.weight', [cfg.vocabSize, d]],
            ['cls.predictions.bias', [cfg.vocabSize]],
          ],
          decoder: 'cls.predictions.decoder.weight',
        };
      }
      return { weights: [], decoder: null };
    },
    head(ctx, cfg, head, h) {
      if (head === 'sequence_classification') {
        // BertPooler: tanh(dense(first token)); then the classifier. [batch, num_labels]
        const pooled = op.tanh(linear(ctx, pickPositions(h, ctx.poolIndex), 'bert.pooler.dense'));
        return linear(ctx, pooled, 'classifier');
      }
      if (head === 'masked_lm') {
        // BertLMPredictionHead: transform (dense, hidden_act, LayerNorm), then decoder + bias. [batch, pos, vocab]
        const act = encoderActivation(str(cfg.raw, 'hidden_act', 'gelu'), 'config.json');
        const t = activation(linear(ctx, atHeadPositions(h, ctx), 'cls.predictions.transform.dense'), act);
        const n = op.layerNorm(t, ctx.weight('cls.predictions.transform.LayerNorm.weight'), ctx.weight('cls.predictions.transform.LayerNorm.bias'), -1, num(cfg.raw, 'layer_norm_eps', 1e-12));
        return dense(n, ctx.weight('cls.predictions.decoder.weight'), ctx.weight('cls.predictions.bias'), 'out_in');
      }
      return h;
    },
  },
);

export const roberta: Architecture = encoderFamily(
  {
    family: 'RoBERTa (RoBERTa, XLM-RoBERTa)',
    modelTypes: ['roberta', 'xlm-roberta'],
    classes: {
      RobertaModel: 'base',
      RobertaForSequenceClassification: 'sequence_classification',
      RobertaForMaskedLM: 'masked_lm',
      XLMRobertaModel: 'base',
      XLMRobertaForSequenceClassification: 'sequence_classification',
      XLMRobertaForMaskedLM: 'masked_lm',
    },
    defaultClass: 'RobertaModel',
  },
  {
    prefix: 'roberta.',
    // padding_idx is pad_token_id (1 in every released checkpoint).
    positionOffset: (pad) => (pad ?? 1) + 1,
    headWeights(cfg, head) {
      const d = cfg.dModel;
      if (head === 'sequence_classification') {
        return { weights: [...linearShapes('classifier.dense', d, d), ...linearShapes('classifier.out_proj', cfg.numLabels, d)], decoder: null };
      }
      if (head === 'masked_lm') {
        return {
          weights: [
            ...linearShapes('lm_head.dense', d, d),
            ['lm_head.layer_norm.weight', [d]],
            ['lm_head.layer_norm.bias', [d]],
            ['lm_head.decoder.weight', [cfg.vocabSize, d]],
            ['lm_head.bias', [cfg.vocabSize]],
          ],
          decoder: 'lm_head.decoder.weight',
        };
      }
      return { weights: [], decoder: null };
    },
    head(ctx, cfg, head, h) {
      if (head === 'sequence_classification') {
        // RobertaClassificationHead: out_proj(tanh(dense(first token))). [batch, num_labels]
        const x = op.tanh(linear(ctx, pickPositions(h, ctx.poolIndex), 'classifier.dense'));
        return linear(ctx, x, 'classifier.out_proj');
      }
      if (head === 'masked_lm') {
        // RobertaLMHead: dense, exact gelu (whatever hidden_act says), layer_norm, decoder + bias. [batch, pos, vocab]
        const t = op.gelu(linear(ctx, atHeadPositions(h, ctx), 'lm_head.dense'));
        const n = op.layerNorm(t, ctx.weight('lm_head.layer_norm.weight'), ctx.weight('lm_head.layer_norm.bias'), -1, num(cfg.raw, 'layer_norm_eps', 1e-12));
        return dense(n, ctx.weight('lm_head.decoder.weight'), ctx.weight('lm_head.bias'), 'out_in');
      }
      return h;
    },
  },
);
