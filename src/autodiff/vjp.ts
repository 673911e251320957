/**
 * Reverse-mode differentiation as a graph transformation.
 *
 * `vjp(outputs, cotangents, wrt)` appends to the graph the nodes that compute
 * sum_i <cotangent_i, d output_i / d wrt_j> for every wrt_j, and returns those values.
 * `wrt` may be graph inputs, weights or any intermediate value (differentiating at a tap).
 * Forward and backward are one graph, so ONNX Runtime runs them in one session and reuses
 * the forward activations the rules read.
 *
 * Each result is a total derivative: with wrt = [x, h] where h depends on x, dL/dx includes
 * the path through h.
 *
 * Only nodes on a path from some wrt value to some output are differentiated, and a rule
 * is asked only for the inputs that lie on such a path: asking for the gradient with
 * respect to the input embeddings computes no weight gradients.
 */
import { fail } from '../errors.js';
import { isFloat } from '../graph/dtype.js';
import { type Graph, type Node, type Value, describe, sameShape } from '../graph/graph.js';
import type { OpType } from '../graph/op-types.js';
import * as op from '../graph/ops.js';
import { type GradRule, NONDIFFERENTIABLE, RULES, type RuleContext } from './rules.js';

/**
 * Vector-Jacobian product. `cotangents[i]` must match `outputs[i]` in dtype and shape; null
 * means ones (the plain gradient of a sum).
 */
export function vjp(outputs: Value[], cotangents: (Value | null)[], wrt: Value[]): Value[] {
  if (outputs.length === 0) fail('INVALID_ARGUMENT', 'vjp: no outputs to differentiate');
  if (cotangents.length !== outputs.length) fail('INVALID_ARGUMENT', `vjp: ${outputs.length} outputs but ${cotangents.length} cotangents`);
  const g: Graph = outputs[0].graph;
  for (const v of [...outputs, ...wrt]) {
    if (v.graph !== g) fail('INVALID_ARGUMENT', `vjp: ${describe(v)} belongs to another graph`);
    if (!isFloat(v.dtype)) fail('NO_GRADIENT', `vjp: ${describe(v)} is not a floating-point value and has no gradient`);
  }

  // Values that depend on some wrt value (forward reachability over the whole graph).
  const nodes = g.topoOrder(outputs);
  const depends = new Set<Value>(wrt);
  const active: Node[] = [];
  for (const n of nodes) {
    if (n.inputs.some((v) => v && depends.has(v))) {
      active.push(n);
      for (const o of n.outputs) if (isFloat(o.dtype)) depends.add(o);
    }
  }

  const contributions = new Map<Value, Value[]>();
  const addContribution = (v: Value, d: Value) => {
    if (d.dtype !== v.dtype || !sameShape(d.shape, v.shape)) {
      fail('SHAPE_MISMATCH', `vjp: cotangent ${describe(d)} does not match ${describe(v)}`, {
        where: v.producer?.name,
        hint: 'This is a bug in a gradient rule; please report it',
      });
    }
    const list = contributions.get(v);
    if (list) list.push(d);
    else contributions.set(v, [d]);
  };
  outputs.forEach((o, i) => {
    const c = cotangents[i];
    if (c) addContribution(o, c);
    else addContribution(o, op.onesLike(o));
  });

  const total = (v: Value): Value | null => {
    const list = contributions.get(v);
    if (!list) return null;
    let s = list[0];
    for (const d of list.slice(1)) s = op.add(s, d);
    contributions.set(v, [s]);
    return s;
  };

  return g.scope('grad', () => {
    for (let k = active.length - 1; k >= 0; k--) {
      const n = active[k];
      const dy = n.outputs.map(total);
      if (dy.every((d) => d === null)) continue;
      const rule = RULES[n.op];
      if (rule === NONDIFFERENTIABLE) continue;
      const needs = n.inputs.map((v) => !!v && depends.has(v) && isFloat(v.dtype));
      const ctx: RuleContext<OpType> = {
        node: n,
        x: n.inputs.filter((v): v is Value => v !== null),
        y: n.outputs,
        dy,
        needs,
      };
      const dx = (rule as GradRule<OpType>)(ctx);
      n.inputs.forEach((v, i) => {
        if (v && needs[i] && dx[i]) addContribution(v, dx[i]!);
      });
    }
    return wrt.map((w) => total(w) ?? op.zeros(g, w.dtype, w.shape));
  });
}

/** Gradient of a scalar (or the sum of a tensor) with respect to each of `wrt`. */
export function grad(output: Value, wrt: Value[]): Value[] {
  return vjp([output], [null], wrt);
}
