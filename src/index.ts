/**
 * glassbox for Node: the core plus the native ONNX Runtime executor.
 *
 * @example
 * import { Graph, op, grad, compile, runProgram, defaultExecutor, tensor } from 'glassbox';
 * const g = new Graph();
 * const x = g.input('x', 'float32', [2, 3]);
 * const w = g.weight('w', 'float32', [3, 4]);
 * const y = op.reduceSum(op.tanh(op.matmul(x, w)));
 * g.output('y', y);
 * g.output('dx', grad(y, [x])[0]);
 * const out = await runProgram(defaultExecutor(), compile(g), { x: tensor('float32', [2, 3], [...]), w: ... });
 */
export * from './core.js';
export { createNodeExecutor, defaultExecutor, type NodeExecutorOptions } from './runtime/index.js';
// Models, tokenizers, attribution and rendering (Node: they read files and use the native executor).
export { loadModel, createModel, type Model, type LoadModelOptions, type ForwardResult } from './models/model.js';
export { ARCHITECTURES, supportedModelTypes } from './models/registry.js';
export { loadTokenizer, tokenizerFromJson, type Tokenizer, type Encoding } from './tokenize/index.js';
export { explain } from './explain/explain.js';
export { METHODS, getMethod } from './explain/registry.js';
export { explainGeneration } from './explain/generation.js';
export type { Attribution, ExplainOptions, ExplainInput, Target, Token, Feature } from './explain/types.js';
export { faithfulness, type Faithfulness } from './metrics/faithfulness.js';
export { toJson, renderTerminal, renderHtml, renderMatrixTerminal } from './render/index.js';
export * from './surrogate/index.js';
export * as causal from './causal/index.js';
export * as train from './train/index.js';
// The browser executor lives in `glassbox/web` so that Node users do not load WebAssembly.
