/**
 * A BERT sequence classifier made from nothing: its config.json (Hugging Face's
 * BertForSequenceClassification fields) and freshly initialised weights under exactly the
 * state_dict names `bert.weights()` declares, so the result saves as a checkpoint that
 * transformers and `loadModel` both read.
 *
 * Initialisation as transformers' `BertPreTrainedModel._init_weights`: Linear and Embedding
 * weights ~ normal(0, initializer_range = 0.02), biases zero, LayerNorm weight one and bias
 * zero, and the padding row (pad_token_id) of the word embeddings zero.
 */
import { fail } from '../errors.js';
import { bert } from '../models/bert.js';
import { createModel, type Model } from '../models/model.js';
import type { HostTensor } from '../runtime/tensor.js';
import type { Tokenizer } from '../tokenize/index.js';
import { createRng } from './rng.js';

export interface BertShape {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  /** Class names by id (default negative, positive). */
  labels?: string[];
  initializerRange?: number;
}

/** The transformers release whose config.json layout this writes. */
export const TRANSFORMERS_VERSION = '4.37.2';

/**
 * config.json of a BertForSequenceClassification.
 *
 * @example
 * bertClassifierConfig({ vocabSize: 8000, hiddenSize: 128, numLayers: 2, numHeads: 4, intermediateSize: 512, maxPositions: 128 });
 */
export function bertClassifierConfig(s: BertShape): Record<string, unknown> {
  const labels = s.labels ?? ['negative', 'positive'];
  for (const [k, v] of Object.entries({ vocabSize: s.vocabSize, hiddenSize: s.hiddenSize, numLayers: s.numLayers, numHeads: s.numHeads, intermediateSize: s.intermediateSize, maxPositions: s.maxPositions })) {
    if (!Number.isInteger(v) || v <= 0) fail('INVALID_ARGUMENT', `${k} must be a positive integer, got ${v}`);
  }
  if (s.hiddenSize % s.numHeads !== 0) {
    fail('INVALID_ARGUMENT', `hidden size ${s.hiddenSize} is not a multiple of the number of heads ${s.numHeads}`);
  }
  if (labels.length < 2) fail('INVALID_ARGUMENT', `a classifier needs at least 2 labels, got ${labels.length}`);
  return {
    architectures: ['BertForSequenceClassification'],
    attention_probs_dropout_prob: 0.1,
    classifier_dropout: null,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: s.hiddenSize,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    initializer_range: s.initializerRange ?? 0.02,
    intermediate_size: s.intermediateSize,
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
    layer_norm_eps: 1e-12,
    max_position_embeddings: s.maxPositions,
    model_type: 'bert',
    num_attention_heads: s.numHeads,
    num_hidden_layers: s.numLayers,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    problem_type: 'single_label_classification',
    torch_dtype: 'float32',
    transformers_version: TRANSFORMERS_VERSION,
    type_vocab_size: 2,
    use_cache: true,
    vocab_size: s.vocabSize,
  };
}

/**
 * Fresh weights for every tensor in `expected` (name -> shape), by the naming rules of
 * `_init_weights`.
 */
export function initBertWeights(expected: ReadonlyMap<string, readonly number[]>, seed: number, opts: { std?: number; padTokenId?: number | null } = {}): Record<string, HostTensor> {
  const std = opts.std ?? 0.02;
  const rng = createRng(seed);
  const out: Record<string, HostTensor> = {};
  // Sorted names: the draw order, hence the weights, do not depend on the Map's order.
  for (const name of [...expected.keys()].sort()) {
    const dims = [...expected.get(name)!];
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    if (/LayerNorm\.weight$/.test(name)) data.fill(1);
    else if (/\.bias$/.test(name)) {
      // zeros
    } else {
      for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
      if (name.endsWith('word_embeddings.weight') && opts.padTokenId != null) {
        data.fill(0, opts.padTokenId * dims[1]!, (opts.padTokenId + 1) * dims[1]!);
      }
    }
    out[name] = { dtype: 'float32', dims, data };
  }
  return out;
}

/**
 * A glassbox Model for a BertForSequenceClassification config, with the given weights or
 * fresh ones.
 */
export function createBertClassifier(raw: Record<string, unknown>, opts: { tokenizer?: Tokenizer | null; weights?: Record<string, HostTensor>; seed?: number; folder?: string } = {}): Model {
  const className = 'BertForSequenceClassification';
  const config = bert.parseConfig(raw);
  const spec = bert.weights(config, className);
  const weights = opts.weights ?? initBertWeights(spec.expected, opts.seed ?? 0, { std: typeof raw.initializer_range === 'number' ? raw.initializer_range : 0.02, padTokenId: config.padTokenId });
  for (const [name, shape] of spec.expected) {
    const t = weights[name];
    if (!t) fail('BAD_WEIGHTS', `missing weight '${name}' [${shape}]`);
    if (t.dims.length !== shape.length || t.dims.some((d, i) => d !== shape[i])) {
      fail('BAD_WEIGHTS', `weight '${name}' is [${t.dims}], expected [${shape}]`);
    }
  }
  return createModel({
    id: opts.folder ?? '(new bert classifier)',
    folder: opts.folder ?? '',
    arch: bert,
    className,
    head: 'sequence_classification',
    config,
    spec,
    weights,
    tokenizer: opts.tokenizer ?? null,
  });
}
