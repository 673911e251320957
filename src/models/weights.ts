/**
 * A Hub-layout folder's weights, and the check that they fit an architecture.
 *
 * Which file is read follows transformers' `from_pretrained`: `model.safetensors`, else the
 * sharded `model.safetensors.index.json`, else a lone `*.safetensors`. glassbox reads safetensors
 * only (no pickle: loading a `.bin` runs arbitrary code), so a PyTorch-only folder is an error
 * that says how to convert it. `checkWeights` collects every missing, unexpected and misshapen
 * tensor before it throws, so one run shows the whole mismatch, as nanoGPT's loader asserts
 * shapes and names the tensor.
 */
import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { GlassboxError } from '../errors.js';
import type { HostTensor } from '../runtime/tensor.js';
import { readSafetensors } from './safetensors.js';

export interface LoadedWeights {
  /** Every tensor by state_dict name; float32 tensors view the file buffer where aligned. */
  tensors: Map<string, HostTensor>;
  /** The weight files read, as paths. */
  files: string[];
  /** Total size of those files in bytes. */
  bytes: number;
}

const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';
const PYTORCH = ['pytorch_model.bin', 'pytorch_model.bin.index.json'];

/** Most lines listed per group in an error before "... and N more". */
const MAX_LINES = 20;

/**
 * Loads the weights of a Hub-layout folder.
 *
 * @example
 * const { tensors, bytes } = await loadWeights('models/gpt2');
 * tensors.get('transformer.wte.weight')!.dims; // [50257, 768]
 */
export async function loadWeights(folder: string): Promise<LoadedWeights> {
  let names: string[];
  try {
    names = (await readdir(folder)).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new GlassboxError('MISSING_FILE', `model folder not found`, { where: folder, cause: e });
    }
    throw e;
  }
  const has = new Set(names);
  if (has.has(SINGLE)) return loadSingle(join(folder, SINGLE));
  if (has.has(INDEX)) return loadSharded(folder, INDEX);

  const safetensors = names.filter((n) => n.endsWith('.safetensors'));
  if (safetensors.length === 1) return loadSingle(join(folder, safetensors[0]!));
  if (safetensors.length > 1) {
    const indexes = names.filter((n) => n.endsWith('.safetensors.index.json'));
    if (indexes.length === 1) return loadSharded(folder, indexes[0]!);
    throw new GlassboxError('BAD_WEIGHTS', `found ${safetensors.length} safetensors files (${list(safetensors)}) and no ${INDEX} saying which to read`, {
      where: folder,
      hint: `Keep one file, name it ${SINGLE}, or add the ${INDEX} the checkpoint was saved with`,
    });
  }

  const pytorch = PYTORCH.filter((n) => has.has(n));
  if (pytorch.length > 0) {
    throw new GlassboxError('BAD_WEIGHTS', `the folder holds PyTorch weights (${pytorch.join(', ')}); glassbox reads safetensors only`, {
      where: folder,
      hint:
        `Convert them once: python -c "from transformers import AutoModel; ` +
        `AutoModel.from_pretrained('${folder}').save_pretrained('OUT', safe_serialization=True)" ` +
        `(use the model's own class to keep its head, e.g. AutoModelForCausalLM), ` +
        `or open a conversion PR with the Hub's convert space (https://huggingface.co/spaces/safetensors/convert)`,
    });
  }
  throw new GlassboxError(
    'MISSING_FILE',
    `no weights found: looked for ${SINGLE}, ${INDEX} and any *.safetensors file` +
      ` (the folder holds ${names.length === 0 ? 'nothing' : list(names)})`,
    { where: folder, hint: 'Download the model with its weights, e.g. huggingface-cli download ORG/NAME --local-dir FOLDER' },
  );
}

async function loadSingle(path: string): Promise<LoadedWeights> {
  const file = await readSafetensors(path);
  const tensors = new Map<string, HostTensor>();
  for (const [name, entry] of file.tensors) tensors.set(name, entry.tensor());
  return { tensors, files: [path], bytes: file.size };
}

/**
 * Sharded checkpoints: `{"metadata": {...}, "weight_map": {tensor: shard}}`. Each shard is read
 * once, only the tensors the index maps to it, and every mapped tensor must be in its shard.
 */
async function loadSharded(folder: string, indexName: string): Promise<LoadedWeights> {
  const indexPath = join(folder, indexName);
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (e) {
    throw new GlassboxError('BAD_WEIGHTS', `the shard index is not valid JSON (${(e as Error).message})`, { where: indexPath, cause: e });
  }
  const weightMap = isObject(index) ? index.weight_map : undefined;
  if (!isObject(weightMap) || Object.keys(weightMap).length === 0) {
    throw new GlassboxError('BAD_WEIGHTS', 'the shard index has no weight_map object of {tensor: shard file}', { where: indexPath });
  }
  const byShard = new Map<string, Set<string>>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard === '' || isAbsolute(shard) || normalize(shard).split(sep).includes('..')) {
      throw new GlassboxError('BAD_WEIGHTS', `weight_map maps '${name}' to ${JSON.stringify(shard)}, not a file name inside the folder`, {
        where: indexPath,
      });
    }
    if (!byShard.has(shard)) byShard.set(shard, new Set());
    byShard.get(shard)!.add(name);
  }

  const tensors = new Map<string, HostTensor>();
  const files: string[] = [];
  let bytes = 0;
  const absent: string[] = [];
  for (const [shard, wanted] of byShard) {
    const path = join(folder, shard);
    let file;
    try {
      file = await readSafetensors(path, { names: wanted });
    } catch (e) {
      if (e instanceof GlassboxError && e.code === 'MISSING_FILE') {
        throw new GlassboxError('MISSING_FILE', `shard ${shard}, listed in ${indexName} for ${wanted.size} tensors, is missing`, {
          where: folder,
          hint: 'The download is incomplete: fetch every shard the index lists',
          cause: e,
        });
      }
      throw e;
    }
    for (const name of wanted) {
      const entry = file.tensors.get(name);
      if (entry) tensors.set(name, entry.tensor());
      else absent.push(`${name} (in ${shard})`);
    }
    files.push(path);
    bytes += file.size;
  }
  if (absent.length > 0) {
    throw new GlassboxError(
      'BAD_WEIGHTS',
      `${indexName} maps ${absent.length} tensor${absent.length === 1 ? '' : 's'} to shards that do not hold them:\n` + lines(absent),
      { where: folder },
    );
  }
  return { tensors, files, bytes };
}

export interface CheckWeightsOptions {
  /** Names that may be absent: tied heads (lm_head.weight), buffers (position_ids). */
  optional?: ReadonlySet<string>;
  /** Unexpected names to ignore, e.g. /\.attn\.bias$/ (GPT-2's causal-mask buffers), /position_ids$/. */
  ignore?: readonly RegExp[];
  /** Shown in the message: a model name or folder. */
  modelName?: string;
}

/**
 * Checks found tensors against the names and shapes an architecture expects. Collects every
 * missing, unexpected and misshapen tensor, then throws one GlassboxError('BAD_WEIGHTS') that
 * lists them all (at most 20 lines a group).
 *
 * @example
 * checkWeights(tensors, new Map([['transformer.wte.weight', [50257, 768]]]), { ignore: [/\.attn\.bias$/] });
 */
export function checkWeights(
  found: ReadonlyMap<string, HostTensor>,
  expected: ReadonlyMap<string, readonly number[]>,
  opts: CheckWeightsOptions = {},
): void {
  const missing: string[] = [];
  const misshapen: string[] = [];
  const missingNames: string[] = [];
  for (const [name, shape] of expected) {
    const t = found.get(name);
    if (!t) {
      if (!opts.optional?.has(name)) {
        missing.push(`${name} ${shapeText(shape)}`);
        missingNames.push(name);
      }
    } else if (!sameShape(t.dims, shape)) {
      misshapen.push(`${name}: expected ${shapeText(shape)}, found ${shapeText(t.dims)}`);
    }
  }
  const unexpected: string[] = [];
  const unexpectedNames: string[] = [];
  for (const [name, t] of found) {
    if (expected.has(name) || opts.ignore?.some((re) => re.test(name))) continue;
    unexpected.push(`${name} ${shapeText(t.dims)}`);
    unexpectedNames.push(name);
  }
  if (missing.length + unexpected.length + misshapen.length === 0) return;

  const counts = [
    missing.length > 0 ? `${missing.length} missing` : '',
    unexpected.length > 0 ? `${unexpected.length} unexpected` : '',
    misshapen.length > 0 ? `${misshapen.length} misshapen` : '',
  ].filter(Boolean);
  const groups = [
    missing.length > 0 ? `missing (${missing.length}), name and expected shape:\n${lines(missing)}` : '',
    unexpected.length > 0 ? `unexpected (${unexpected.length}), name and shape:\n${lines(unexpected)}` : '',
    misshapen.length > 0 ? `misshapen (${misshapen.length}):\n${lines(misshapen)}` : '',
  ].filter(Boolean);
  const subject = opts.modelName ? `the weights do not fit ${opts.modelName}` : 'the weights do not fit the architecture';
  throw new GlassboxError('BAD_WEIGHTS', `${subject}: ${counts.join(', ')}\n${groups.join('\n')}`, {
    hint: mismatchHint(missingNames, unexpectedNames, misshapen.length > 0),
  });
}

/** Says what the mismatch most likely means: a base/head prefix, or a config from another checkpoint. */
function mismatchHint(missing: string[], unexpected: string[], misshapen: boolean): string | undefined {
  for (const m of missing) {
    for (const u of unexpected) {
      if (u.endsWith(`.${m}`)) {
        return `The checkpoint's names carry a prefix the model does not expect ('${u.slice(0, u.length - m.length)}'): rename them with stripPrefix`;
      }
      if (m.endsWith(`.${u}`)) {
        return `The model expects a prefix the checkpoint's names lack ('${m.slice(0, m.length - u.length)}'): rename them with stripPrefix`;
      }
    }
  }
  if (misshapen) return 'Are config.json and the weights from the same checkpoint?';
  return undefined;
}

/**
 * Renames a checkpoint between a base model and a head model, as transformers does with
 * `base_model_prefix`: a `bert.embeddings...` checkpoint loaded into `BertModel` (which expects
 * `embeddings...`), or an `embeddings...` one into `BertForSequenceClassification` (which expects
 * `bert.embeddings...`). For each prefix it tries stripping it from the names that carry it and
 * adding it to those that do not; the candidate that matches the most expected names wins, and
 * only if it matches more than the names as found. Otherwise `found` comes back unchanged.
 *
 * @example
 * const renamed = stripPrefix(found, ['bert.'], spec.expected); // 'bert.pooler.dense.weight' -> 'pooler.dense.weight'
 */
export function stripPrefix(
  found: ReadonlyMap<string, HostTensor>,
  prefixes: readonly string[],
  expected: ReadonlyMap<string, unknown> | Iterable<string>,
): Map<string, HostTensor> {
  const want = new Set(isMap(expected) ? expected.keys() : expected);
  const hits = (names: Iterable<string>) => {
    let n = 0;
    for (const name of names) if (want.has(name)) n++;
    return n;
  };
  let best: { rename: (name: string) => string; hits: number } = { rename: (n) => n, hits: hits(found.keys()) };
  for (const prefix of prefixes) {
    const strip = (n: string) => (n.startsWith(prefix) ? n.slice(prefix.length) : n);
    const add = (n: string) => (n.startsWith(prefix) ? n : prefix + n);
    for (const rename of [strip, add]) {
      const h = hits(new Set([...found.keys()].map(rename)));
      if (h > best.hits) best = { rename, hits: h };
    }
  }
  const out = new Map<string, HostTensor>();
  for (const [name, t] of found) {
    const to = best.rename(name);
    if (out.has(to)) {
      throw new GlassboxError('BAD_WEIGHTS', `renaming the checkpoint for the model maps two tensors to '${to}' (one of them '${name}')`, {
        hint: 'The checkpoint holds the same tensor with and without the prefix; drop one of them',
      });
    }
    out.set(to, t);
  }
  return out;
}

function isMap(v: unknown): v is ReadonlyMap<string, unknown> {
  return v instanceof Map;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Indented lines, at most MAX_LINES, then a count of the rest. */
function lines(items: string[]): string {
  const shown = items.slice(0, MAX_LINES).map((s) => `  ${s}`);
  if (items.length > MAX_LINES) shown.push(`  ... and ${items.length - MAX_LINES} more`);
  return shown.join('\n');
}

function list(names: string[]): string {
  return names.length > 8 ? `${names.slice(0, 8).join(', ')}, ... (${names.length} in all)` : names.join(', ');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
