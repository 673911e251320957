/**
 * A program is a graph compiled for one executor call signature: the ONNX bytes with
 * their cache key, the inputs they read and the outputs they give. `run` feeds it from a
 * dictionary that may hold more than it needs (a full weight set for a graph that stops at
 * layer 3), and checks what it does need.
 */
import type { Graph, Value } from '../graph/graph.js';
import { toOnnx } from '../graph/to-onnx.js';
import { type CompiledModel, type Executor, compileModel } from '../runtime/executor.js';
import type { HostTensor } from '../runtime/tensor.js';

export interface Program {
  readonly compiled: CompiledModel;
  /** Graph inputs the program reads (weights included). */
  readonly inputs: readonly Value[];
  readonly outputs: readonly string[];
}

/** Compile a graph: ONNX emission, encoding and a structural cache key. */
export function compile(g: Graph): Program {
  const { model, inputs, outputs } = toOnnx(g);
  return { compiled: compileModel(model), inputs, outputs };
}

export interface RunProgramOptions {
  fetch?: string[];
  signal?: AbortSignal;
}

/** Run a program, passing only the feeds it reads. Missing or ill-shaped feeds are reported by name. */
export async function runProgram(
  executor: Executor,
  program: Program,
  feeds: Record<string, HostTensor>,
  opts: RunProgramOptions = {},
): Promise<Record<string, HostTensor>> {
  const needed: Record<string, HostTensor> = {};
  for (const v of program.inputs) if (v.name in feeds) needed[v.name] = feeds[v.name];
  return executor.run(program.compiled, needed, opts.fetch, { signal: opts.signal });
}
