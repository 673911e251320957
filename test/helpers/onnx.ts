/** An OnnxModel with defaults (opset 18, IR 8) for hand-built test models. */
import type { OnnxModel } from '../../src/onnx/model.js';

export function model(partial: Partial<OnnxModel>): OnnxModel {
  return {
    irVersion: 8,
    opsetVersion: 18,
    producerName: 'glassbox-test',
    graphName: 'g',
    inputs: [],
    outputs: [],
    nodes: [],
    initializers: [],
    ...partial,
  };
}
