/**
 * What an architecture family provides, and the normalised config every family fills in.
 * One file per family (gpt2.ts, bert.ts, distilbert.ts, llama.ts) exports an `Architecture`;
 * `registry.ts` lists them, and the CLI's list of supported models is generated from it.
 *
 * A family builds a forward graph for a concrete [batch, seq] from named weights (the
 * Hugging Face state_dict names of the head class) and emits the TransformerLens hook names
 * as taps, so every method works the same on every family.
 */
import type { Graph, Value } from '../graph/graph.js';

/** What sits on top of the transformer. */
export type HeadKind = 'base' | 'causal_lm' | 'masked_lm' | 'sequence_classification';

/** The config fields glassbox reads, normalised across families. */
export interface ModelConfig {
  modelType: string;
  nLayers: number;
  nHeads: number;
  /** Key/value heads (grouped-query attention); equals nHeads elsewhere. */
  nKvHeads: number;
  dModel: number;
  dHead: number;
  dMlp: number;
  vocabSize: number;
  maxPositions: number;
  /** Causal (decoder) attention. */
  causal: boolean;
  /** Token-type (segment) embeddings exist (BERT). */
  typeVocabSize: number;
  numLabels: number;
  id2label: Record<number, string>;
  padTokenId: number | null;
  tieWordEmbeddings: boolean;
  /** The raw config.json. */
  raw: Record<string, unknown>;
}

/** Host-side inputs of one forward pass, [batch][seq] each. */
export interface ModelInputs {
  inputIds: number[][];
  attentionMask: number[][];
  tokenTypeIds?: number[][];
}

export interface BuildContext {
  g: Graph;
  batch: number;
  seq: number;
  /** [batch, seq] int64 */
  inputIds: Value;
  /** [batch, seq] int64, 1 for tokens, 0 for padding */
  attentionMask: Value;
  /** [batch, seq] int64 (computed on the host by the family's `positionIds`) */
  positionIds: Value;
  /** [batch, seq] int64, or null for families without token types */
  tokenTypeIds: Value | null;
  /** [batch] int64: the position the classifier reads (first or last real token) */
  poolIndex: Value;
  /**
   * Language-model heads apply only at these positions when set (logits [batch, positions.length, vocab]):
   * a target at one position needs only that position's logits, not a vocabulary-sized matrix per token.
   */
  headPositions: number[] | null;
  /** Declare (or fetch) a weight by its state_dict name, with its expected shape. */
  weight: (name: string) => Value;
}

export interface BuildOutput {
  /** [batch, num_labels] for classifiers; [batch, seq, vocab] for language models; [batch, seq, d_model] for base models. */
  logits: Value;
}

export interface WeightSpec {
  /** Every tensor the head class reads, by state_dict name, with its shape. */
  expected: Map<string, number[]>;
  /** Tensors that may be absent (tied heads). */
  optional: Set<string>;
  /** Unexpected names that are silently ignored (buffers such as GPT-2's attn.bias). */
  ignore: RegExp[];
  /** Tensors filled from another when absent (tied embeddings): target -> source. */
  tied: Map<string, string>;
  /** The base-model prefix (`transformer.`, `bert.`, ...), for loading a base checkpoint into a head class or back. */
  prefix: string;
}

export interface Architecture {
  /** Family name shown to users. */
  family: string;
  /** config.json `model_type` values this family reads. */
  modelTypes: string[];
  /** Supported Hugging Face classes and what each puts on top. */
  classes: Record<string, HeadKind>;
  /** Class used when config.json has no `architectures`. */
  defaultClass: string;
  parseConfig(raw: Record<string, unknown>): ModelConfig;
  weights(cfg: ModelConfig, cls: string): WeightSpec;
  /** Host-side position ids from the attention mask ([batch][seq]). */
  positionIds(mask: number[][], cfg: ModelConfig): number[][];
  /** Which token a sequence classifier reads: the first real token (BERT's [CLS]) or the last (GPT-2). */
  poolAt: 'first' | 'last';
  build(ctx: BuildContext, cfg: ModelConfig, cls: string): BuildOutput;
  /** The hook names this family emits, for a config (documented with shapes in `hooks.ts`). */
  hookNames(cfg: ModelConfig): string[];
}
