/** LRU session cache, with a fake session factory that records creations and releases. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CompiledModel } from '../../src/runtime/executor.js';
import { createSessionCache } from '../../src/runtime/session-cache.js';

interface FakeSession {
  key: string;
  released: boolean;
  release(): Promise<void>;
}

function fakeModel(key: string, bytes = 10): CompiledModel {
  return { key, bytes: new Uint8Array(bytes), inputs: [], outputs: [] };
}

function harness(opts: { maxEntries?: number; maxBytes?: number; delayMs?: number; failFirst?: boolean } = {}) {
  const created: string[] = [];
  const released: string[] = [];
  let failNext = opts.failFirst ?? false;
  const cache = createSessionCache<FakeSession>({
    maxEntries: opts.maxEntries,
    maxBytes: opts.maxBytes,
    create: async (m) => {
      created.push(m.key);
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (failNext) {
        failNext = false;
        throw new Error('boom');
      }
      const s: FakeSession = {
        key: m.key,
        released: false,
        release: async () => {
          s.released = true;
          released.push(m.key);
        },
      };
      return s;
    },
  });
  const touch = (key: string, bytes?: number) => cache.use(fakeModel(key, bytes), async (s) => s);
  return { cache, created, released, touch };
}

test('evicts the least recently used entry beyond the count bound', async () => {
  const { cache, released, touch } = harness({ maxEntries: 2 });
  await touch('a');
  await touch('b');
  await touch('a'); // a is now most recent
  await touch('c');
  assert.deepEqual(released, ['b']);
  assert.deepEqual(cache.keys(), ['a', 'c']);
});

test('evicts by total bytes, never the newest entry', async () => {
  const { cache, released, touch } = harness({ maxBytes: 100 });
  await touch('a', 40);
  await touch('b', 40);
  await touch('c', 40); // 120 > 100: a goes
  assert.deepEqual(released, ['a']);
  assert.equal(cache.bytes, 80);
  await touch('huge', 500); // alone over budget: everything else goes, it stays
  assert.deepEqual(released, ['a', 'b', 'c']);
  assert.deepEqual(cache.keys(), ['huge']);
  assert.equal(cache.bytes, 500);
});

test('a hit does not create again', async () => {
  const { created, touch } = harness();
  const s1 = await touch('a');
  const s2 = await touch('a');
  assert.equal(s1, s2);
  assert.deepEqual(created, ['a']);
});

test('concurrent requests for one key share one pending creation', async () => {
  const { created, touch } = harness({ delayMs: 10 });
  const sessions = await Promise.all([touch('a'), touch('a'), touch('a')]);
  assert.deepEqual(created, ['a']);
  assert.ok(sessions.every((s) => s === sessions[0]));
});

test('a failed creation is shared by its waiters, then retried', async () => {
  const { created, touch } = harness({ delayMs: 5, failFirst: true });
  const results = await Promise.allSettled([touch('a'), touch('a')]);
  assert.ok(results.every((r) => r.status === 'rejected'));
  assert.deepEqual(created, ['a']);
  await touch('a');
  assert.deepEqual(created, ['a', 'a']);
});

test('a session evicted while in use is released only when its run ends', async () => {
  const { cache, released } = harness({ maxEntries: 1 });
  let finish!: () => void;
  const running = cache.use(fakeModel('a'), (s) => new Promise<FakeSession>((r) => (finish = () => r(s))));
  await new Promise((r) => setTimeout(r, 1));
  await cache.use(fakeModel('b'), async (s) => s); // evicts a while it runs
  assert.deepEqual(cache.keys(), ['b']);
  assert.deepEqual(released, []);
  finish();
  const a = await running;
  await new Promise((r) => setTimeout(r, 1));
  assert.equal(a.released, true);
  assert.deepEqual(released, ['a']);
});

test('clear releases everything and refuses further use', async () => {
  const { cache, released, touch } = harness();
  await touch('a');
  await touch('b');
  await cache.clear();
  assert.deepEqual(released.sort(), ['a', 'b']);
  assert.deepEqual(cache.keys(), []);
  await assert.rejects(touch('c'), /disposed/);
});

test('a creation that completes after clear is released, not cached', async () => {
  const { cache, released, touch } = harness({ delayMs: 10 });
  const pending = touch('late');
  await cache.clear();
  await assert.rejects(pending, /disposed/);
  await new Promise((r) => setTimeout(r, 1));
  assert.deepEqual(released, ['late']);
});
