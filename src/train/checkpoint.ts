/**
 * Checkpoints in Hugging Face layout: config.json, model.safetensors (state_dict names and
 * shapes exactly as transformers' BertForSequenceClassification has them), tokenizer.json,
 * tokenizer_config.json and special_tokens_map.json, optionally a README.md model card. The
 * folder loads with glassbox's `loadModel` and with transformers' `from_pretrained`.
 *
 * Decision: an existing folder is refused unless `overwrite` is set, and then only the files
 * a checkpoint consists of are replaced; files are written under temporary names and renamed,
 * so a crash leaves no half-written weights under the real name.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../errors.js';
import { bert } from '../models/bert.js';
import { writeSafetensors } from '../models/safetensors.js';
import type { HostTensor } from '../runtime/tensor.js';

export interface CheckpointParts {
  /** config.json */
  config: Record<string, unknown>;
  /** Weights by state_dict name. */
  weights: Record<string, HostTensor>;
  /** tokenizer.json */
  tokenizerJson: Record<string, unknown>;
}

export interface SaveCheckpointOptions {
  /** Replace the checkpoint files of an existing folder (default: refuse). */
  overwrite?: boolean;
  /** README.md model card. */
  readme?: string;
  /** Extra tokenizer_config.json fields (model_max_length defaults to max_position_embeddings). */
  tokenizerConfig?: Record<string, unknown>;
}

export const CHECKPOINT_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'] as const;

/**
 * Write a BERT checkpoint folder.
 *
 * @example
 * const result = await trainClassifier({ train });
 * await saveCheckpoint('models/my-classifier', { config: result.config, weights: result.model.weights, tokenizerJson: result.tokenizerJson });
 */
export async function saveCheckpoint(dir: string, parts: CheckpointParts, opts: SaveCheckpointOptions = {}): Promise<string[]> {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) fail('BAD_INPUT', `${dir} exists and is a file, not a folder`);
    if (!opts.overwrite && readdirSync(dir).length > 0) {
      fail('BAD_INPUT', `the output folder ${dir} already exists`, { hint: 'Choose another folder, or pass overwrite (--overwrite) to replace its checkpoint' });
    }
  }
  // The weights must be exactly what the architecture declares for the config.
  const cls = Array.isArray(parts.config.architectures) ? String(parts.config.architectures[0]) : 'BertForSequenceClassification';
  if (parts.config.model_type !== 'bert') fail('UNSUPPORTED_MODEL', `saveCheckpoint writes BERT checkpoints; config.json has model_type ${JSON.stringify(parts.config.model_type)}`);
  const spec = bert.weights(bert.parseConfig(parts.config), cls);
  const tensors: Record<string, HostTensor> = {};
  for (const [name, shape] of spec.expected) {
    const t = parts.weights[name];
    if (!t) {
      if (spec.optional.has(name)) continue;
      fail('BAD_WEIGHTS', `cannot save: weight '${name}' [${shape}] is missing`);
    }
    if (t.dims.length !== shape.length || t.dims.some((d, i) => d !== shape[i])) fail('BAD_WEIGHTS', `cannot save: weight '${name}' is [${t.dims}], expected [${shape}]`);
    tensors[name] = t;
  }
  mkdirSync(dir, { recursive: true });
  const maxLen = typeof parts.config.max_position_embeddings === 'number' ? parts.config.max_position_embeddings : 512;
  const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
  const files: [string, string][] = [
    ['config.json', json(parts.config)],
    ['tokenizer.json', JSON.stringify(parts.tokenizerJson)],
    ['tokenizer_config.json', json({ ...tokenizerConfigJson(maxLen), ...opts.tokenizerConfig })],
    ['special_tokens_map.json', json(specialTokensMapJson())],
  ];
  if (opts.readme !== undefined) files.push(['README.md', opts.readme]);
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  for (const [name, text] of files) {
    const tmp = join(dir, `.${name}.tmp-${process.pid}`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(dir, name));
  }
  return ['model.safetensors', ...files.map(([n]) => n)].map((n) => join(dir, n));
}

/** tokenizer_config.json for a trained BERT WordPiece tokenizer (bert-base-uncased's fields). */
export function tokenizerConfigJson(maxLength: number): Record<string, unknown> {
  return {
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    do_basic_tokenize: true,
    do_lower_case: true,
    mask_token: '[MASK]',
    model_max_length: maxLength,
    never_split: null,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    unk_token: '[UNK]',
  };
}

export function specialTokensMapJson(): Record<string, string> {
  return { cls_token: '[CLS]', mask_token: '[MASK]', pad_token: '[PAD]', sep_token: '[SEP]', unk_token: '[UNK]' };
}
