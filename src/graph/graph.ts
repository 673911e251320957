/**
 * The graph: values with a dtype and a concrete shape, nodes that produce them, named taps.
 *
 * Decision: shapes are concrete. A graph is built for the batch and sequence length at
 * hand, so every shape is known while building (mismatches are caught at the line that
 * made them) and gradient rules can reduce broadcast dimensions statically. Graphs are
 * cheap to build (milliseconds), and compiled sessions are cached by a structural key.
 *
 * Values know their graph, so the op functions in `ops.ts` take values only:
 * `op.matmul(x, w)`. Nodes are appended in creation order; `topoOrder` gives a valid
 * order after rewrites (taps may rewire consumers to nodes created later).
 */
import { GlassboxError, fail } from '../errors.js';
import { type AnyTypedArray, type DType, allocate, dtypeOfArray, sizeOf } from './dtype.js';
import type { OpAttrs, OpType } from './op-types.js';

export type ValueRole = 'input' | 'weight' | 'constant' | 'intermediate';

export interface Value {
  readonly id: number;
  readonly graph: Graph;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Unique within the graph; becomes the ONNX value name. */
  name: string;
  readonly role: ValueRole;
  /** The node that computes this value; null for inputs, weights and constants. */
  producer: Node | null;
  /** Data of a constant (small tensors: shapes, masks, scalars). */
  readonly data?: AnyTypedArray;
}

export interface Node<T extends OpType = OpType> {
  readonly id: number;
  readonly op: T;
  readonly name: string;
  inputs: (Value | null)[];
  readonly outputs: Value[];
  readonly attrs: OpAttrs[T];
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly constants: Value[] = [];
  readonly outputs = new Map<string, Value>();
  readonly taps = new Map<string, Value>();
  private nextId = 0;
  private readonly names = new Set<string>();
  private scopes: string[] = [];
  /** Memo of scalar constants so `op.mul(x, 0.5)` twice makes one constant. */
  private readonly scalarCache = new Map<string, Value>();

  constructor(readonly name = 'glassbox') {}

  /** A runtime input (data that changes per call: ids, masks, embeddings). */
  input(name: string, dtype: DType, shape: readonly number[]): Value {
    return this.addSource(name, dtype, shape, 'input');
  }

  /**
   * A weight: also a runtime input, fed as a zero-copy view of the weight file, so
   * graphs stay small and one session serves many weight sets.
   */
  weight(name: string, dtype: DType, shape: readonly number[]): Value {
    return this.addSource(name, dtype, shape, 'weight');
  }

  /** A constant baked into the graph. Keep these small (shapes, masks, scalars). */
  constant(data: AnyTypedArray, shape: readonly number[], name?: string): Value {
    if (sizeOf(shape) !== data.length) {
      fail('INVALID_ARGUMENT', `constant of shape [${shape}] needs ${sizeOf(shape)} elements, got ${data.length}`);
    }
    const v = this.makeValue(dtypeOfArray(data), shape, 'constant', null, name ?? this.uniqueName('const'), data);
    this.constants.push(v);
    return v;
  }

  /** A scalar constant (shape []) of the given dtype, shared between uses. */
  scalar(x: number, dtype: DType = 'float32'): Value {
    const key = `${dtype}:${Object.is(x, -0) ? '-0' : x}`;
    let v = this.scalarCache.get(key);
    if (!v) {
      const data = allocate(dtype, 1);
      if (data instanceof BigInt64Array) data[0] = BigInt(x);
      else data[0] = x;
      v = this.constant(data, []);
      this.scalarCache.set(key, v);
    }
    return v;
  }

  /** Mark `value` as a graph output under `name`. */
  output(name: string, value: Value): void {
    this.checkOwn(value, `output '${name}'`);
    if (this.outputs.has(name)) fail('INVALID_ARGUMENT', `graph output '${name}' is already defined`);
    this.outputs.set(name, value);
  }

  /** Name a value as a tap point: it can then be captured, replaced, mixed or differentiated. */
  tap(name: string, value: Value): Value {
    this.checkOwn(value, `tap '${name}'`);
    if (this.taps.has(name)) fail('INVALID_ARGUMENT', `tap '${name}' is already defined`, { where: this.name });
    this.taps.set(name, value);
    return value;
  }

  getTap(name: string): Value {
    const v = this.taps.get(name);
    if (!v) {
      const known = [...this.taps.keys()];
      fail('UNKNOWN_TAP', `no tap named '${name}'`, {
        where: `graph '${this.name}'`,
        hint: known.length ? `Known taps: ${abbreviate(known)}` : 'This graph has no taps',
      });
    }
    return v;
  }

  /** Run `fn` with node names prefixed by `scope/`, e.g. `blocks.3.attn/MatMul_57`. */
  scope<T>(scope: string, fn: () => T): T {
    this.scopes.push(scope);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** Current scope path, for error messages. */
  get scopePath(): string {
    return this.scopes.join('/');
  }

  /** Append a node. Used by `ops.ts`, which has already inferred the output types. */
  addNode<T extends OpType>(
    op: T,
    inputs: (Value | null)[],
    attrs: OpAttrs[T],
    outTypes: { dtype: DType; shape: readonly number[] }[],
  ): Node<T> {
    for (const v of inputs) if (v) this.checkOwn(v, `input of ${op}`);
    const id = this.nextId++;
    const prefix = this.scopes.length ? this.scopes.join('/') + '/' : '';
    const name = this.uniqueName(`${prefix}${op}_${id}`);
    const outputs: Value[] = [];
    const node: Node<T> = { id, op, name, inputs, outputs, attrs };
    outTypes.forEach((t, i) => {
      outputs.push(this.makeValue(t.dtype, t.shape, 'intermediate', node, this.uniqueName(`${name}:${i}`)));
    });
    this.nodes.push(node as unknown as Node);
    return node;
  }

  /** A name not yet used in this graph, derived from `base`. */
  uniqueName(base: string): string {
    let name = base;
    for (let k = 1; this.names.has(name); k++) name = `${base}_${k}`;
    this.names.add(name);
    return name;
  }

  /** Replace every use of `from` (as a node input or graph output) by `to`, except in `exclude` nodes. */
  replaceUses(from: Value, to: Value, exclude: ReadonlySet<Node> = new Set()): void {
    if (from.dtype !== to.dtype || !sameShape(from.shape, to.shape)) {
      fail('SHAPE_MISMATCH', `cannot replace ${describe(from)} by ${describe(to)}: dtype and shape must match`);
    }
    for (const n of this.nodes) {
      if (exclude.has(n)) continue;
      for (let i = 0; i < n.inputs.length; i++) if (n.inputs[i] === from) n.inputs[i] = to;
    }
    for (const [k, v] of this.outputs) if (v === from) this.outputs.set(k, to);
  }

  /**
   * Nodes in an order where every node comes after the producers of its inputs, restricted
   * to those needed for `roots` (default: all graph outputs).
   */
  topoOrder(roots: Value[] = [...this.outputs.values()]): Node[] {
    const order: Node[] = [];
    const state = new Map<Node, 1 | 2>(); // 1 = visiting, 2 = done
    // Iterative DFS: graphs of deep models are thousands of nodes long.
    const stack: [Node, number][] = [];
    const visitValue = (v: Value | null) => {
      if (!v || !v.producer || state.get(v.producer) === 2) return;
      if (state.get(v.producer) === 1) fail('INVALID_ARGUMENT', `graph has a cycle through node '${v.producer.name}'`);
      state.set(v.producer, 1);
      stack.push([v.producer, 0]);
    };
    for (const r of roots) {
      visitValue(r);
      while (stack.length) {
        const top = stack[stack.length - 1];
        const [node, i] = top;
        if (i < node.inputs.length) {
          top[1]++;
          visitValue(node.inputs[i]);
        } else {
          stack.pop();
          state.set(node, 2);
          order.push(node);
        }
      }
    }
    return order;
  }

  private addSource(name: string, dtype: DType, shape: readonly number[], role: 'input' | 'weight'): Value {
    if (this.names.has(name)) fail('INVALID_ARGUMENT', `graph input name '${name}' is already used`, { where: this.name });
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) fail('INVALID_ARGUMENT', `input '${name}' has an invalid shape [${shape}]`);
    }
    this.names.add(name);
    const v = this.makeValue(dtype, shape, role, null, name);
    this.inputs.push(v);
    return v;
  }

  private makeValue(
    dtype: DType,
    shape: readonly number[],
    role: ValueRole,
    producer: Node | null,
    name: string,
    data?: AnyTypedArray,
  ): Value {
    return { id: this.nextId++, graph: this, dtype, shape: Object.freeze([...shape]), name, role, producer, data };
  }

  private checkOwn(v: Value, what: string): void {
    if (!v || typeof v !== 'object' || !('graph' in v)) {
      throw new GlassboxError('INVALID_ARGUMENT', `${what}: expected a graph value, got ${String(v)}`);
    }
    if (v.graph !== this) fail('INVALID_ARGUMENT', `${what}: value '${v.name}' belongs to another graph`);
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function describe(v: Value): string {
  return `'${v.name}' (${v.dtype}[${v.shape.join(', ')}])`;
}

function abbreviate(names: string[], max = 20): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')}, ... (${names.length} in all)`;
}
