/**
 * glassbox for browsers: the core plus the WebAssembly ONNX Runtime executor. Never imports
 * onnxruntime-node.
 */
export * from './core.js';
export { createWebExecutor, type WebExecutorOptions } from './runtime/web.js';
