/**
 * Typed errors. Every failure a user can cause carries a stable `code`, says what was
 * wrong, where (node, input, tensor, file) and, where we know it, what to do about it.
 */

export type ErrorCode =
  | 'SHAPE_MISMATCH'
  | 'DTYPE_MISMATCH'
  | 'INVALID_ARGUMENT'
  | 'UNSUPPORTED_OP'
  | 'NO_GRADIENT'
  | 'MISSING_FEED'
  | 'BAD_FEED'
  | 'UNKNOWN_TAP'
  | 'ONNX_DECODE'
  | 'RUNTIME'
  | 'CANCELLED'
  | 'BAD_CONFIG'
  | 'UNSUPPORTED_MODEL'
  | 'BAD_INPUT'
  | 'BAD_WEIGHTS'
  | 'MISSING_FILE'
  | 'DOWNLOAD'
  | 'OFFLINE'
  | 'NOT_FOUND'
  | 'BAD_TOKENIZER'
  | 'AUTH';

export class GlassboxError extends Error {
  readonly code: ErrorCode;
  /** Where the problem is: a node, an input name, a tensor, a file. */
  readonly where?: string;
  /** What the user can do about it. */
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, opts: { where?: string; hint?: string; cause?: unknown } = {}) {
    const full =
      (opts.where ? `${message} (at ${opts.where})` : message) + (opts.hint ? `. ${opts.hint}` : '');
    super(full, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GlassboxError';
    this.code = code;
    this.where = opts.where;
    this.hint = opts.hint;
  }
}

export function fail(code: ErrorCode, message: string, opts?: { where?: string; hint?: string; cause?: unknown }): never {
  throw new GlassboxError(code, message, opts);
}
