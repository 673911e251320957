/**
 * Loss graphs for classifiers, built from the engine's ops so that `vjp` differentiates them
 * like any other part of the graph.
 *
 * Both losses take per-example weights `w` [batch]: the loss is a weighted sum over the
 * batch, so with w = 1/n on the n real rows and 0 on padding rows a partly filled batch runs
 * in the session of a full one and still gives the mean over its real examples.
 */
import type { Value } from '../graph/graph.js';
import * as op from '../graph/ops.js';

/**
 * Cross-entropy against target distributions (one-hot labels, or smoothed ones):
 *   L = sum_b w_b * sum_c -t_bc log softmax(z_b)_c
 * logits z [batch, classes], targets t [batch, classes], weights w [batch]. With one-hot t and
 * w = 1/batch this is torch's `F.cross_entropy(z, y)` (mean reduction).
 */
export function crossEntropy(logits: Value, targets: Value, weights: Value): Value {
  const logp = op.logSoftmax(logits, -1); // [batch, classes]
  const perExample = op.neg(op.reduceSum(op.mul(targets, logp), -1)); // [batch]
  return op.reduceSum(op.mul(perExample, weights));
}

/**
 * Distillation loss to a teacher's soft targets at temperature T (Hinton et al. 2015,
 * "Distilling the Knowledge in a Neural Network"):
 *   L = T^2 * sum_b w_b * KL( softmax(teacher_b / T) || softmax(student_b / T) )
 *     = T^2 * sum_b w_b * sum_c p_bc (log p_bc - log q_bc)
 * The T^2 factor keeps the gradient's scale independent of T (Hinton et al., section 2).
 * student, teacher [batch, classes]; weights [batch]. The teacher's logits are an input, so
 * no gradient flows into them.
 */
export function distillationLoss(student: Value, teacher: Value, weights: Value, temperature: number): Value {
  const logq = op.logSoftmax(op.div(student, temperature), -1);
  const logp = op.logSoftmax(op.div(teacher, temperature), -1);
  const kl = op.reduceSum(op.mul(op.exp(logp), op.sub(logp, logq)), -1); // [batch]
  return op.mul(op.reduceSum(op.mul(kl, weights)), temperature * temperature);
}
