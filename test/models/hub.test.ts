/**
 * Hub client against a local fake Hub (node:http on 127.0.0.1): it serves a fixture repo under
 * /{org}/{name}/resolve/{rev}/{file} with X-Repo-Commit and ETag like huggingface.co, redirects
 * LFS files to /cdn/{sha256} (optionally on a second server, another origin), honours Range and
 * logs every request. No test reaches any other host: the defaults point at a closed local port.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import { GlassboxError } from '../../src/errors.js';
import { downloadFile, downloadModel, hubCacheDir, parseModelId, type DownloadProgress } from '../../src/models/hub.js';
import { createProgressBar, formatAmount, formatDuration } from '../../src/util/progress.js';

// Guard: whatever a test forgets to pass, nothing leaves this machine or touches the user's cache.
const guardCache = mkdtempSync(join(tmpdir(), 'glassbox-hub-guard-'));
process.env.HF_ENDPOINT = 'http://127.0.0.1:9';
process.env.HF_HUB_CACHE = guardCache;
delete process.env.HF_TOKEN;
delete process.env.HUGGING_FACE_HUB_TOKEN;
delete process.env.HF_HUB_OFFLINE;
after(() => rmSync(guardCache, { recursive: true, force: true }));

const REPO = 'test-org/tiny-gpt2';
const COMMIT = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';
const MODEL_DIR = '/work/shared/fixtures/hf-reference/tiny-gpt2';
const TOKENIZER_DIR = '/work/shared/fixtures/tokenizers/gpt2';

function fixtureFiles(): Map<string, Buffer> {
  return new Map([
    ['config.json', readFileSync(join(MODEL_DIR, 'config.json'))],
    ['model.safetensors', readFileSync(join(MODEL_DIR, 'model.safetensors'))],
    ['tokenizer.json', readFileSync(join(TOKENIZER_DIR, 'tokenizer.json'))],
    ['tokenizer_config.json', readFileSync(join(TOKENIZER_DIR, 'tokenizer_config.json'))],
    ['special_tokens_map.json', readFileSync(join(TOKENIZER_DIR, 'special_tokens_map.json'))],
  ]);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** The git blob id, which the Hub sends as the ETag of a non-LFS file. */
const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const isLfs = (name: string) => name.endsWith('.safetensors') || name.endsWith('.bin');

interface Logged {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  status?: number;
}

interface FakeHubOptions {
  files: Map<string, Buffer>;
  /** Where LFS files redirect; the server's own origin when absent. */
  cdnBase?: () => string;
  /** Answer 401 unless `Authorization: Bearer {token}`. */
  token?: string;
  /** Drop the connection this many times after sending half of a /cdn body. */
  drops?: number;
  ignoreRange?: boolean;
  noCommit?: boolean;
  /** Milliseconds between 16 kB pieces of a body, so the client sees it arrive in parts. */
  pieceDelayMs?: number;
}

interface FakeHub {
  url: string;
  log: Logged[];
  opts: FakeHubOptions;
  close(): Promise<void>;
}

const servers: FakeHub[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function startHub(opts: FakeHubOptions): Promise<FakeHub> {
  const log: Logged[] = [];
  const server: Server = createServer((req, res) => {
    const entry: Logged = { method: req.method ?? '', path: req.url ?? '', headers: req.headers };
    log.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));
    handle(opts, hub.url, req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const hub: FakeHub = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    opts,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  servers.push(hub);
  return hub;
}

function handle(opts: FakeHubOptions, self: string, req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
  if (cdn) {
    const data = [...opts.files.values()].find((b) => sha256(b) === cdn[1]);
    if (!data) return void res.writeHead(404).end();
    return serveBody(opts, req, res, data, { etag: `"cdn-${cdn[1]!.slice(0, 8)}"` });
  }
  const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
  if (!m) return void res.writeHead(404, { 'x-error-code': 'RepoNotFound' }).end();
  if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) return void res.writeHead(401).end();
  const file = m[3]!.split('/').map(decodeURIComponent).join('/');
  const data = opts.files.get(file);
  const commit: Record<string, string> = opts.noCommit ? {} : { 'x-repo-commit': COMMIT };
  if (!data) return void res.writeHead(404, { ...commit, 'x-error-code': 'EntryNotFound' }).end();
  if (isLfs(file)) {
    const sha = sha256(data);
    res.writeHead(302, {
      ...commit,
      location: `${opts.cdnBase?.() ?? self}/cdn/${sha}`,
      'x-linked-etag': `"${sha}"`,
      'x-linked-size': String(data.length),
      etag: '"hub-redirect-etag"',
    });
    return void res.end();
  }
  serveBody(opts, req, res, data, { ...commit, etag: `W/"${gitSha1(data)}"` });
}

function serveBody(opts: FakeHubOptions, req: IncomingMessage, res: ServerResponse, data: Buffer, headers: Record<string, string>): void {
  let start = 0;
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (range && !opts.ignoreRange) {
    start = Number(range[1]);
    if (start >= data.length) return void res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
    res.writeHead(206, { ...headers, 'content-length': String(data.length - start), 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` });
  } else {
    res.writeHead(200, { ...headers, 'content-length': String(data.length) });
  }
  if (req.method === 'HEAD') return void res.end();
  const body = data.subarray(start);
  if ((opts.drops ?? 0) > 0 && data.length > 1000) {
    opts.drops! -= 1;
    res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  const piece = 16 * 1024;
  if (!opts.pieceDelayMs) return void res.end(body);
  let i = 0;
  const next = () => {
    if (i >= body.length) return void res.end();
    res.write(body.subarray(i, (i += piece)));
    setTimeout(next, opts.pieceDelayMs);
  };
  next();
}

let cache: string;
beforeEach(() => {
  cache = mkdtempSync(join(tmpdir(), 'glassbox-hub-'));
});
afterEach(() => rmSync(cache, { recursive: true, force: true }));

const repoRoot = () => join(cache, 'models--test-org--tiny-gpt2');
const gets = (hub: FakeHub) => hub.log.filter((r) => r.method === 'GET');

async function rejectsWith(p: Promise<unknown>, code: string, ...patterns: RegExp[]): Promise<GlassboxError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof GlassboxError, `expected a GlassboxError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const re of patterns) assert.match(e.message, re);
    return e;
  }
  assert.fail(`expected a ${code} error`);
}

describe('parseModelId', () => {
  const cases: [string, { repo: string; org?: string; name: string; revision: string }][] = [
    ['gpt2', { repo: 'gpt2', name: 'gpt2', revision: 'main' }],
    ['openai-community/gpt2', { repo: 'openai-community/gpt2', org: 'openai-community', name: 'gpt2', revision: 'main' }],
    ['EleutherAI/pythia-70m@step1000', { repo: 'EleutherAI/pythia-70m', org: 'EleutherAI', name: 'pythia-70m', revision: 'step1000' }],
    ['a/b.c_d@refs/pr/1', { repo: 'a/b.c_d', org: 'a', name: 'b.c_d', revision: 'refs/pr/1' }],
  ];
  for (const [id, want] of cases) test(id, () => assert.deepEqual(parseModelId(id), want));

  for (const bad of ['', 'a/b/c', 'a b', '../etc', 'org/na--me', 'org/name@', 'org/name@../x', '-lead', 'org/name@a b']) {
    test(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(
        () => parseModelId(bad),
        (e: unknown) =>
          e instanceof GlassboxError && e.code === 'INVALID_ARGUMENT' && e.message.includes(`'${bad}'`) && e.message.includes("'org/name'"),
      );
    });
  }
});

test('hubCacheDir: HF_HUB_CACHE, then HF_HOME/hub, then ~/.cache/huggingface/hub', () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: '/c', HF_HOME: '/h' }), '/c');
  assert.equal(hubCacheDir({ HF_HOME: '/h' }), join('/h', 'hub'));
  assert.match(hubCacheDir({}), /[/\\]\.cache[/\\]huggingface[/\\]hub$/);
});

describe('downloadModel', () => {
  test('writes the huggingface_hub layout: blobs by etag, relative snapshot links, refs/main', async () => {
    const files = fixtureFiles();
    const hub = await startHub({ files });
    const dir = await downloadModel(REPO, { endpoint: hub.url, cacheDir: cache });

    assert.equal(dir, join(repoRoot(), 'snapshots', COMMIT));
    assert.equal(readFileSync(join(repoRoot(), 'refs', 'main'), 'utf8'), COMMIT);
    const wantBlobs = [...files].map(([name, b]) => (isLfs(name) ? sha256(b) : gitSha1(b))).sort();
    assert.deepEqual(readdirSync(join(repoRoot(), 'blobs')).sort(), wantBlobs);
    assert.deepEqual(readdirSync(dir).sort(), [...files.keys()].sort());
    for (const [name, data] of files) {
      const p = join(dir, name);
      assert.ok(lstatSync(p).isSymbolicLink(), `${name} is a symlink`);
      const target = readlinkSync(p);
      const blob = isLfs(name) ? sha256(data) : gitSha1(data);
      assert.equal(target, join('..', '..', 'blobs', blob), `${name} links relatively to its blob`);
      assert.ok(readFileSync(p).equals(data), `${name} is byte-identical`);
    }
    // The safetensors body came from the CDN after a 302; nothing was sent with a token.
    assert.ok(hub.log.some((r) => r.method === 'GET' && r.path.startsWith('/cdn/') && r.status === 200));
    assert.ok(hub.log.every((r) => r.headers.authorization === undefined));
  });

  test('a second download only HEADs: no body is fetched again', async () => {
    const hub = await startHub({ files: fixtureFiles() });
    const first = await downloadModel(REPO, { endpoint: hub.url, cacheDir: cache });
    const before = gets(hub).length;
    assert.equal(before, 6, 'five files, model.safetensors through the redirect');
    const second = await downloadModel(REPO, { endpoint: hub.url, cacheDir: cache });
    assert.equal(second, first);
    assert.equal(gets(hub).length, before, 'no GET on the second call');
  });

  test('a deleted blob is fetched again and its dangling link repaired', async () => {
    const files = fixtureFiles();
    const hub = await startHub({ files });
    const path = await downloadFile(REPO, 'config.json', { endpoint: hub.url, cacheDir: cache });
    rmSync(join(repoRoot(), 'blobs', gitSha1(files.get('config.json')!)));
    assert.equal(await downloadFile(REPO, 'config.json', { endpoint: hub.url, cacheDir: cache }), path);
    assert.equal(gets(hub).length, 2);
    assert.ok(readFileSync(path!).equals(files.get('config.json')!));
  });

  test('a missing optional file is fine', async () => {
    const files = fixtureFiles();
    files.delete('special_tokens_map.json');
    const hub = await startHub({ files });
    const dir = await downloadModel(REPO, { endpoint: hub.url, cacheDir: cache });
    assert.ok(existsSync(join(dir, 'tokenizer.json')));
    assert.ok(!existsSync(join(dir, 'special_tokens_map.json')));
    assert.equal(await downloadFile(REPO, 'special_tokens_map.json', { endpoint: hub.url, cacheDir: cache, optional: true }), null);
  });

  test('a missing config.json is an error naming repo, revision and file', async () => {
    const files = fixtureFiles();
    files.delete('config.json');
    const hub = await startHub({ files });
    await rejectsWith(downloadModel(REPO, { endpoint: hub.url, cacheDir: cache }), 'NOT_FOUND', /config\.json/, /test-org\/tiny-gpt2/, /main/);
  });

  test('sharded weights: the index and every shard it names', async () => {
    const files = fixtureFiles();
    files.delete('model.safetensors');
    const shard1 = Buffer.alloc(3000, 1);
    const shard2 = Buffer.alloc(2000, 2);
    const index = { metadata: {}, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors', c: 'model-00001-of-00002.safetensors' } };
    files.set('model.safetensors.index.json', Buffer.from(JSON.stringify(index)));
    files.set('model-00001-of-00002.safetensors', shard1);
    files.set('model-00002-of-00002.safetensors', shard2);
    const hub = await startHub({ files });
    const dir = await downloadModel(REPO, { endpoint: hub.url, cacheDir: cache });
    assert.ok(readFileSync(join(dir, 'model-00001-of-00002.safetensors')).equals(shard1));
    assert.ok(readFileSync(join(dir, 'model-00002-of-00002.safetensors')).equals(shard2));
    assert.equal(gets(hub).filter((r) => r.path.includes('00001')).length, 1, 'a shard named twice is fetched once');
  });

  test('an index naming a shard outside the repo is rejected', async () => {
    const files = fixtureFiles();
    files.delete('model.safetensors');
    files.set('model.safetensors.index.json', Buffer.from(JSON.stringify({ weight_map: { a: '../../../evil' } })));
    const hub = await startHub({ files });
    await rejectsWith(downloadModel(REPO, { endpoint: hub.url, cacheDir: cache }), 'BAD_WEIGHTS', /evil/);
  });

  test('pytorch_model.bin only: config is fetched, the .bin is not', async () => {
    const files = fixtureFiles();
    files.delete('model.safetensors');
    files.set('pytorch_model.bin', Buffer.alloc(5000, 7));
    const hub = await startHub({ files });
    const dir = await downloadModel(REPO, { endpoint: hub.url, cacheDir: cache });
    assert.ok(existsSync(join(dir, 'config.json')));
    assert.ok(!existsSync(join(dir, 'pytorch_model.bin')));
    assert.ok(!gets(hub).some((r) => r.path.includes('pytorch_model.bin') || r.path.startsWith('/cdn/')));
  });

  test('no weights at all is an error', async () => {
    const files = fixtureFiles();
    files.delete('model.safetensors');
    const hub = await startHub({ files });
    await rejectsWith(downloadModel(REPO, { endpoint: hub.url, cacheDir: cache }), 'NOT_FOUND', /safetensors/);
  });

  test('a revision in the id: URL-encoded in the URL, refs/{revision} written', async () => {
    const hub = await startHub({ files: fixtureFiles() });
    const dir = await downloadModel(`${REPO}@refs/pr/1`, { endpoint: hub.url, cacheDir: cache });
    assert.equal(dir, join(repoRoot(), 'snapshots', COMMIT));
    assert.equal(readFileSync(join(repoRoot(), 'refs', 'refs', 'pr', '1'), 'utf8'), COMMIT);
    assert.equal(hub.log[0]!.path, `/${REPO}/resolve/refs%2Fpr%2F1/config.json`);
    // Later files are pinned to the commit config.json resolved to.
    assert.ok(hub.log.some((r) => r.path === `/${REPO}/resolve/${COMMIT}/tokenizer.json`));
  });

  test('without X-Repo-Commit the revision names the snapshot folder', async () => {
    const hub = await startHub({ files: fixtureFiles(), noCommit: true });
    const dir = await downloadModel(REPO, { endpoint: hub.url, cacheDir: cache });
    assert.equal(dir, join(repoRoot(), 'snapshots', 'main'));
    assert.ok(!existsSync(join(repoRoot(), 'refs')));
    assert.ok(readFileSync(join(dir, 'config.json')).equals(fixtureFiles().get('config.json')!));
  });
});

describe('resume and failure', () => {
  const weights = () => fixtureFiles().get('model.safetensors')!;

  test('a partial blob is resumed with a Range request', async () => {
    const data = weights();
    const half = data.length >> 1;
    mkdirSync(join(repoRoot(), 'blobs'), { recursive: true });
    writeFileSync(join(repoRoot(), 'blobs', `${sha256(data)}.incomplete`), data.subarray(0, half));
    const hub = await startHub({ files: fixtureFiles() });
    const p = await downloadFile(REPO, 'model.safetensors', { endpoint: hub.url, cacheDir: cache });
    const ranged = gets(hub).filter((r) => r.headers.range !== undefined);
    assert.equal(ranged.length, 2, 'the Hub hop and the CDN hop both carry Range');
    assert.equal(ranged[1]!.headers.range, `bytes=${half}-`);
    assert.equal(ranged[1]!.status, 206);
    assert.ok(readFileSync(p!).equals(data));
    assert.ok(!existsSync(join(repoRoot(), 'blobs', `${sha256(data)}.incomplete`)));
  });

  test('a server that ignores Range: the download restarts from byte 0', async () => {
    const data = weights();
    mkdirSync(join(repoRoot(), 'blobs'), { recursive: true });
    writeFileSync(join(repoRoot(), 'blobs', `${sha256(data)}.incomplete`), data.subarray(0, 1000));
    const hub = await startHub({ files: fixtureFiles(), ignoreRange: true });
    const p = await downloadFile(REPO, 'model.safetensors', { endpoint: hub.url, cacheDir: cache });
    assert.ok(readFileSync(p!).equals(data));
  });

  test('a corrupt partial blob fails the sha256 check and is discarded', async () => {
    const data = weights();
    const partial = join(repoRoot(), 'blobs', `${sha256(data)}.incomplete`);
    mkdirSync(join(repoRoot(), 'blobs'), { recursive: true });
    writeFileSync(partial, Buffer.alloc(1000, 0xff));
    const hub = await startHub({ files: fixtureFiles() });
    await rejectsWith(downloadFile(REPO, 'model.safetensors', { endpoint: hub.url, cacheDir: cache }), 'DOWNLOAD', /sha256/);
    assert.ok(!existsSync(partial));
    assert.ok(!existsSync(join(repoRoot(), 'snapshots', COMMIT, 'model.safetensors')));
    const p = await downloadFile(REPO, 'model.safetensors', { endpoint: hub.url, cacheDir: cache });
    assert.ok(readFileSync(p!).equals(data));
  });

  test('a dropped connection leaves nothing in snapshots/, and the next call completes', async () => {
    const data = weights();
    const hub = await startHub({ files: fixtureFiles(), drops: 1 });
    await rejectsWith(downloadModel(REPO, { endpoint: hub.url, cacheDir: cache }), 'DOWNLOAD', /\/cdn\//);
    assert.ok(!existsSync(join(repoRoot(), 'snapshots', COMMIT, 'model.safetensors')));
    assert.ok(!existsSync(join(repoRoot(), 'blobs', sha256(data))));
    assert.ok(existsSync(join(repoRoot(), 'blobs', `${sha256(data)}.incomplete`)), 'the partial file is kept for resuming');

    const dir = await downloadModel(REPO, { endpoint: hub.url, cacheDir: cache });
    assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(data));
    assert.ok(gets(hub).some((r) => r.path.startsWith('/cdn/') && r.status === 206), 'the second call resumed');
  });

  test('an unreachable endpoint names the URL and suggests HF_HUB_OFFLINE=1', async () => {
    const hub = await startHub({ files: fixtureFiles() });
    const dead = hub.url;
    await hub.close();
    servers.length = 0;
    await rejectsWith(downloadModel(REPO, { endpoint: dead, cacheDir: cache }), 'DOWNLOAD', new RegExp(`${dead}/${REPO}/resolve/main/config\\.json`), /HF_HUB_OFFLINE=1/);
  });

  test('an abort mid-body is CANCELLED and keeps the partial file for a resume', async () => {
    const data = weights();
    const hub = await startHub({ files: fixtureFiles(), pieceDelayMs: 10 });
    const ac = new AbortController();
    const onProgress = (p: DownloadProgress) => p.received > 0 && ac.abort();
    await rejectsWith(downloadFile(REPO, 'model.safetensors', { endpoint: hub.url, cacheDir: cache, signal: ac.signal, onProgress }), 'CANCELLED');
    assert.ok(existsSync(join(repoRoot(), 'blobs', `${sha256(data)}.incomplete`)));
    assert.ok(!existsSync(join(repoRoot(), 'snapshots', COMMIT, 'model.safetensors')));
  });

  test('concurrent calls for one file share one download', async () => {
    const hub = await startHub({ files: fixtureFiles(), pieceDelayMs: 5 });
    const opts = { endpoint: hub.url, cacheDir: cache };
    const [a, b] = await Promise.all([downloadFile(REPO, 'model.safetensors', opts), downloadFile(REPO, 'model.safetensors', opts)]);
    assert.equal(a, b);
    assert.equal(gets(hub).filter((r) => r.path.startsWith('/cdn/')).length, 1);
    assert.ok(readFileSync(a!).equals(weights()));
  });

  test('progress: increasing byte counts ending at the size', async () => {
    const data = weights();
    const hub = await startHub({ files: fixtureFiles(), pieceDelayMs: 10 });
    const events: DownloadProgress[] = [];
    await downloadFile(REPO, 'model.safetensors', { endpoint: hub.url, cacheDir: cache, onProgress: (p) => events.push(p) });
    assert.ok(events.length >= 3, `${events.length} events`);
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.received > events[i - 1]!.received);
    assert.deepEqual(events.at(-1), { file: 'model.safetensors', received: data.length, total: data.length });
  });
});

describe('offline', () => {
  test('serves a downloaded model from the cache without any request', async () => {
    const hub = await startHub({ files: fixtureFiles() });
    const online = await downloadModel(REPO, { endpoint: hub.url, cacheDir: cache });
    const count = hub.log.length;
    assert.equal(await downloadModel(REPO, { endpoint: hub.url, cacheDir: cache, offline: true }), online);
    process.env.HF_HUB_OFFLINE = '1';
    try {
      assert.equal(await downloadModel(REPO, { endpoint: hub.url, cacheDir: cache }), online);
    } finally {
      delete process.env.HF_HUB_OFFLINE;
    }
    assert.equal(hub.log.length, count);
  });

  test('a file not in the cache: an error naming repo, revision and file, and how to fetch it', async () => {
    const hub = await startHub({ files: fixtureFiles() });
    await downloadModel(REPO, { endpoint: hub.url, cacheDir: cache });
    const opts = { cacheDir: cache, offline: true };
    await rejectsWith(downloadFile(REPO, 'generation_config.json', opts), 'OFFLINE', /generation_config\.json/, /test-org\/tiny-gpt2/, /main/, /HF_HUB_OFFLINE/, /network/);
    await rejectsWith(downloadModel('test-org/never-downloaded', opts), 'OFFLINE', /config\.json/, /never-downloaded/);
    assert.equal(await downloadFile(REPO, 'generation_config.json', { ...opts, optional: true }), null);
  });
});

describe('auth', () => {
  test('401 says the model may be gated or private and mentions HF_TOKEN', async () => {
    const hub = await startHub({ files: fixtureFiles(), token: 'hf_secret' });
    await rejectsWith(downloadModel(REPO, { endpoint: hub.url, cacheDir: cache }), 'AUTH', /401/, /config\.json/, /gated or private/, /HF_TOKEN/);
  });

  test('the token goes as Bearer to the Hub and not to a CDN on another origin', async () => {
    const files = fixtureFiles();
    const cdn = await startHub({ files });
    const hub = await startHub({ files, token: 'hf_secret', cdnBase: () => cdn.url });
    const dir = await downloadModel(REPO, { endpoint: hub.url, cacheDir: cache, token: 'hf_secret' });
    assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(files.get('model.safetensors')!));
    assert.ok(hub.log.length > 0 && hub.log.every((r) => r.headers.authorization === 'Bearer hf_secret'));
    assert.equal(cdn.log.length, 1, 'the HEAD stops at the cross-origin redirect; only the GET reaches the CDN');
    assert.equal(cdn.log[0]!.method, 'GET');
    assert.equal(cdn.log[0]!.headers.authorization, undefined);
  });

  test('HF_TOKEN is read from the environment and kept on same-origin redirects', async () => {
    const hub = await startHub({ files: fixtureFiles(), token: 'hf_env' });
    process.env.HF_TOKEN = 'hf_env';
    try {
      await downloadModel(REPO, { endpoint: hub.url, cacheDir: cache });
    } finally {
      delete process.env.HF_TOKEN;
    }
    const cdnHits = hub.log.filter((r) => r.path.startsWith('/cdn/'));
    assert.ok(cdnHits.length > 0 && cdnHits.every((r) => r.headers.authorization === 'Bearer hf_env'));
  });
});

describe('createProgressBar', () => {
  function fakeStream(isTTY: boolean) {
    const writes: string[] = [];
    return { writes, stream: { isTTY, columns: 200, write: (s: string) => writes.push(s) } };
  }

  test('on a TTY: percent, rate and ETA, redrawn at most 10 times a second', () => {
    const { writes, stream } = fakeStream(true);
    let t = 0;
    const bar = createProgressBar({ label: 'w', total: 2000, stream, now: () => t });
    for (t = 0; t <= 1000; t += 10) bar.update(t);
    assert.ok(writes.length <= 11, `${writes.length} redraws in one second`);
    const last = writes.at(-1)!;
    assert.ok(last.startsWith('\r'));
    assert.match(last, / 50% /);
    assert.match(last, /1\.0 kB\/2\.0 kB/);
    assert.match(last, /1\.0 kB\/s/);
    assert.match(last, /ETA 1s/);
    bar.done();
    assert.match(writes.at(-1)!, /\n$/);
    const n = writes.length;
    bar.update(2000);
    bar.done();
    assert.equal(writes.length, n, 'nothing after done()');
  });

  test('off a TTY: silent, then one summary line', () => {
    const { writes, stream } = fakeStream(false);
    let t = 0;
    const bar = createProgressBar({ label: 'prompts', total: 10, unit: 'items', stream, now: () => t });
    for (let i = 1; i <= 10; i++) {
      t += 500;
      bar.update(i);
    }
    assert.equal(writes.length, 0);
    bar.done();
    assert.equal(writes.length, 1);
    assert.doesNotMatch(writes[0]!, /\r/);
    assert.match(writes[0]!, /^prompts 100% .* 10\/10 .*it\/s in 5s\n$/);
  });

  test('without a total: count and rate, no percent', () => {
    const { writes, stream } = fakeStream(true);
    let t = 0;
    const bar = createProgressBar({ label: 'x', stream, now: () => t });
    bar.update(0);
    t = 2000;
    bar.update(4_000_000);
    assert.match(writes.at(-1)!, /x 4\.0 MB 2\.0 MB\/s/);
    assert.doesNotMatch(writes.at(-1)!, /%|ETA/);
  });

  test('formatting helpers', () => {
    assert.equal(formatAmount(999, 'bytes'), '999 B');
    assert.equal(formatAmount(1_500_000, 'bytes'), '1.5 MB');
    assert.equal(formatAmount(1234567, 'items'), '1,234,567');
    assert.equal(formatDuration(42), '42s');
    assert.equal(formatDuration(185), '3m05s');
    assert.equal(formatDuration(3720), '1h02m');
  });
});
