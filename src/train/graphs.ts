/**
 * The graphs training runs: the model's forward graph with a loss and, by `vjp`, the
 * gradient of that loss with respect to every weight, all in one graph and so one ONNX
 * Runtime session per [batch, seq] shape.
 *
 * Dropout (Srivastava et al. 2014) is added where transformers' BERT applies it — the
 * embedding output, the attention probabilities, the attention and MLP outputs before their
 * residual adds, and the pooled output before the classifier — as a multiplication by a mask
 * fed at run time (0 or 1/(1-p), "inverted" dropout), drawn on the host from the run's
 * seeded generator. The graph stays deterministic; evaluation uses the plain forward graph.
 * The masks go in at the model's tap points, so the architecture code is untouched.
 */
import { vjp } from '../autodiff/vjp.js';
import { fail } from '../errors.js';
import type { Graph, Node, Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';
import type { Model } from '../models/model.js';
import { crossEntropy, distillationLoss } from './loss.js';

export interface DropoutRates {
  /** On the embedding output, the attention and MLP outputs, and the pooled output (HF hidden_dropout_prob). */
  hidden: number;
  /** On the attention probabilities (HF attention_probs_dropout_prob). */
  attention: number;
}

/** A mask input of the training graph: its name, shape and drop rate. */
export interface DropoutSite {
  input: string;
  shape: readonly number[];
  p: number;
}

export interface TrainGraph {
  graph: Graph;
  /** Scalar loss (output 'loss'); 'logits' is an output too. */
  loss: Value;
  /** Weight name -> the output holding its gradient. */
  gradOutputs: Map<string, string>;
  dropout: DropoutSite[];
}

export interface TrainGraphOptions {
  dropout?: DropoutRates;
  /**
   * 'cross_entropy' (inputs `targets` [batch, classes] and `example_weights` [batch]), or
   * distillation to `teacher_logits` [batch, classes] at a temperature, mixed with the hard
   * loss as alpha * KD + (1 - alpha) * CE.
   */
  loss?: 'cross_entropy' | { distill: { temperature: number; alpha: number } };
}

/** Multiply `v` by a new mask input for every consumer (the mask's own node excluded). */
function maskValue(g: Graph, v: Value, input: string): Value {
  const mask = g.input(input, v.dtype, v.shape);
  const before = g.nodes.length;
  const dropped = op.mul(v, mask);
  g.replaceUses(v, dropped, new Set<Node>(g.nodes.slice(before)));
  return mask;
}

/** Insert dropout masks at BERT's dropout sites. Returns the mask inputs to feed. */
export function addDropout(g: Graph, nLayers: number, rates: DropoutRates): DropoutSite[] {
  const sites: DropoutSite[] = [];
  const add = (v: Value, input: string, p: number) => {
    if (p <= 0) return;
    if (p >= 1) fail('INVALID_ARGUMENT', `dropout rate must be below 1, got ${p}`);
    maskValue(g, v, input);
    sites.push({ input, shape: v.shape, p });
  };
  add(g.getTap('blocks.0.hook_resid_pre'), 'dropout:embed', rates.hidden);
  for (let l = 0; l < nLayers; l++) {
    add(g.getTap(`blocks.${l}.attn.hook_pattern`), `dropout:blocks.${l}.attn.pattern`, rates.attention);
    add(g.getTap(`blocks.${l}.hook_attn_out`), `dropout:blocks.${l}.attn_out`, rates.hidden);
    add(g.getTap(`blocks.${l}.hook_mlp_out`), `dropout:blocks.${l}.mlp_out`, rates.hidden);
  }
  // The classifier's input: the pooled output (found as the Gemm that reads classifier.weight).
  const classifier = g.nodes.find((n) => n.op === 'Gemm' && n.inputs[1]?.name === 'classifier.weight');
  if (classifier?.inputs[0]) add(classifier.inputs[0], 'dropout:pooled', rates.hidden);
  return sites;
}

/**
 * The training graph of a sequence classifier for one [batch, seq] shape.
 *
 * @example
 * const { graph, gradOutputs } = buildTrainGraph(model, 32, 16, { dropout: { hidden: 0.1, attention: 0.1 } });
 * const program = compile(graph);
 */
export function buildTrainGraph(model: Model, batch: number, seq: number, opts: TrainGraphOptions = {}): TrainGraph {
  if (model.head !== 'sequence_classification') {
    fail('UNSUPPORTED_MODEL', `training needs a sequence classifier, not a ${model.head} model (${model.className})`);
  }
  const { graph: g, logits } = model.buildGraph(batch, seq);
  const classes = logits.shape[1]!;
  const dropout = opts.dropout ? addDropout(g, model.config.nLayers, opts.dropout) : [];
  const weights = g.input('example_weights', 'float32', [batch]);
  const spec = opts.loss ?? 'cross_entropy';
  let loss: Value;
  if (spec === 'cross_entropy') {
    loss = crossEntropy(logits, g.input('targets', 'float32', [batch, classes]), weights);
  } else {
    const { temperature, alpha } = spec.distill;
    const kd = distillationLoss(logits, g.input('teacher_logits', 'float32', [batch, classes]), weights, temperature);
    loss = alpha >= 1 ? kd : op.add(op.mul(kd, alpha), op.mul(crossEntropy(logits, g.input('targets', 'float32', [batch, classes]), weights), 1 - alpha));
  }
  g.output('loss', loss);
  const params = g.inputs.filter((v) => v.role === 'weight');
  const grads = vjp([loss], [null], params);
  const gradOutputs = new Map<string, string>();
  params.forEach((w, i) => {
    g.output(`grad:${w.name}`, grads[i]!);
    gradOutputs.set(w.name, `grad:${w.name}`);
  });
  return { graph: g, loss, gradOutputs, dropout };
}
