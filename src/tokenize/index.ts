/**
 * Tokenizers: Hugging Face `tokenizer.json` through Tokenizers.js, with character offsets,
 * pairs, truncation and padding (see tokenizer.ts).
 */
export {
  loadTokenizer,
  tokenizerFromJson,
  type DecodeOptions,
  type EncodeBatchOptions,
  type EncodeOptions,
  type Encoding,
  type Tokenizer,
  type Truncation,
} from './tokenizer.js';
