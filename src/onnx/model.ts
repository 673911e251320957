/**
 * A plain, serialisable picture of an ONNX model: exactly the subset of ModelProto that
 * glassbox writes and reads. The graph layer converts to and from this; the codec in
 * `codec.ts` turns it into ModelProto bytes and back. Keeping this layer dumb (names, not
 * object references) means the wire format never leaks into the graph code.
 */
import type { AnyTypedArray, DType } from '../graph/dtype.js';

export interface OnnxTensor {
  name: string;
  dtype: DType;
  dims: number[];
  /** Element values. For initializers read from a file this is a copy or a view of the file bytes. */
  data: AnyTypedArray;
}

export type OnnxAttribute =
  | { name: string; type: 'float'; value: number }
  | { name: string; type: 'int'; value: number }
  | { name: string; type: 'string'; value: string }
  | { name: string; type: 'floats'; value: number[] }
  | { name: string; type: 'ints'; value: number[] }
  | { name: string; type: 'tensor'; value: OnnxTensor };

export interface OnnxNode {
  name: string;
  opType: string;
  /** Operator domain; '' is the default ONNX domain. */
  domain: string;
  /** Input value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
}

export interface OnnxValueInfo {
  name: string;
  dtype: DType;
  /** Concrete dims; a symbolic or unknown dim is -1 (only ever seen when decoding foreign files). */
  dims: number[];
}

export interface OnnxModel {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  graphName: string;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
}

/** The opset glassbox emits: 18 is the first where every Reduce* takes its axes as an input. */
export const OPSET = 18;
export const IR_VERSION = 8;
