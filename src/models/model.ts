/**
 * `loadModel(idOrFolder)`: a Hugging Face checkpoint as a glassbox model — config,
 * tokenizer, weights checked against the architecture, hook names, and a forward pass that
 * captures any hook.
 *
 * Decisions:
 * - Weights keep their state_dict names and are fed to every graph as zero-copy views of
 *   the safetensors buffer (float32; f16/bf16 are converted once at load).
 * - Padding is handled by position ids computed on the host from the attention mask, so a
 *   padded row (left or right) computes exactly what it computes alone.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GlassboxError, fail } from '../errors.js';
import { Graph, type Value } from '../graph/graph.js';
import { captureTap } from '../graph/taps.js';
import { compile, runProgram } from '../engine/program.js';
import type { Executor } from '../runtime/executor.js';
import { defaultExecutor } from '../runtime/index.js';
import type { HostTensor } from '../runtime/tensor.js';
import { loadTokenizer, type Tokenizer } from '../tokenize/index.js';
import { downloadModel } from './hub.js';
import { architectureFor } from './registry.js';
import type { Architecture, BuildContext, HeadKind, ModelConfig, ModelInputs, WeightSpec } from './types.js';
import { checkWeights, loadWeights } from './weights.js';

export interface LoadModelOptions {
  /** Hub revision (branch, tag or commit) when `idOrFolder` is a Hub id; `org/name@rev` also works. */
  revision?: string;
  /** Use only the local Hugging Face cache (also HF_HUB_OFFLINE=1). */
  offline?: boolean;
  cacheDir?: string;
  token?: string;
  /** Override the class from config.json `architectures` (e.g. GPT2Model). */
  className?: string;
  signal?: AbortSignal;
  onProgress?: (p: { file: string; received: number; total?: number }) => void;
}

export interface Model {
  /** What the user asked for: a folder path or a Hub id. */
  id: string;
  folder: string;
  arch: Architecture;
  className: string;
  head: HeadKind;
  config: ModelConfig;
  tokenizer: Tokenizer | null;
  /** float32 weights by state_dict name (tied tensors share data). */
  weights: Record<string, HostTensor>;
  numParameters: number;
  /** Every hook this model emits, TransformerLens names. */
  hookNames: string[];
  /** Build the forward graph for [batch, seq]; `logits` is the head's output. */
  /**
   * Build the forward graph for [batch, seq]; `logits` is the head's output. `headPositions`
   * applies a language-model head only at those positions.
   */
  buildGraph(batch: number, seq: number, opts?: { headPositions?: number[] }): { graph: Graph; logits: Value; ctx: BuildContext };
  /** Host feeds for a batch of inputs (ids, masks, positions). */
  feeds(inputs: ModelInputs): Record<string, HostTensor>;
  /** Forward pass; `capture` names hooks to return. */
  forward(inputs: ModelInputs, opts?: ForwardOptions): Promise<ForwardResult>;
}

export interface ForwardOptions {
  capture?: string[];
  executor?: Executor;
  signal?: AbortSignal;
}

export interface ForwardResult {
  logits: HostTensor;
  captured: Record<string, HostTensor>;
}

const LOCAL_HINT = 'A model is a local folder with config.json and model.safetensors, or a Hub id such as gpt2 or org/name';

/** Does `s` look like a Hub id (`name`, `org/name`, optional `@revision`) rather than a path? */
function looksLikeHubId(s: string): boolean {
  return /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?(@[\w./-]+)?$/.test(s) && !s.startsWith('.') && !existsSync(s);
}

/**
 * Load a model from a local folder in Hub layout or from the Hub (cached as
 * huggingface_hub caches).
 *
 * @example
 * const model = await loadModel('../shared/fixtures/hf-reference/tiny-gpt2');
 * const { logits, captured } = await model.forward({ inputIds: [[5, 17, 42]], attentionMask: [[1, 1, 1]] }, { capture: ['blocks.0.hook_resid_post'] });
 */
export async function loadModel(idOrFolder: string, opts: LoadModelOptions = {}): Promise<Model> {
  let folder = idOrFolder;
  if (!existsSync(idOrFolder)) {
    if (!looksLikeHubId(idOrFolder)) fail('NOT_FOUND', `no folder ${idOrFolder}`, { hint: LOCAL_HINT });
    folder = await downloadModel(idOrFolder, opts);
  } else if (!statSync(idOrFolder).isDirectory()) {
    fail('INVALID_ARGUMENT', `${idOrFolder} is a file, not a model folder`, { hint: LOCAL_HINT });
  }
  const configPath = join(folder, 'config.json');
  if (!existsSync(configPath)) fail('MISSING_FILE', `${folder} has no config.json`, { hint: LOCAL_HINT });
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (e) {
    return fail('BAD_CONFIG', `${configPath} is not valid JSON: ${(e as Error).message}`);
  }
  const arch = architectureFor(raw.model_type, configPath);
  const className = opts.className ?? (Array.isArray(raw.architectures) && typeof raw.architectures[0] === 'string' ? raw.architectures[0] : arch.defaultClass);
  const head = arch.classes[className];
  if (!head) {
    fail('UNSUPPORTED_MODEL', `class ${className} is not supported for model_type '${raw.model_type}'`, {
      where: configPath,
      hint: `Supported classes: ${Object.keys(arch.classes).join(', ')}`,
    });
  }
  const config = arch.parseConfig(raw);
  const spec = arch.weights(config, className);
  const weights = prepareWeights((await loadWeights(folder)).tensors, spec, `${folder}`);
  const tokenizer = existsSync(join(folder, 'tokenizer.json')) ? await loadTokenizer(folder) : null;
  return createModel({ id: idOrFolder, folder, arch, className, head, config, spec, weights, tokenizer });
}

/** Rename between base and head checkpoints, fill tied tensors, check names and shapes. */
function prepareWeights(found: Map<string, HostTensor>, spec: WeightSpec, where: string): Record<string, HostTensor> {
  let tensors = found;
  const expectedNames = [...spec.expected.keys()];
  const hits = (m: Map<string, HostTensor>) => expectedNames.filter((n) => m.has(n)).length;
  // A base-model checkpoint (no prefix) loaded into a head class, or the reverse.
  const added = new Map([...found].map(([k, v]) => [k.startsWith(spec.prefix) ? k : spec.prefix + k, v]));
  const removed = new Map([...found].map(([k, v]) => [k.startsWith(spec.prefix) ? k.slice(spec.prefix.length) : k, v]));
  for (const candidate of [added, removed]) if (hits(candidate) > hits(tensors)) tensors = candidate;
  for (const [target, source] of spec.tied) {
    if (!tensors.has(target) && tensors.has(source)) tensors.set(target, tensors.get(source)!);
  }
  checkWeights(tensors, spec.expected, { optional: spec.optional, ignore: spec.ignore, modelName: where });
  const out: Record<string, HostTensor> = {};
  for (const name of expectedNames) {
    const t = tensors.get(name);
    if (t) out[name] = t;
  }
  return out;
}

type ModelParts = Pick<Model, 'id' | 'folder' | 'arch' | 'className' | 'head' | 'config' | 'weights' | 'tokenizer'> & { spec: WeightSpec };

/** Assemble a model from parsed parts (also used by code that makes weights itself). */
export function createModel(parts: ModelParts): Model {
  const { arch, config, spec, className, weights } = parts;
  const seen = new Set<HostTensor>();
  let numParameters = 0;
  for (const t of Object.values(weights)) {
    if (seen.has(t)) continue;
    seen.add(t);
    numParameters += t.data.length;
  }

  const buildGraph = (batch: number, seq: number, opts: { headPositions?: number[] } = {}) => {
    const g = new Graph(`${config.modelType}-${className}`);
    const declared = new Map<string, Value>();
    const ctx: BuildContext = {
      g,
      batch,
      seq,
      inputIds: g.input('input_ids', 'int64', [batch, seq]),
      attentionMask: g.input('attention_mask', 'int64', [batch, seq]),
      positionIds: g.input('position_ids', 'int64', [batch, seq]),
      tokenTypeIds: config.typeVocabSize > 0 ? g.input('token_type_ids', 'int64', [batch, seq]) : null,
      poolIndex: g.input('pool_index', 'int64', [batch]),
      headPositions: opts.headPositions ?? null,
      weight: (name) => {
        let v = declared.get(name);
        if (!v) {
          const shape = spec.expected.get(name);
          if (!shape) fail('BAD_WEIGHTS', `architecture ${arch.family} asked for an undeclared weight '${name}'`);
          v = g.weight(name, 'float32', shape);
          declared.set(name, v);
        }
        return v;
      },
    };
    const { logits } = arch.build(ctx, config, className);
    g.output('logits', logits);
    return { graph: g, logits, ctx };
  };

  const feeds = (inputs: ModelInputs): Record<string, HostTensor> => {
    const { ids, mask, types, batch, seq } = validateInputs(inputs, config);
    const positions = arch.positionIds(mask, config);
    const pool = mask.map((row) => (arch.poolAt === 'first' ? Math.max(0, row.indexOf(1)) : Math.max(0, row.lastIndexOf(1))));
    const i64 = (rows: number[][]): HostTensor => ({ dtype: 'int64', dims: [batch, seq], data: BigInt64Array.from(rows.flat(), (x) => BigInt(x)) });
    const out: Record<string, HostTensor> = {
      input_ids: i64(ids),
      attention_mask: i64(mask),
      position_ids: i64(positions),
      pool_index: { dtype: 'int64', dims: [batch], data: BigInt64Array.from(pool, (x) => BigInt(x)) },
    };
    if (config.typeVocabSize > 0) out.token_type_ids = i64(types);
    return out;
  };

  const model: Model = {
    id: parts.id,
    folder: parts.folder,
    arch,
    className,
    head: parts.head,
    config,
    tokenizer: parts.tokenizer,
    weights,
    numParameters,
    hookNames: arch.hookNames(config),
    buildGraph,
    feeds,
    async forward(inputs, opts = {}) {
      // Feeds first: they validate the inputs, so bad ids or lengths fail before a graph is built.
      const inputFeeds = feeds(inputs);
      const batch = inputs.inputIds.length;
      const seq = inputs.inputIds[0]!.length;
      const { graph } = buildGraph(batch, seq);
      for (const name of opts.capture ?? []) captureTap(graph, name, `capture:${name}`);
      const out = await runProgram(opts.executor ?? defaultExecutor(), compile(graph), { ...weights, ...inputFeeds }, { signal: opts.signal });
      const captured: Record<string, HostTensor> = {};
      for (const name of opts.capture ?? []) captured[name] = out[`capture:${name}`];
      return { logits: out.logits, captured };
    },
  };
  return model;
}

/** Check ids, masks and lengths; every problem names the row and position. */
function validateInputs(inputs: ModelInputs, config: ModelConfig) {
  const ids = inputs.inputIds;
  const batch = ids.length;
  if (batch === 0) fail('BAD_INPUT', 'no input sequences');
  const seq = ids[0].length;
  if (seq === 0) fail('BAD_INPUT', 'empty input: a sequence needs at least one token');
  const mask = inputs.attentionMask ?? ids.map((r) => r.map(() => 1));
  const types = inputs.tokenTypeIds ?? ids.map((r) => r.map(() => 0));
  ids.forEach((row, b) => {
    if (row.length !== seq || mask[b]?.length !== seq || types[b]?.length !== seq) {
      fail('BAD_INPUT', `row ${b} has ${row.length} ids (mask ${mask[b]?.length}, token types ${types[b]?.length}); every row must have ${seq}`, {
        hint: 'Pad the batch to one length and mark the padding with attention_mask 0',
      });
    }
    row.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
        fail('BAD_INPUT', `token id ${id} at row ${b}, position ${i} is not in the vocabulary (0..${config.vocabSize - 1})`);
      }
    });
    types[b].forEach((t, i) => {
      if (config.typeVocabSize > 0 && (t < 0 || t >= config.typeVocabSize)) {
        fail('BAD_INPUT', `token type ${t} at row ${b}, position ${i} is outside 0..${config.typeVocabSize - 1}`);
      }
    });
    if (!mask[b].some((m) => m === 1)) fail('BAD_INPUT', `row ${b} is all padding (attention_mask has no 1)`);
  });
  if (seq > config.maxPositions) {
    fail('BAD_INPUT', `input has ${seq} tokens, more than the model's ${config.maxPositions} positions`, {
      hint: 'Shorten the text, or truncate it (--truncate on the command line)',
    });
  }
  return { ids, mask, types, batch, seq };
}

export { GlassboxError };
