/**
 * The `glassbox` command. Each subcommand prints a readable report by default and JSON with
 * `--json`; a GlassboxError becomes one line on stderr and exit code 1 (usage errors: 2).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { GlassboxError } from '../errors.js';
import { decodeModel } from '../onnx/codec.js';
import { fromOnnx } from '../graph/from-onnx.js';
import { registerDemoCommand } from './demo-command.js';
import { registerCausalCommands } from './causal-commands.js';
import { registerExplainCommand } from './explain-command.js';
import { registerModelCommands } from './model-commands.js';
import { registerTrainCommands } from './train-commands.js';
import { registerSurrogateCommand } from './surrogate-command.js';
import { registerDistillCommand } from './distill-command.js';

const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

function readFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new GlassboxError('INVALID_ARGUMENT', code === 'ENOENT' ? `file not found: ${path}` : `cannot read ${path}: ${(e as Error).message}`);
  }
}

function parseShapes(specs: string[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const s of specs) {
    const m = /^([^=]+)=(\d+(?:x\d+)*)$/.exec(s);
    if (!m) throw new GlassboxError('INVALID_ARGUMENT', `--shape '${s}' is not NAME=DxDx...`, { hint: 'For example --shape input_ids=1x16' });
    out[m[1]] = m[2].split('x').map(Number);
  }
  return out;
}

export function buildCli(): Command {
  const program = new Command('glassbox')
    .description('Explain and inspect transformer language models: attention, gradients, surrogates and causal interventions, on ONNX Runtime.')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();

  registerModelCommands(program);
  registerExplainCommand(program);
  registerCausalCommands(program);
  registerTrainCommands(program);
  registerDemoCommand(program);
  registerSurrogateCommand(program);
  registerDistillCommand(program);

  program
    .command('onnx-info')
    .description('Summarise an .onnx file (inputs, outputs, operators) and check that glassbox can import it for hooks and gradients')
    .argument('<file>', 'the .onnx model')
    .option('--shape <NAME=DxD...>', 'concrete shape for an input with symbolic dims (repeatable)', (v, acc: string[]) => [...acc, v], [])
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { shape: string[]; json?: boolean }) => {
      const model = decodeModel(readFile(file));
      const ops = new Map<string, number>();
      for (const n of model.nodes) ops.set(n.opType, (ops.get(n.opType) ?? 0) + 1);
      let importable: { ok: true; nodes: number; weights: number; taps: number } | { ok: false; error: string };
      try {
        const { graph, weights } = fromOnnx(model, { shapes: parseShapes(opts.shape) });
        importable = { ok: true, nodes: graph.nodes.length, weights: Object.keys(weights).length, taps: graph.taps.size };
      } catch (e) {
        if (!(e instanceof GlassboxError)) throw e;
        importable = { ok: false, error: e.message };
      }
      const params = model.initializers.reduce((s, t) => s + t.data.length, 0);
      const summary = {
        file,
        opset: model.opsetVersion,
        producer: model.producerName,
        inputs: model.inputs,
        outputs: model.outputs,
        nodes: model.nodes.length,
        initializers: model.initializers.length,
        initializerElements: params,
        ops: Object.fromEntries([...ops].sort((a, b) => b[1] - a[1])),
        import: importable,
      };
      if (opts.json) {
        console.log(JSON.stringify(summary, null, 2));
        return;
      }
      const dims = (d: number[]) => `[${d.map((x) => (x < 0 ? '?' : x)).join(', ')}]`;
      console.log(`${file}: opset ${summary.opset}, ${summary.nodes} nodes, ${summary.initializers} initializers (${params.toLocaleString('en')} elements)`);
      for (const v of model.inputs) console.log(`  input  ${v.name}: ${v.dtype}${dims(v.dims)}`);
      for (const v of model.outputs) console.log(`  output ${v.name}: ${v.dtype}${dims(v.dims)}`);
      console.log(`  ops: ${[...ops].map(([k, v]) => `${k} x${v}`).join(', ')}`);
      console.log(
        importable.ok
          ? `  glassbox import: ok (${importable.nodes} graph nodes, ${importable.weights} weights fed as inputs, ${importable.taps} taps)`
          : `  glassbox import: not possible: ${importable.error}`,
      );
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof GlassboxError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
