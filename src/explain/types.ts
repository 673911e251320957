/**
 * The one result type every attribution method returns, and the options they share.
 * Renderers (render/) and metrics (metrics/) take an `Attribution` and nothing else.
 */
import type { Model } from '../models/model.js';
import type { Executor } from '../runtime/executor.js';

/** One input token, with its character span in the text (UTF-16 indices; [0, 0] for added specials). */
export interface Token {
  id: number;
  text: string;
  start: number;
  end: number;
  special: boolean;
  /** Segment (token type) id: 1 for the second text of a pair in BERT-style models. */
  typeId: number;
}

/** A unit being attributed: a token, a word (merged subword pieces) or a custom span. */
export interface Feature {
  label: string;
  /** Indices into `tokens`. */
  tokens: number[];
}

export type ScoreKind = 'logit' | 'prob' | 'logprob';

/** What is being explained, resolved against the model and the input. */
export interface Target {
  kind: 'class' | 'next-token' | 'continuation';
  /** Class index (classifiers) or token id(s) (language models). */
  ids: number[];
  /** Display labels (class names or token strings). */
  labels: string[];
  /** Positions whose logits give the target (language models): position p predicts token p+1. */
  positions: number[];
  /** Contrastive: the foil's id (at the same position), subtracted from the target's score. */
  foil: { id: number; label: string } | null;
  score: ScoreKind;
  /** Human-readable summary, e.g. `class positive (logit)`. */
  description: string;
}

export interface Prediction {
  /** Top class or next token. */
  id: number;
  label: string;
  probability: number;
}

export interface Quality {
  /** f at the input and at the baseline. */
  fx?: number;
  fBaseline?: number;
  /** Integrated gradients: sum of attributions - (f(x) - f(baseline)). */
  completenessDelta?: number;
  /** LIME / KernelSHAP surrogate fit: weighted R^2 on its samples. */
  surrogateR2?: number;
  /** SmoothGrad/VarGrad and sampling methods: mean per-feature standard error. */
  standardError?: number;
  [k: string]: number | undefined;
}

export interface Attribution {
  method: string;
  text: string | null;
  tokens: Token[];
  features: Feature[];
  /** One score per feature. */
  scores: number[];
  /** Per token and dimension ([token][dim]), gradient methods, on request (`full`). */
  full?: number[][];
  target: Target;
  prediction: Prediction;
  /** Where attributions were taken: 'embed' (word-embedding output) or a hook name. */
  at: string;
  settings: Record<string, unknown>;
  quality: Quality;
  /** Method-specific extras (attention matrices, generation rows). */
  extra?: Record<string, unknown>;
}

export interface Progress {
  done: number;
  total: number;
  stage?: string;
}

export interface TargetSpec {
  /** Classifiers: index or label name. Language models: token id or single-token string. */
  target?: number | string;
  /** Language models: a continuation (text or ids), teacher-forced; f = sum of its log-probabilities. */
  continuation?: string | number[];
  /** Contrastive foil token (id or single-token string). */
  foil?: number | string;
  /** Language models: the position whose next-token prediction is explained (default: the last). */
  position?: number;
  score?: ScoreKind;
}

export type BaselineSpec = 'zero' | 'pad' | 'mask' | 'unk' | `token:${number}` | `text:${string}`;

export interface ExplainOptions extends TargetSpec {
  method: string;
  /** 'embed' (default) or a hook name such as `blocks.3.hook_resid_pre`. */
  at?: string;
  baseline?: BaselineSpec;
  steps?: number;
  integration?: 'gauss-legendre' | 'riemann-left' | 'riemann-right' | 'riemann-middle' | 'riemann-trapezoid';
  /** Items per engine run (IG steps, samples). */
  batchSize?: number;
  samples?: number;
  seed?: number;
  /** SmoothGrad / VarGrad noise: standard deviation as a fraction of the input's range. */
  noise?: number;
  /** SmoothGrad / VarGrad: the gradient method to average (default saliency). */
  base?: 'saliency' | 'input-x-gradient' | 'integrated-gradients';
  /** Feature grouping: tokens (default), words, or custom spans [start, end) in token indices. */
  group?: 'tokens' | 'words' | { spans: [number, number][]; labels?: string[] };
  /** Return the per-dimension tensor (gradient methods). */
  full?: boolean;
  /** Saliency: absolute values (default true). */
  absolute?: boolean;
  /** Attention methods: layer and head selection, aggregation. */
  layer?: number | 'all';
  head?: number | 'all';
  executor?: Executor;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** LIME: width of the exponential kernel on the cosine distance (Captum's kernel_width, default 1). */
  kernelWidth?: number;
}

/** The input to explain: a text (tokenized by the model's tokenizer) or token ids. */
export interface ExplainInput {
  text?: string;
  pair?: string;
  ids?: number[];
  typeIds?: number[];
}

export type AttributionMethod = (model: Model, input: ExplainInput, options: ExplainOptions) => Promise<Attribution>;
