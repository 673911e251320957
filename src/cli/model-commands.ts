/**
 * CLI commands over Hugging Face checkpoints: models, info, tokenize, logits, attention.
 * Each prints a readable report, or JSON with --json.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { fail } from '../errors.js';
import type { HostTensor } from '../runtime/tensor.js';
import { loadModel, type Model } from '../models/model.js';
import { ARCHITECTURES } from '../models/registry.js';
import { loadTokenizer, type Encoding, type Tokenizer } from '../tokenize/index.js';
import { createProgressBar } from '../util/progress.js';
import { defaultModelPath } from '../train/default-model.js';

interface InputOptions {
  text?: string;
  textPair?: string;
  inputIds?: string;
  tokenTypeIds?: string;
  truncate?: boolean;
}

interface Prepared {
  tokens: string[];
  offsets: [number, number][] | null;
  ids: number[];
  typeIds: number[];
}

function parseIdList(s: string, flag: string): number[] {
  const parts = s.split(',').map((x) => x.trim());
  if (parts.length === 0 || parts.some((x) => !/^\d+$/.test(x))) {
    fail('BAD_INPUT', `${flag} '${s}' is not a comma-separated list of non-negative integers`, { hint: `For example ${flag} 5,17,3` });
  }
  return parts.map(Number);
}

/** The --model argument, or the bundled default model. */
export function resolveModelArg(id: string | undefined): string {
  return id ?? defaultModelPath();
}

/** Model loading with a download progress bar on the terminal. */
/** Open --model, or the bundled default model when it is omitted. */
export async function openModel(given: string | undefined): Promise<Model> {
  const id = resolveModelArg(given);
  if (!given && !existsSync(join(id, 'config.json'))) {
    fail('MISSING_FILE', `no --model given and the bundled model is missing (${id})`, {
      hint: 'Pass --model FOLDER or --model org/name (a Hugging Face Hub id), or rebuild the bundled model with npm run train:default',
    });
  }
  const bars = new Map<string, ReturnType<typeof createProgressBar>>();
  const model = await loadModel(id, {
    onProgress: (p) => {
      let bar = bars.get(p.file);
      if (!bar) bars.set(p.file, (bar = createProgressBar({ label: p.file, total: p.total, unit: 'bytes' })));
      bar.update(p.received);
    },
  });
  for (const bar of bars.values()) bar.done();
  return model;
}

export function prepareInput(model: Model | null, tokenizer: Tokenizer | null, o: InputOptions): Prepared {
  if (o.text !== undefined && o.inputIds !== undefined) fail('INVALID_ARGUMENT', 'give either --text or --input-ids, not both');
  if (o.textPair !== undefined && o.text === undefined) fail('INVALID_ARGUMENT', '--text-pair needs --text (the first text of the pair)');
  if (o.inputIds !== undefined) {
    const ids = parseIdList(o.inputIds, '--input-ids');
    const typeIds = o.tokenTypeIds ? parseIdList(o.tokenTypeIds, '--token-type-ids') : ids.map(() => 0);
    if (typeIds.length !== ids.length) fail('BAD_INPUT', `--token-type-ids has ${typeIds.length} entries but --input-ids has ${ids.length}`);
    const limit = model?.config.maxPositions;
    if (o.truncate && limit !== undefined && ids.length > limit) {
      console.error(`notice: the input was truncated from ${ids.length} to ${limit} tokens (the model's limit)`);
      ids.length = limit;
      typeIds.length = limit;
    }
    const tokens = ids.map((id) => tokenizer?.idToToken(id) ?? String(id));
    return { tokens, offsets: null, ids, typeIds };
  }
  if (o.text === undefined) fail('INVALID_ARGUMENT', 'no input given', { hint: 'Pass --text "..." or --input-ids 5,17,3' });
  if (o.text.trim() === '') fail('BAD_INPUT', '--text is empty', { hint: 'Give some text to run the model on' });
  if (!tokenizer) fail('BAD_TOKENIZER', `${model?.folder ?? 'the model'} has no tokenizer.json, so --text cannot be used`, { hint: 'Pass --input-ids instead' });
  const maxLength = model?.config.maxPositions;
  const enc: Encoding = tokenizer.encode(o.text, { pair: o.textPair, maxLength, truncation: o.truncate ? true : false });
  if (enc.truncated) console.error(`notice: the input was truncated to ${enc.ids.length} tokens (the model's limit is ${maxLength})`);
  return { tokens: enc.tokens, offsets: enc.offsets, ids: enc.ids, typeIds: enc.typeIds };
}

function addInputOptions(c: Command): Command {
  return c
    .option('--text <text>', 'input text')
    .option('--text-pair <text>', 'second text of a pair (BERT-style models)')
    .option('--input-ids <ids>', 'token ids, comma-separated, instead of --text')
    .option('--token-type-ids <ids>', 'token type ids for --input-ids')
    .option('--truncate', 'truncate input longer than the model accepts (default: an error)')
    .option('--json', 'machine-readable output');
}

const softmax = (x: Float32Array | number[]): number[] => {
  // A loop, not Math.max(...x): spreading a 128k-entry vocabulary (Llama 3, Qwen2) overflows the stack.
  let m = -Infinity;
  for (const v of x) m = Math.max(m, v);
  const e = Array.from(x, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

function rows(t: HostTensor, cols: number): number[][] {
  const d = t.data as Float32Array;
  const out: number[][] = [];
  for (let i = 0; i < d.length; i += cols) out.push(Array.from(d.subarray(i, i + cols)));
  return out;
}

export function registerModelCommands(program: Command): void {
  program
    .command('models')
    .description('List the supported architectures and Hugging Face classes')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      const list = ARCHITECTURES.map((a) => ({ family: a.family, modelTypes: a.modelTypes, classes: a.classes }));
      if (o.json) return void console.log(JSON.stringify(list, null, 2));
      for (const a of list) {
        console.log(`${a.family}  (model_type: ${a.modelTypes.join(', ')})`);
        for (const [cls, head] of Object.entries(a.classes)) console.log(`  ${cls.padEnd(40)} ${head}`);
      }
    });

  program
    .command('info')
    .description('Architecture, parameter count, layers, heads and hook names of a model')
    .option('--model <model>', 'model folder or Hugging Face Hub id')
    .option('--json', 'machine-readable output')
    .action(async (o: { model?: string; json?: boolean }) => {
      const model = await openModel(o.model);
      const c = model.config;
      // Shapes of every hook for one sequence of `pos` tokens (a sentinel length, shown as "pos").
      const POS = 7919;
      const { graph } = model.buildGraph(1, POS);
      const hooks = model.hookNames.map((name) => ({
        name,
        shape: graph.getTap(name).shape.map((d, i) => (i === 0 ? 'batch' : d === POS ? 'pos' : d)),
      }));
      const info = {
        model: model.id,
        folder: model.folder,
        family: model.arch.family,
        modelType: c.modelType,
        class: model.className,
        head: model.head,
        parameters: model.numParameters,
        layers: c.nLayers,
        heads: c.nHeads,
        kvHeads: c.nKvHeads,
        dModel: c.dModel,
        dHead: c.dHead,
        dMlp: c.dMlp,
        vocabSize: c.vocabSize,
        maxPositions: c.maxPositions,
        labels: model.head === 'sequence_classification' ? c.id2label : undefined,
        tokenizer: model.tokenizer !== null,
        hooks,
      };
      if (o.json) return void console.log(JSON.stringify(info, null, 2));
      console.log(`${info.model}: ${info.family}, ${info.class} (${info.head})`);
      console.log(`  parameters: ${info.parameters.toLocaleString('en')}`);
      console.log(`  layers ${c.nLayers}, heads ${c.nHeads}${c.nKvHeads !== c.nHeads ? ` (${c.nKvHeads} key/value)` : ''}, d_model ${c.dModel}, d_head ${c.dHead}, d_mlp ${c.dMlp}`);
      console.log(`  vocabulary ${c.vocabSize}, positions ${c.maxPositions}, tokenizer ${info.tokenizer ? 'yes' : 'no (use --input-ids)'}`);
      if (info.labels) console.log(`  labels: ${Object.entries(info.labels).map(([k, v]) => `${k}=${v}`).join(', ')}`);
      console.log(`  hooks (${hooks.length}):`);
      for (const h of hooks.filter((h) => !/^blocks\.[1-9]\d*\./.test(h.name))) console.log(`    ${h.name.padEnd(36)} [${h.shape.join(', ')}]`);
      if (c.nLayers > 1) console.log(`    ... the same blocks.{l}.* hooks for layers 1..${c.nLayers - 1}`);
    });

  program
    .command('tokenize')
    .description('Token ids, tokens and character offsets of a text')
    .option('--model <model>', 'model folder or Hub id (its tokenizer)')
    .option('--tokenizer <folder>', 'a folder with tokenizer.json')
    .requiredOption('--text <text>', 'text to tokenize')
    .option('--text-pair <text>', 'second text of a pair')
    .option('--no-special-tokens', 'do not add [CLS]/[SEP] or other template tokens')
    .option('--json', 'machine-readable output')
    .action(async (o: { model?: string; tokenizer?: string; text: string; textPair?: string; specialTokens: boolean; json?: boolean }) => {
      let tok: Tokenizer | null;
      if (o.tokenizer) tok = await loadTokenizer(o.tokenizer);
      else {
        const model = await openModel(o.model);
        tok = model.tokenizer;
        if (!tok) fail('BAD_TOKENIZER', `${model.folder} has no tokenizer.json`);
      }
      const enc = tok.encode(o.text, { pair: o.textPair, addSpecialTokens: o.specialTokens });
      const out = { ids: enc.ids, tokens: enc.tokens, offsets: enc.offsets, typeIds: enc.typeIds };
      if (o.json) return void console.log(JSON.stringify(out));
      enc.ids.forEach((id, i) => console.log(`${String(i).padStart(4)}  ${String(id).padStart(7)}  ${JSON.stringify(enc.tokens[i]).padEnd(20)} [${enc.offsets[i].join(', ')}]`));
    });

  addInputOptions(
    program
      .command('logits')
      .description('Class probabilities of a classifier, or the top next tokens of a language model')
      .option('--model <model>', 'model folder or Hugging Face Hub id')
      .option('--top-k <k>', 'tokens to show for language models', '10'),
  ).action(async (o: InputOptions & { model?: string; topK: string; json?: boolean }) => {
    const model = await openModel(o.model);
    const p = prepareInput(model, model.tokenizer, o);
    const { logits } = await model.forward({ inputIds: [p.ids], attentionMask: [p.ids.map(() => 1)], tokenTypeIds: [p.typeIds] });
    const c = model.config;
    if (model.head === 'sequence_classification') {
      const l = Array.from(logits.data as Float32Array);
      if (o.json) return void console.log(JSON.stringify({ tokens: p.tokens, logits: l, labels: l.map((_, i) => c.id2label[i]) }));
      const probs = softmax(l);
      l.forEach((v, i) => console.log(`${c.id2label[i].padEnd(16)} logit ${v.toFixed(4).padStart(9)}  p ${probs[i].toFixed(4)}`));
      return;
    }
    const last = logits.dims[logits.dims.length - 1];
    const all = rows(logits, last);
    if (o.json) return void console.log(JSON.stringify({ tokens: p.tokens, logits: all }));
    const k = Math.max(1, Number(o.topK) || 10);
    const pos = model.head === 'masked_lm' ? p.tokens.map((t, i) => (model.tokenizer && p.ids[i] === model.tokenizer.maskId ? i : -1)).filter((i) => i >= 0) : [p.ids.length - 1];
    if (pos.length === 0) fail('BAD_INPUT', 'a masked language model needs a mask token in the text', { hint: `Put ${model.tokenizer?.idToToken(model.tokenizer.maskId ?? -1) ?? '[MASK]'} where a word should be predicted` });
    for (const i of pos) {
      const probs = softmax(all[i]);
      const top = probs.map((pr, id) => [pr, id] as const).sort((a, b) => b[0] - a[0]).slice(0, k);
      console.log(model.head === 'masked_lm' ? `position ${i} (${p.tokens[i]}):` : `next token after ${JSON.stringify(p.tokens[i])}:`);
      for (const [pr, id] of top) console.log(`  ${String(id).padStart(7)}  ${JSON.stringify(model.tokenizer?.decode([id]) ?? String(id)).padEnd(20)} p ${pr.toFixed(4)}  logit ${all[i][id].toFixed(4)}`);
    }
  });

  addInputOptions(
    program
      .command('attention')
      .description('Attention patterns of every layer and head')
      .option('--model <model>', 'model folder or Hugging Face Hub id'),
  ).action(async (o: InputOptions & { model?: string; json?: boolean }) => {
    const model = await openModel(o.model);
    const p = prepareInput(model, model.tokenizer, o);
    const L = model.config.nLayers;
    const names = Array.from({ length: L }, (_, l) => `blocks.${l}.attn.hook_pattern`);
    const { captured } = await model.forward({ inputIds: [p.ids], attentionMask: [p.ids.map(() => 1)], tokenTypeIds: [p.typeIds] }, { capture: names });
    const S = p.ids.length;
    const attentions = names.map((n) => {
      const r = rows(captured[n], S); // [head * query][key]
      return Array.from({ length: model.config.nHeads }, (_, h) => r.slice(h * S, (h + 1) * S));
    });
    if (o.json) return void console.log(JSON.stringify({ tokens: p.tokens, attentions }));
    console.log(`tokens: ${p.tokens.map((t, i) => `${i}:${t}`).join(' ')}`);
    attentions.forEach((layer, l) =>
      layer.forEach((head, h) => {
        const strongest = head.map((row, q) => {
          const k = row.indexOf(Math.max(...row));
          return `${p.tokens[q]}->${p.tokens[k]} ${row[k].toFixed(2)}`;
        });
        console.log(`layer ${l} head ${h}: ${strongest.join(', ')}`);
      }),
    );
  });
}
