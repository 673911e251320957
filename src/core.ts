/**
 * The runtime-free core of glassbox: graphs, ops, autodiff, taps, ONNX import/export and
 * programs. Both entry points (`index.ts` for Node, `web.ts` for browsers) re-export it and
 * add their own executor.
 */
export { GlassboxError, type ErrorCode } from './errors.js';
export { type DType, type AnyTypedArray } from './graph/dtype.js';
export { Graph, type Value, type Node } from './graph/graph.js';
export { OP_TYPES, type OpType, type OpAttrs } from './graph/op-types.js';
export * as op from './graph/ops.js';
export { captureTap, replaceTap, mixTap, type MixOptions } from './graph/taps.js';
export { toOnnx } from './graph/to-onnx.js';
export { fromOnnx, importOnnx, SUPPORTED_OPS, type FromOnnxOptions, type ImportedGraph } from './graph/from-onnx.js';
export { encodeModel, decodeModel } from './onnx/codec.js';
export { type OnnxModel } from './onnx/model.js';
export { vjp, grad } from './autodiff/vjp.js';
export { RULES, NONDIFFERENTIABLE } from './autodiff/rules.js';
export { compile, runProgram, type Program } from './engine/program.js';
export { runBatched, activationBytes, type Progress, type RunBatchedOptions } from './engine/batched.js';
export { tensor, type HostTensor } from './runtime/tensor.js';
export { compileModel, type CompiledModel, type Executor } from './runtime/executor.js';
export { planChunks, sliceBatch, concatBatch } from './runtime/chunk.js';
export * as nn from './nn/layers.js';
