/**
 * Shared fixtures for the causal tests: the hf-reference tiny models (loaded once), the tiny
 * WordPiece tokenizer on tiny-bert-cls, and small random models of other head classes built in
 * memory (a masked-LM BERT / DistilBERT for the logit lens, a GPT-2 classifier for DLA).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createModel, loadModel, type Model } from '../../src/models/model.js';
import { architectureFor } from '../../src/models/registry.js';
import type { HostTensor } from '../../src/runtime/tensor.js';
import { tokenizerFromJson } from '../../src/tokenize/index.js';
import { tinyBertTokenizerJson } from '../helpers/tiny-bert.js';

export const FIXTURES = join(import.meta.dirname, '../../../shared/fixtures/hf-reference');
export const MODELS = ['tiny-gpt2', 'tiny-llama', 'tiny-bert-cls', 'tiny-distilbert-cls'] as const;

const loaded = new Map<string, Promise<Model>>();
export function fixture(name: string): Promise<Model> {
  let m = loaded.get(name);
  if (!m) loaded.set(name, (m = loadModel(join(FIXTURES, name))));
  return m;
}

/** tiny-bert-cls with the tiny WordPiece tokenizer, so tests can pass text. */
export async function bertWithTokenizer(): Promise<Model> {
  const m = await loadModel(join(FIXTURES, 'tiny-bert-cls'));
  m.tokenizer = tokenizerFromJson(tinyBertTokenizerJson());
  return m;
}

/** A model of `config` with seeded random weights (norm gains 1), built in memory. */
export function randomModel(config: Record<string, unknown>, seed = 7): Model {
  const arch = architectureFor(config.model_type, 'test');
  const className = (config.architectures as string[])[0];
  const cfg = arch.parseConfig(config);
  const spec = arch.weights(cfg, className);
  const weights: Record<string, HostTensor> = {};
  let s = seed >>> 0;
  for (const [name, shape] of spec.expected) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const gain = /(ln_[^.]*|LayerNorm|layer_norm|norm)\.weight$/.test(name);
    for (let i = 0; i < n; i++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      data[i] = gain ? 1 : ((s / 4294967296) * 2 - 1) * 0.2;
    }
    weights[name] = { dtype: 'float32', dims: shape, data };
  }
  return createModel({ id: 'random', folder: 'memory', arch, className, head: arch.classes[className], config: cfg, spec, weights, tokenizer: null });
}

export const TINY = { vocab_size: 40, max_position_embeddings: 16 };
export const BERT_MLM = { model_type: 'bert', architectures: ['BertForMaskedLM'], hidden_size: 16, num_attention_heads: 2, num_hidden_layers: 2, intermediate_size: 32, type_vocab_size: 2, hidden_act: 'gelu', ...TINY };
export const DISTILBERT_MLM = { model_type: 'distilbert', architectures: ['DistilBertForMaskedLM'], dim: 16, n_heads: 2, n_layers: 2, hidden_dim: 32, activation: 'gelu', ...TINY };
export const GPT2_CLS = { model_type: 'gpt2', architectures: ['GPT2ForSequenceClassification'], n_embd: 16, n_head: 2, n_layer: 2, n_positions: 16, vocab_size: 40, num_labels: 3 };

/** max |a − b| over two equally shaped number grids. */
export function maxAbsDiff(a: number[][] | number[], b: number[][] | number[]): number {
  const x = (a as number[][]).flat() as number[];
  const y = (b as number[][]).flat() as number[];
  assert.equal(x.length, y.length, 'shapes differ');
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
}

/** Assert that `fn` rejects with a GlassboxError of `code` whose message matches `pattern`. */
export async function rejects(fn: () => Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(fn, (e: Error & { code?: string }) => {
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}
