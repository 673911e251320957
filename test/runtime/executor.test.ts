/**
 * Backend tests: every case runs on both executors (onnxruntime-node and onnxruntime-web's
 * WASM backend in Node), and the two must agree with each other (tol 1e-6) and with a float64
 * JS reference (tol 1e-5, float32 arithmetic).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { GlassboxError, type ErrorCode } from '../../src/errors.js';
import { compileModel, fnv1a64, type Executor } from '../../src/runtime/executor.js';
import { defaultExecutor } from '../../src/runtime/index.js';
import { createNodeExecutor } from '../../src/runtime/node.js';
import { createOrtExecutor, toOrtTensor, type OrtApi } from '../../src/runtime/ort-executor.js';
import { tensor, type HostTensor } from '../../src/runtime/tensor.js';
import { createWebExecutor } from '../../src/runtime/web.js';
import { assertAllClose, blockModel, blockReference, BATCH, D, D_IN, floats, model, randoms } from './fixtures.js';

const backends: { name: string; exec: Executor }[] = [
  { name: 'node', exec: createNodeExecutor({ threads: 1 }) },
  { name: 'web', exec: createWebExecutor() },
];
after(async () => {
  for (const b of backends) await b.exec.dispose();
});

const compiledBlock = compileModel(blockModel);
const blockFeeds = (): Record<string, HostTensor> => ({
  x: tensor('float32', [BATCH, D_IN], randoms(BATCH * D_IN, 1)),
  W: tensor('float32', [D_IN, D], randoms(D_IN * D, 2)),
  b: tensor('float32', [D], randoms(D, 3)),
});

const rejectsWith = async (p: Promise<unknown>, code: ErrorCode, pattern: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof GlassboxError, `expected GlassboxError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });

describe('fnv1a64 and compileModel', () => {
  test('FNV-1a 64 matches the published test vectors', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    assert.equal(fnv1a64(enc('')), 'cbf29ce484222325');
    assert.equal(fnv1a64(enc('a')), 'af63dc4c8601ec8c');
    assert.equal(fnv1a64(enc('foobar')), '85944171f73967e8');
  });

  test('equal models share a key, different models do not', () => {
    assert.equal(compileModel(blockModel).key, compiledBlock.key);
    const other = compileModel({ ...blockModel, graphName: 'other' });
    assert.notEqual(other.key, compiledBlock.key);
    assert.match(compiledBlock.key, /^[0-9a-f]{16}-\d+$/);
  });
});

for (const { name, exec } of backends) {
  describe(`${name} executor`, () => {
    test('MatMul + Add + LayerNormalization + Softmax matches the float64 reference (tol 1e-5)', async () => {
      const feeds = blockFeeds();
      const out = await exec.run(compiledBlock, feeds);
      const [h, y] = blockReference(feeds.x!.data as Float32Array, feeds.W!.data as Float32Array, feeds.b!.data as Float32Array);
      assert.deepEqual(out.y!.dims, [BATCH, D]);
      assert.equal(out.y!.dtype, 'float32');
      assertAllClose(floats(out.h), h, 1e-5, 'h');
      assertAllClose(floats(out.y), y, 1e-5, 'y');
    });

    test('fetch selects outputs', async () => {
      const out = await exec.run(compiledBlock, blockFeeds(), ['h']);
      assert.deepEqual(Object.keys(out), ['h']);
    });

    test('int32, int64 and bool inputs and outputs', async () => {
      const m = compileModel(
        model({
          inputs: [
            { name: 'a', dtype: 'int32', dims: [3] },
            { name: 'l', dtype: 'int64', dims: [3] },
            { name: 'p', dtype: 'bool', dims: [3] },
          ],
          outputs: [
            { name: 'a2', dtype: 'int32', dims: [3] },
            { name: 'l2', dtype: 'int64', dims: [3] },
            { name: 'np', dtype: 'bool', dims: [3] },
          ],
          nodes: [
            { name: 'add', opType: 'Add', domain: '', inputs: ['a', 'a'], outputs: ['a2'], attributes: [] },
            { name: 'neg', opType: 'Neg', domain: '', inputs: ['l'], outputs: ['l2'], attributes: [] },
            { name: 'not', opType: 'Not', domain: '', inputs: ['p'], outputs: ['np'], attributes: [] },
          ],
        }),
      );
      const out = await exec.run(m, {
        a: tensor('int32', [3], [-5, 0, 7]),
        l: tensor('int64', [3], new BigInt64Array([2n ** 40n, -1n, 0n])),
        p: tensor('bool', [3], [1, 0, 1]),
      });
      assert.deepEqual(out.a2, { dtype: 'int32', dims: [3], data: new Int32Array([-10, 0, 14]) });
      assert.deepEqual(out.l2, { dtype: 'int64', dims: [3], data: new BigInt64Array([-(2n ** 40n), 1n, 0n]) });
      assert.deepEqual(out.np, { dtype: 'bool', dims: [3], data: new Uint8Array([0, 1, 0]) });
    });

    test('a missing feed is MISSING_FEED naming the input, its dtype and dims', async () => {
      const { x, W } = blockFeeds();
      await rejectsWith(exec.run(compiledBlock, { x: x!, W: W! }), 'MISSING_FEED', /'b'.*float32\[5\]/);
    });

    test('wrong dims are BAD_FEED naming the input, expected and found', async () => {
      const feeds = { ...blockFeeds(), x: tensor('float32', [2, D_IN], new Float32Array(2 * D_IN)) };
      await rejectsWith(exec.run(compiledBlock, feeds), 'BAD_FEED', /'x' is float32\[2, 4\], expected float32\[3, 4\]/);
    });

    test('a wrong dtype is BAD_FEED naming the input, expected and found', async () => {
      const feeds = { ...blockFeeds(), b: tensor('float64', [D], new Float64Array(D)) };
      await rejectsWith(exec.run(compiledBlock, feeds), 'BAD_FEED', /'b' is float64\[5\], expected float32\[5\]/);
    });

    test('an unknown feed is BAD_FEED listing the valid names', async () => {
      const feeds = { ...blockFeeds(), z: tensor('float32', [1], [0]) };
      await rejectsWith(exec.run(compiledBlock, feeds), 'BAD_FEED', /unknown feed 'z'.*'x', 'W', 'b'/);
    });

    test('an unknown fetch lists the outputs', async () => {
      await rejectsWith(exec.run(compiledBlock, blockFeeds(), ['logits']), 'INVALID_ARGUMENT', /unknown fetch 'logits'.*'y', 'h'/);
    });

    test('an already-aborted signal is CANCELLED', async () => {
      const ac = new AbortController();
      ac.abort();
      await rejectsWith(exec.run(compiledBlock, blockFeeds(), undefined, { signal: ac.signal }), 'CANCELLED', /cancelled/);
    });

    test('ORT failures are RUNTIME errors keeping the original message', async () => {
      const bad = compileModel(
        model({
          inputs: [{ name: 'x', dtype: 'float32', dims: [2] }],
          outputs: [{ name: 'y', dtype: 'float32', dims: [2] }],
          nodes: [{ name: 'n', opType: 'NoSuchOp', domain: '', inputs: ['x'], outputs: ['y'], attributes: [] }],
        }),
      );
      await rejectsWith(exec.run(bad, { x: tensor('float32', [2], [1, 2]) }), 'RUNTIME', /NoSuchOp/);
    });

    test('concurrent runs of one model all succeed and agree', async () => {
      const feeds = blockFeeds();
      const outs = await Promise.all(Array.from({ length: 8 }, () => exec.run(compiledBlock, feeds)));
      for (const o of outs) assert.deepEqual(o.y!.data, outs[0]!.y!.data);
    });
  });
}

test('node and web executors agree (tol 1e-6)', async () => {
  const feeds = blockFeeds();
  const [a, b] = await Promise.all(backends.map(({ exec }) => exec.run(compiledBlock, feeds)));
  assertAllClose(floats(a!.y), floats(b!.y), 1e-6, 'y');
  assertAllClose(floats(a!.h), floats(b!.h), 1e-6, 'h');
});

test('float64 MatMul on the node executor matches the reference (tol 1e-12)', async () => {
  const m = compileModel(
    model({
      inputs: [
        { name: 'A', dtype: 'float64', dims: [2, 3] },
        { name: 'B', dtype: 'float64', dims: [3, 2] },
      ],
      outputs: [{ name: 'C', dtype: 'float64', dims: [2, 2] }],
      nodes: [{ name: 'mm', opType: 'MatMul', domain: '', inputs: ['A', 'B'], outputs: ['C'], attributes: [] }],
    }),
  );
  const A = [0.1, 0.2, 0.3, -1.5, 1, 1e-3];
  const B = [1, 2, 3, 4, 5, 6];
  const out = await backends[0]!.exec.run(m, { A: tensor('float64', [2, 3], A), B: tensor('float64', [3, 2], B) });
  assert.equal(out.C!.dtype, 'float64');
  const ref = [0, 1, 2, 3].map((i) => {
    const [r, c] = [Math.floor(i / 2), i % 2];
    return A[r * 3]! * B[c]! + A[r * 3 + 1]! * B[2 + c]! + A[r * 3 + 2]! * B[4 + c]!;
  });
  assertAllClose(floats(out.C), ref, 1e-12, 'C');
});

describe('zero-copy feeds', () => {
  test('toOrtTensor wraps the very same typed array (node and web Tensor classes)', () => {
    for (const [dtype, data] of [
      ['float32', new Float32Array(6)],
      ['float64', new Float64Array(6)],
      ['int64', new BigInt64Array(6)],
      ['int32', new Int32Array(6)],
      ['bool', new Uint8Array(6)],
    ] as const) {
      const t = tensor(dtype, [2, 3], data);
      for (const Ctor of [ortNode.Tensor, ortWeb.Tensor]) {
        const o = toOrtTensor(Ctor, t);
        assert.equal(o.data, data, `${dtype}: same object`);
        assert.equal(o.type, dtype);
        assert.deepEqual(o.dims, [2, 3]);
      }
    }
  });

  test('the executor hands the runtime the caller’s arrays (spy session)', async () => {
    const seen: Record<string, unknown> = {};
    const spy: OrtApi = {
      Tensor: ortNode.Tensor,
      InferenceSession: {
        create: async () =>
          ({
            run: async (feeds: Record<string, ortNode.Tensor>) => {
              for (const [k, v] of Object.entries(feeds)) seen[k] = v.data;
              return { y: new ortNode.Tensor('float32', new Float32Array(BATCH * D), [BATCH, D]) };
            },
            release: async () => {},
          }) as unknown as ortNode.InferenceSession,
      } as OrtApi['InferenceSession'],
    };
    const exec = createOrtExecutor({ name: 'spy', ort: spy, sessionOptions: {} });
    const feeds = blockFeeds();
    await exec.run(compiledBlock, feeds, ['y']);
    for (const k of ['x', 'W', 'b']) assert.equal(seen[k], feeds[k]!.data, `feed ${k} not copied`);
    await exec.dispose();
  });
});

describe('prepare', () => {
  test('creates the session once, ahead of the first run', async () => {
    let created = 0;
    const counting: OrtApi = {
      Tensor: ortNode.Tensor,
      InferenceSession: {
        create: async (...args: unknown[]) => {
          created++;
          return (ortNode.InferenceSession.create as (...a: unknown[]) => Promise<ortNode.InferenceSession>)(...args);
        },
      } as OrtApi['InferenceSession'],
    };
    const exec = createOrtExecutor({ name: 'counting', ort: counting, sessionOptions: {} });
    await exec.prepare(compiledBlock);
    assert.equal(created, 1);
    await exec.run(compiledBlock, blockFeeds(), ['y']);
    await exec.prepare(compiledBlock);
    assert.equal(created, 1, 'the prepared session is reused');
    await exec.dispose();
  });
});

describe('defaultExecutor', () => {
  test('is shared, and a fresh one follows a dispose', async () => {
    const a = defaultExecutor();
    assert.equal(defaultExecutor(), a);
    assert.equal(a.name, 'onnxruntime-node');
    await a.dispose();
    const b = defaultExecutor();
    assert.notEqual(b, a);
    const out = await b.run(compiledBlock, blockFeeds(), ['y']);
    assert.deepEqual(out.y!.dims, [BATCH, D]);
    await b.dispose();
  });

  test('a disposed executor refuses to run', async () => {
    const exec = createNodeExecutor({ threads: 1 });
    await exec.dispose();
    await rejectsWith(exec.run(compiledBlock, blockFeeds()), 'RUNTIME', /disposed/);
  });
});
