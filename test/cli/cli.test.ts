/**
 * The glassbox command as a user runs it: through bin/glassbox.js (the built dist/), checking
 * exit codes, stdout and stderr.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Graph } from '../../src/graph/graph.js';
import * as op from '../../src/graph/ops.js';
import { toOnnx } from '../../src/graph/to-onnx.js';
import { encodeModel } from '../../src/onnx/codec.js';

const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/glassbox.js', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('glassbox CLI', () => {
  it('--help lists the commands and exits 0', () => {
    const r = run('--help');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /onnx-info/);
  });

  it('an unknown command exits 2 with a message', () => {
    const r = run('frobnicate');
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command 'frobnicate'/);
  });

  const dir = mkdtempSync(join(tmpdir(), 'glassbox-cli-'));
  const g = new Graph('mlp');
  const x = g.input('x', 'float32', [2, 8]);
  const w = g.weight('w', 'float32', [8, 4]);
  g.output('y', op.softmax(op.relu(op.matmul(x, w))));
  const file = join(dir, 'mlp.onnx');
  writeFileSync(file, encodeModel(toOnnx(g).model));

  it('onnx-info summarises a model and confirms it imports', () => {
    const r = run('onnx-info', file);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /input  x: float32\[2, 8\]/);
    assert.match(r.out, /MatMul x1/);
    assert.match(r.out, /glassbox import: ok/);
    const j = JSON.parse(run('onnx-info', file, '--json').out);
    assert.equal(j.nodes, 3);
    assert.equal(j.import.ok, true);
  });

  it('a missing file exits 1 naming the file', () => {
    const r = run('onnx-info', join(dir, 'nope.onnx'));
    assert.equal(r.code, 1);
    assert.match(r.err, /file not found: .*nope\.onnx/);
  });

  it('a corrupt file exits 1 with a decode error, not a crash', () => {
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, Buffer.from([0x08, 0x08, 0x3a, 0xff, 0xff, 0x01]));
    const r = run('onnx-info', bad);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /^error: /);
    assert.doesNotMatch(r.err, /at .*\.js:\d+/);
  });
});
