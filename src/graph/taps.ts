/**
 * Taps: named points on any value of a graph, and the four things a run can do at one.
 *
 *   capture   the value becomes an extra graph output
 *   replace   every consumer reads a run-time input instead
 *   mix       consumers read x·(1−m) + p·m, with the patch p and the mask m fed at run time,
 *             so a batch of patch configurations (one mask row each) is one session run
 *   grad      differentiate with respect to it (see `autodiff/vjp.ts`; pass `g.getTap(name)`)
 *
 * These are rewrites of the graph being built: build the forward graph, apply the taps a
 * call needs, then compile. Sessions are cached by the compiled bytes, so the same rewrite
 * of the same graph reuses its session.
 */
import { fail } from '../errors.js';
import type { Graph, Node, Value } from './graph.js';
import { broadcastShapes } from './ops.js';
import * as op from './ops.js';

/** Add the tap's current value as a graph output named `as` (default: the tap name). */
export function captureTap(g: Graph, name: string, as = name): Value {
  const v = g.getTap(name);
  g.output(as, v);
  return v;
}

/** Make every consumer of the tap read a new graph input named `as` (default `replace:<name>`). */
export function replaceTap(g: Graph, name: string, as = `replace:${name}`): Value {
  const v = g.getTap(name);
  const input = g.input(as, v.dtype, v.shape);
  g.replaceUses(v, input);
  g.taps.set(name, input);
  return input;
}

export interface MixOptions {
  /** Shape of the patch input, broadcastable to the tap's shape (default: the tap's shape). */
  patchShape?: readonly number[];
  /** Shape of the mask input, broadcastable to the tap's shape (default: the tap's shape). */
  maskShape?: readonly number[];
  /** Input names (default `mix:<name>:patch` and `mix:<name>:mask`). */
  patchName?: string;
  maskName?: string;
}

/**
 * Consumers of the tap read x + (p − x)·m, which equals x·(1−m) + p·m: m = 0 keeps the
 * run's own value, m = 1 takes the patch, anything between interpolates. Returns the two
 * new inputs and the mixed value.
 */
export function mixTap(g: Graph, name: string, opts: MixOptions = {}): { patch: Value; mask: Value; mixed: Value } {
  const v = g.getTap(name);
  const patchShape = opts.patchShape ?? v.shape;
  const maskShape = opts.maskShape ?? v.shape;
  for (const [what, s] of [['patch', patchShape], ['mask', maskShape]] as const) {
    const b = broadcastShapes(`mix '${name}' ${what}`, g, s, v.shape);
    if (b.length !== v.shape.length || b.some((d, i) => d !== v.shape[i])) {
      fail('SHAPE_MISMATCH', `mix '${name}': ${what} shape [${s}] must broadcast to the tap's shape [${v.shape}]`);
    }
  }
  const patch = g.input(opts.patchName ?? `mix:${name}:patch`, v.dtype, patchShape);
  const mask = g.input(opts.maskName ?? `mix:${name}:mask`, v.dtype, maskShape);
  const before = g.nodes.length;
  const mixed = op.add(v, op.mul(op.sub(patch, v), mask));
  const own = new Set<Node>(g.nodes.slice(before));
  g.replaceUses(v, mixed, own);
  g.taps.set(name, mixed);
  return { patch, mask, mixed };
}
