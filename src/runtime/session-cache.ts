/**
 * An LRU cache of runtime sessions keyed by CompiledModel.key, bounded by entry count and by
 * total model bytes. Creating an ORT session (parse, optimise, plan) costs far more than a
 * small run, and the attribution methods run the same few graphs many times, so sessions are
 * kept. Generic over the session type: both backends and the tests (with a fake) use it.
 *
 * Decisions:
 * - Concurrent requests for one key share a single pending creation; a failed creation is
 *   forgotten so the next request retries.
 * - A session is only released when no run holds it: `use()` marks it busy, and an entry
 *   evicted while busy is released when its last run ends.
 * - The newest entry is never evicted, even if it alone exceeds the byte budget.
 */
import { GlassboxError } from '../errors.js';
import type { CompiledModel } from './executor.js';

export interface ReleasableSession {
  release(): Promise<void>;
}

export interface SessionCacheOptions<S> {
  create: (model: CompiledModel) => Promise<S>;
  /** At most this many sessions (default 32). */
  maxEntries?: number;
  /** At most this many model bytes over all sessions (default 256 MB). */
  maxBytes?: number;
}

export interface SessionCache<S> {
  /** Runs `fn` with the session for `model`, creating it on a miss; the session stays alive until `fn` settles. */
  use<T>(model: CompiledModel, fn: (session: S) => Promise<T>): Promise<T>;
  /** Keys of cached sessions, least recently used first. */
  keys(): string[];
  /** Total model bytes of the cached sessions. */
  readonly bytes: number;
  /** Releases every session (busy ones when their runs end) and refuses further use. */
  clear(): Promise<void>;
}

interface Entry<S> {
  key: string;
  session: S;
  bytes: number;
  busy: number;
  evicted: boolean;
}

interface Pending<S> {
  promise: Promise<Entry<S>>;
  /** Joins the creation as one more waiter; each waiter holds one busy mark on the new entry. */
  join(): Promise<Entry<S>>;
}

const disposed = () => new GlassboxError('RUNTIME', 'the executor was disposed; create a new one');

export const DEFAULT_CACHE_ENTRIES = 32;
export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

export function createSessionCache<S extends ReleasableSession>(opts: SessionCacheOptions<S>): SessionCache<S> {
  const maxEntries = opts.maxEntries ?? DEFAULT_CACHE_ENTRIES;
  const maxBytes = opts.maxBytes ?? DEFAULT_CACHE_BYTES;
  if (!(maxEntries >= 1)) throw new GlassboxError('INVALID_ARGUMENT', `cache size must be at least 1, got ${maxEntries}`);
  if (!(maxBytes >= 0)) throw new GlassboxError('INVALID_ARGUMENT', `cache bytes must be non-negative, got ${maxBytes}`);

  /** Map iteration order is insertion order: the first key is the least recently used. */
  const entries = new Map<string, Entry<S>>();
  const pending = new Map<string, Pending<S>>();
  const releases = new Set<Promise<void>>();
  let totalBytes = 0;
  let closed = false;

  const release = (e: Entry<S>): void => {
    const p = e.session.release().catch(() => undefined);
    releases.add(p);
    void p.finally(() => releases.delete(p));
  };

  const evict = (e: Entry<S>): void => {
    entries.delete(e.key);
    totalBytes -= e.bytes;
    e.evicted = true;
    if (e.busy === 0) release(e);
  };

  const insert = (e: Entry<S>): void => {
    entries.set(e.key, e);
    totalBytes += e.bytes;
    for (const old of entries.values()) {
      if (entries.size <= maxEntries && totalBytes <= maxBytes) break;
      if (old !== e) evict(old);
    }
  };

  /**
   * The entry for `model`, already marked busy for this caller. Marking happens synchronously
   * (on a hit) or in the same callback that inserts a new entry (for every waiter that joined
   * the pending creation), so no eviction can release a session between lookup and use.
   */
  const acquire = (model: CompiledModel): Promise<Entry<S>> => {
    const hit = entries.get(model.key);
    if (hit) {
      entries.delete(model.key); // move to most recently used
      entries.set(model.key, hit);
      hit.busy++;
      return Promise.resolve(hit);
    }
    const joining = pending.get(model.key);
    if (joining) return joining.join();
    let waiters = 1;
    const promise = new Promise<S>((resolve) => resolve(opts.create(model))).then(
      (session) => {
        pending.delete(model.key);
        const e: Entry<S> = { key: model.key, session, bytes: model.bytes.byteLength, busy: waiters, evicted: closed };
        if (!closed) insert(e);
        return e;
      },
      (err: unknown) => {
        pending.delete(model.key);
        throw err;
      },
    );
    pending.set(model.key, {
      promise,
      join: () => {
        waiters++;
        return promise;
      },
    });
    return promise;
  };

  const done = (e: Entry<S>): void => {
    e.busy--;
    if (e.evicted && e.busy === 0) release(e);
  };

  return {
    async use(model, fn) {
      if (closed) throw disposed();
      const e = await acquire(model);
      try {
        if (closed) throw disposed();
        return await fn(e.session);
      } finally {
        done(e);
      }
    },
    keys: () => [...entries.keys()],
    get bytes() {
      return totalBytes;
    },
    async clear() {
      closed = true;
      await Promise.allSettled([...pending.values()].map((p) => p.promise));
      for (const e of [...entries.values()]) evict(e);
      await Promise.all(releases);
    },
  };
}
