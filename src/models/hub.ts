/**
 * Hugging Face Hub client: fetches a model repo's files into the standard Hugging Face cache,
 * so glassbox, transformers and huggingface_hub share one copy of every download.
 *
 * The layout and the protocol follow huggingface_hub's `hf_hub_download`
 * (huggingface_hub/file_download.py):
 *
 *   {cache}/models--{org}--{name}/blobs/{etag}                 the bytes, named by their etag
 *   {cache}/models--{org}--{name}/snapshots/{commit}/{file}    relative symlink to the blob
 *   {cache}/models--{org}--{name}/refs/{revision}              the commit the revision points at
 *
 * Online, a HEAD of `{endpoint}/{repo}/resolve/{revision}/{file}` gives the commit
 * (`X-Repo-Commit`) and the etag (`X-Linked-Etag` for LFS files, else `ETag`); a blob already
 * present is never fetched again. The HEAD follows same-origin redirects only, as
 * huggingface_hub does: LFS files redirect to a CDN whose presigned URLs are signed for GET.
 * Bodies are written to `blobs/{etag}.incomplete`, resumed with a Range request, checked
 * against Content-Length (and against the sha256 when the etag is one, as LFS etags are) and
 * renamed into place only when complete, so a snapshot entry never points at half a file.
 * Offline (`HF_HUB_OFFLINE=1`) only the cache is read.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { GlassboxError } from '../errors.js';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
const MAX_REDIRECTS = 5;
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
const ID_FORM = "'name' or 'org/name', optionally followed by '@revision' (e.g. 'openai-community/gpt2@main')";

export interface ModelId {
  /** 'org/name' or 'name', as it appears in Hub URLs. */
  repo: string;
  org?: string;
  name: string;
  /** Branch, tag or commit hash; 'main' when the id names none. */
  revision: string;
}

export interface DownloadProgress {
  file: string;
  /** Bytes of the file on disk so far, counting a resumed prefix. */
  received: number;
  total?: number;
}

export interface HubOptions {
  /** Branch, tag or commit; overrides 'main', not a revision written in the id. */
  revision?: string;
  /** Defaults to HF_HUB_CACHE, then $HF_HOME/hub, then ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Defaults to HF_TOKEN, then HUGGING_FACE_HUB_TOKEN. */
  token?: string;
  /** Defaults to HF_ENDPOINT, then https://huggingface.co. */
  endpoint?: string;
  /** Read only the cache; defaults to HF_HUB_OFFLINE. */
  offline?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
}

export interface DownloadFileOptions extends HubOptions {
  /** A 404 for the file itself returns null instead of throwing. */
  optional?: boolean;
}

/** Files `downloadModel` fetches besides config and weights; each may be absent. */
export const OPTIONAL_MODEL_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'] as const;

const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;
const REVISION = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

/**
 * Parses 'name', 'org/name', 'org/name@revision'. Names follow the Hub's rules (huggingface_hub
 * `validate_repo_id`): letters, digits, '-', '_', '.', at most 96 characters, no '--' or '..'.
 *
 * @example
 * parseModelId('openai-community/gpt2@v1'); // { repo: 'openai-community/gpt2', org: 'openai-community', name: 'gpt2', revision: 'v1' }
 */
export function parseModelId(s: string): ModelId {
  const at = s.indexOf('@');
  const repo = at < 0 ? s : s.slice(0, at);
  const revision = at < 0 ? 'main' : s.slice(at + 1);
  const parts = repo.split('/');
  const bad = (why: string): never => {
    throw new GlassboxError('INVALID_ARGUMENT', `invalid model id '${s}': ${why}`, { hint: `Expected ${ID_FORM}` });
  };
  if (parts.length > 2) bad('more than one "/"');
  for (const p of parts) {
    if (!NAME.test(p)) bad(`'${p}' must be 1-96 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`);
    if (p.includes('--') || p.includes('..')) bad(`'${p}' contains '--' or '..'`);
  }
  if (!isValidRevision(revision)) bad(`revision '${revision}' must be letters, digits, '-', '_', '.' or '/'`);
  return parts.length === 2 ? { repo, org: parts[0], name: parts[1]!, revision } : { repo, name: parts[0]!, revision };
}

function isValidRevision(r: string): boolean {
  return REVISION.test(r) && !r.split('/').some((seg) => seg === '.' || seg === '..');
}

/** The hub cache folder: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface', 'hub');
}

/** 'org/name' → 'models--org--name', the repo's folder in the cache. */
export function repoFolderName(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}

/** huggingface_hub reads HF_HUB_OFFLINE as true for 1, ON, YES, TRUE. */
function envFlag(v: string | undefined): boolean {
  return v !== undefined && ['1', 'on', 'yes', 'true'].includes(v.trim().toLowerCase());
}

interface Context {
  repo: string;
  revision: string;
  endpoint: string;
  token?: string;
  /** The repo's own folder: {cache}/models--org--name. */
  root: string;
  offline: boolean;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
}

function makeContext(repoOrId: string, opts: HubOptions): Context {
  const id = parseModelId(repoOrId);
  const revision = repoOrId.includes('@') ? id.revision : (opts.revision ?? 'main');
  if (!isValidRevision(revision)) {
    throw new GlassboxError('INVALID_ARGUMENT', `invalid revision '${revision}' for ${id.repo}`, {
      hint: "A revision is a branch, tag or commit hash: letters, digits, '-', '_', '.' or '/'",
    });
  }
  const env = process.env;
  return {
    repo: id.repo,
    revision,
    endpoint: (opts.endpoint ?? (env.HF_ENDPOINT || DEFAULT_ENDPOINT)).replace(/\/+$/, ''),
    token: opts.token ?? (env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined),
    root: join(opts.cacheDir ?? hubCacheDir(env), repoFolderName(id.repo)),
    offline: opts.offline ?? envFlag(env.HF_HUB_OFFLINE),
    signal: opts.signal,
    onProgress: opts.onProgress,
  };
}

/**
 * Downloads one file of a model repo into the cache and returns its path under
 * `snapshots/{commit}/`, or null when `optional` and the Hub has no such file.
 *
 * @example
 * const path = await downloadFile('openai-community/gpt2', 'config.json');
 */
export async function downloadFile(repo: string, filename: string, opts: DownloadFileOptions = {}): Promise<string | null> {
  const found = await fetchFile(makeContext(repo, opts), filename, opts.optional ?? false);
  return found?.path ?? null;
}

/**
 * Downloads what glassbox needs to load a model: config.json, the safetensors weights (one file,
 * or an index and every shard it names) and the tokenizer files present. Returns the snapshot
 * folder. A repo with only pytorch_model.bin still gets its config fetched, so the loader can
 * say how to convert it.
 *
 * @example
 * const dir = await downloadModel('openai-community/gpt2');
 * // dir = ~/.cache/huggingface/hub/models--openai-community--gpt2/snapshots/<commit>
 */
export async function downloadModel(id: string, opts: HubOptions = {}): Promise<string> {
  const ctx = makeContext(id, opts);
  const config = await fetchFile(ctx, 'config.json', false);
  if (!config) throw new Error('unreachable: a required file returned null');
  // Pin the remaining files to the commit config.json came from, as snapshot_download does,
  // so a push to the branch mid-download cannot mix two revisions in one snapshot.
  const pinned: Context = { ...ctx, revision: config.commit };
  const snapshot = join(ctx.root, 'snapshots', config.commit);

  const single = await fetchFile(pinned, 'model.safetensors', true);
  if (!single) {
    const index = await fetchFile(pinned, 'model.safetensors.index.json', true);
    if (index) {
      for (const shard of await readShardNames(index.path, ctx.repo)) await fetchFile(pinned, shard, false);
    } else if (ctx.offline || !(await existsRemote(pinned, 'pytorch_model.bin'))) {
      throw new GlassboxError('NOT_FOUND', `${ctx.repo} at revision ${ctx.revision} has no safetensors weights`, {
        where: `${ctx.endpoint}/${ctx.repo}`,
        hint: ctx.offline
          ? 'Neither model.safetensors nor model.safetensors.index.json is in the cache; run once online or unset HF_HUB_OFFLINE'
          : 'Expected model.safetensors or model.safetensors.index.json in the repo',
      });
    }
  }
  for (const f of OPTIONAL_MODEL_FILES) await fetchFile(pinned, f, true);
  return snapshot;
}

/** The shard names of a `model.safetensors.index.json`: the distinct values of `weight_map`. */
async function readShardNames(indexPath: string, repo: string): Promise<string[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (e) {
    throw new GlassboxError('BAD_WEIGHTS', `model.safetensors.index.json of ${repo} is not valid JSON`, { where: indexPath, cause: e });
  }
  const map = (parsed as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null) {
    throw new GlassboxError('BAD_WEIGHTS', `model.safetensors.index.json of ${repo} has no "weight_map" object`, { where: indexPath });
  }
  const names = new Set<string>();
  for (const [tensor, file] of Object.entries(map)) {
    if (typeof file !== 'string' || !isSafeFilename(file)) {
      throw new GlassboxError('BAD_WEIGHTS', `weight_map entry '${tensor}' names an invalid shard file ${JSON.stringify(file)}`, { where: indexPath });
    }
    names.add(file);
  }
  return [...names];
}

/** The etag and the commit become file names: no separators, no '.' or '..'. */
function isSafeSegment(s: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(s) && s !== '.' && s !== '..';
}

/** A repo-relative path that cannot climb out of the snapshot folder. */
function isSafeFilename(f: string): boolean {
  if (f.length === 0 || f.includes('\\') || f.includes('\0') || f.startsWith('/')) return false;
  return f.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

interface Found {
  path: string;
  commit: string;
}

async function fetchFile(ctx: Context, filename: string, optional: boolean): Promise<Found | null> {
  if (!isSafeFilename(filename)) {
    throw new GlassboxError('INVALID_ARGUMENT', `invalid file name '${filename}' in ${ctx.repo}`, {
      hint: "A file name is a relative path inside the repo, without '..' or empty segments",
    });
  }
  if (ctx.offline) return fromCache(ctx, filename, optional);

  const url = resolveUrl(ctx, filename);
  const meta = await headFile(ctx, url, filename, optional);
  if (!meta) return null;
  const commit = meta.commit ?? ctx.revision;
  const blob = join(ctx.root, 'blobs', meta.etag);
  const pointer = join(ctx.root, 'snapshots', commit, ...filename.split('/'));
  if (!(await exists(blob))) await downloadBlobOnce(ctx, url, blob, meta, filename);
  await linkPointer(blob, pointer);
  if (commit !== ctx.revision) await writeRef(ctx, commit);
  return { path: pointer, commit };
}

function resolveUrl(ctx: Context, filename: string): string {
  const file = filename.split('/').map(encodeURIComponent).join('/');
  return `${ctx.endpoint}/${ctx.repo}/resolve/${encodeURIComponent(ctx.revision)}/${file}`;
}

/** The commit a revision pointed at when last online: refs/{revision}, or the revision itself. */
async function cachedCommit(ctx: Context): Promise<string> {
  try {
    return (await readFile(join(ctx.root, 'refs', ...ctx.revision.split('/')), 'utf8')).trim();
  } catch {
    return ctx.revision;
  }
}

async function fromCache(ctx: Context, filename: string, optional: boolean): Promise<Found | null> {
  const commit = await cachedCommit(ctx);
  const pointer = join(ctx.root, 'snapshots', commit, ...filename.split('/'));
  if (await exists(pointer)) return { path: pointer, commit };
  if (optional) return null;
  throw new GlassboxError('OFFLINE', `${filename} of ${ctx.repo} at revision ${ctx.revision} is not in the cache`, {
    where: join(ctx.root, 'snapshots', commit),
    hint: 'Run once with network access to download it, or unset HF_HUB_OFFLINE (offline mode reads only the cache)',
  });
}

async function writeRef(ctx: Context, commit: string): Promise<void> {
  const ref = join(ctx.root, 'refs', ...ctx.revision.split('/'));
  try {
    if ((await readFile(ref, 'utf8')).trim() === commit) return;
  } catch {
    // no ref yet
  }
  await mkdir(dirname(ref), { recursive: true });
  const tmp = tempName(ref);
  await writeFile(tmp, commit);
  await rename(tmp, ref);
}

/**
 * Points snapshots/{commit}/{file} at its blob with a relative symlink, so the cache can be
 * moved; where symlinks fail (Windows without developer mode) the blob is copied, through a
 * temporary name so the pointer is never half written.
 */
async function linkPointer(blob: string, pointer: string): Promise<void> {
  if (await exists(pointer)) return;
  await mkdir(dirname(pointer), { recursive: true });
  const target = relative(dirname(pointer), blob);
  try {
    await symlink(target, pointer);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      if (await exists(pointer)) return; // a concurrent call linked it
      await rm(pointer, { force: true }); // a dangling link left by a deleted blob
      return linkPointer(blob, pointer);
    }
    const tmp = tempName(pointer);
    await copyFile(blob, tmp);
    await rename(tmp, pointer);
  }
}

/** A sibling name no concurrent writer (in this process or another) will pick. */
function tempName(p: string): string {
  return `${p}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
}

/** `stat` follows links: a dangling symlink counts as missing. */
async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface Hop {
  url: string;
  res: Response;
}

/**
 * One request, following up to MAX_REDIRECTS redirects by hand so that Authorization goes only
 * to the endpoint's own origin (the Hub redirects LFS files to a CDN that must not see the
 * token). With `sameOriginOnly`, a redirect to another origin is returned, not followed.
 */
async function request(
  ctx: Context,
  url: string,
  init: { method: 'GET' | 'HEAD'; headers?: Record<string, string>; sameOriginOnly?: boolean },
): Promise<{ final: Hop; hops: Hop[] }> {
  const origin = new URL(url).origin;
  const hops: Hop[] = [];
  let current = url;
  for (;;) {
    const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'glassbox', ...init.headers };
    if (ctx.token && new URL(current).origin === origin) headers.authorization = `Bearer ${ctx.token}`;
    let res: Response;
    try {
      res = await fetch(current, { method: init.method, headers, redirect: 'manual', signal: ctx.signal });
    } catch (e) {
      throw await networkError(ctx, current, e);
    }
    const hop = { url: current, res };
    hops.push(hop);
    if (!REDIRECT_STATUS.has(res.status)) return { final: hop, hops };
    const location = res.headers.get('location');
    if (!location) return { final: hop, hops };
    const next = new URL(location, current).href;
    if (init.sameOriginOnly && new URL(next).origin !== origin) return { final: hop, hops };
    await res.body?.cancel();
    if (hops.length > MAX_REDIRECTS) {
      throw new GlassboxError('DOWNLOAD', `too many redirects (more than ${MAX_REDIRECTS}) fetching ${url}`, { where: current });
    }
    current = next;
  }
}

async function networkError(ctx: Context, url: string, e: unknown): Promise<GlassboxError> {
  if (ctx.signal?.aborted) return new GlassboxError('CANCELLED', `download of ${url} was cancelled`, { cause: e });
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const detail = [cause?.code, cause?.message].filter(Boolean).join(': ');
  const reason = (e instanceof Error ? e.message : String(e)) + (detail ? ` (${detail})` : '');
  return new GlassboxError('DOWNLOAD', `could not fetch ${url}: ${reason}`, {
    hint: 'Check the network and HF_ENDPOINT; if the files are already cached, set HF_HUB_OFFLINE=1 to use the cache only',
    cause: e,
  });
}

interface FileMeta {
  commit?: string;
  etag: string;
  size?: number;
}

/** Strips W/ and quotes: W/"abc" → abc. */
function normalizeEtag(v: string | null): string | undefined {
  if (!v) return undefined;
  const e = v.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  return e || undefined;
}

function firstHeader(hops: Hop[], name: string): string | undefined {
  for (const h of hops) {
    const v = h.res.headers.get(name);
    if (v) return v;
  }
  return undefined;
}

/**
 * HEAD the file: commit, etag and size, read from the first hop that carries them (for an LFS
 * file that is the Hub's redirect, not the CDN's answer). Null for an optional file the repo
 * lacks; a missing repo or revision is an error even for optional files.
 */
async function headFile(ctx: Context, url: string, filename: string, optional: boolean): Promise<FileMeta | null> {
  const { final, hops } = await request(ctx, url, { method: 'HEAD', sameOriginOnly: true });
  const status = final.res.status;
  await final.res.body?.cancel();
  if (status >= 400) {
    const hubCode = final.res.headers.get('x-error-code');
    if (status === 404 && optional && hubCode !== 'RepoNotFound' && hubCode !== 'RevisionNotFound') return null;
    throw httpError(ctx, filename, url, status, hubCode);
  }
  const etag = normalizeEtag(firstHeader(hops, 'x-linked-etag') ?? firstHeader(hops, 'etag') ?? null);
  if (!etag || !isSafeSegment(etag)) {
    throw new GlassboxError('DOWNLOAD', `the server sent no usable ETag for ${filename} of ${ctx.repo}, so it cannot be cached`, {
      where: url,
      hint: 'Check that HF_ENDPOINT points at a Hugging Face Hub (or a mirror that sends ETag headers)',
    });
  }
  const commit = firstHeader(hops, 'x-repo-commit')?.trim();
  if (commit !== undefined && !isSafeSegment(commit)) {
    throw new GlassboxError('DOWNLOAD', `the server sent an invalid X-Repo-Commit ${JSON.stringify(commit)} for ${filename} of ${ctx.repo}`, {
      where: url,
    });
  }
  const linkedSize = firstHeader(hops, 'x-linked-size');
  const ownSize = REDIRECT_STATUS.has(status) ? null : final.res.headers.get('content-length');
  const size = parseSize(linkedSize ?? ownSize ?? undefined);
  return { commit, etag, size };
}

function parseSize(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v);
}

function httpError(ctx: Context, filename: string, url: string, status: number, hubCode?: string | null): GlassboxError {
  const at = `${ctx.repo} at revision ${ctx.revision}`;
  if (status === 401 || status === 403 || hubCode === 'GatedRepo') {
    return new GlassboxError('AUTH', `access denied (HTTP ${status}) to ${filename} of ${at}`, {
      where: url,
      hint:
        'The model is gated or private, or does not exist (the Hub answers 401 for repos it will not show). ' +
        (ctx.token
          ? 'Check that the token in HF_TOKEN has read access and that you accepted the model terms on its page'
          : 'Set HF_TOKEN to a token from https://huggingface.co/settings/tokens, after accepting the model terms on its page'),
    });
  }
  if (status === 404) {
    const what =
      hubCode === 'RepoNotFound'
        ? `repository ${ctx.repo} not found`
        : hubCode === 'RevisionNotFound'
          ? `revision ${ctx.revision} not found in ${ctx.repo}`
          : `${filename} not found in ${at}`;
    return new GlassboxError('NOT_FOUND', what, {
      where: url,
      hint: 'Check the model id, the revision and the file name on the Hub',
    });
  }
  return new GlassboxError('DOWNLOAD', `HTTP ${status} fetching ${filename} of ${at}`, {
    where: url,
    hint: status >= 500 ? 'The Hub may be down; try again later' : undefined,
  });
}

/** Does the file exist at the revision? For a weights format we recognise but do not fetch. */
async function existsRemote(ctx: Context, filename: string): Promise<boolean> {
  return (await headFile(ctx, resolveUrl(ctx, filename), filename, true)) !== null;
}

// ---------------------------------------------------------------------------------------------
// Body download

/** Concurrent calls for the same blob within this process share one download. */
const inFlight = new Map<string, Promise<void>>();

function downloadBlobOnce(ctx: Context, url: string, blob: string, meta: FileMeta, filename: string): Promise<void> {
  let p = inFlight.get(blob);
  if (!p) {
    p = downloadBlob(ctx, url, blob, meta, filename).finally(() => inFlight.delete(blob));
    inFlight.set(blob, p);
  }
  return p;
}

async function fileSize(p: string): Promise<number> {
  try {
    return (await stat(p)).size;
  } catch {
    return 0;
  }
}

async function downloadBlob(ctx: Context, url: string, blob: string, meta: FileMeta, filename: string): Promise<void> {
  const partial = `${blob}.incomplete`;
  await mkdir(dirname(blob), { recursive: true });
  let start = await fileSize(partial);
  if (meta.size !== undefined && start > meta.size) start = 0; // not a prefix of this file

  let { final } = await request(ctx, url, { method: 'GET', headers: start > 0 ? { range: `bytes=${start}-` } : {} });
  let res = final.res;
  if (start > 0 && (res.status === 416 || (res.status === 206 && contentRangeStart(res) !== start))) {
    // The server will not continue from our offset: start over.
    await res.body?.cancel();
    start = 0;
    final = (await request(ctx, url, { method: 'GET' })).final;
    res = final.res;
  }
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel();
    throw httpError(ctx, filename, final.url, res.status, res.headers.get('x-error-code'));
  }
  if (res.status === 200) start = 0; // the server ignored Range: the body is the whole file
  const total = expectedTotal(res, start) ?? meta.size;

  // LFS etags are the sha256 of the content: check it, including a resumed prefix.
  const hash = /^[0-9a-f]{64}$/.test(meta.etag) ? createHash('sha256') : undefined;
  if (hash && start > 0) await hashPrefix(hash, partial, start);

  const fh = await open(partial, start > 0 ? 'r+' : 'w');
  let received = start;
  try {
    await fh.truncate(start);
    ctx.onProgress?.({ file: filename, received, total });
    if (res.body) {
      for await (const chunk of res.body) {
        await fh.write(chunk, 0, chunk.length, received);
        hash?.update(chunk);
        received += chunk.length;
        ctx.onProgress?.({ file: filename, received, total });
      }
    }
  } catch (e) {
    if (e instanceof GlassboxError) throw e;
    if ((e as NodeJS.ErrnoException).syscall) {
      throw new GlassboxError('DOWNLOAD', `could not write ${partial}: ${(e as Error).message}`, { cause: e });
    }
    // The partial file stays: the next call resumes from it.
    throw await networkError(ctx, final.url, e);
  } finally {
    await fh.close();
  }
  if (total !== undefined && received !== total) {
    throw new GlassboxError('DOWNLOAD', `download of ${filename} from ${ctx.repo} ended after ${received} of ${total} bytes`, {
      where: url,
      hint: 'Run again to resume from the partial file',
    });
  }
  if (hash) {
    const digest = hash.digest('hex');
    if (digest !== meta.etag) {
      await rm(partial, { force: true });
      throw new GlassboxError('DOWNLOAD', `${filename} from ${ctx.repo} has sha256 ${digest}, expected ${meta.etag}`, {
        where: url,
        hint: 'The download was corrupted; run again to fetch it afresh',
      });
    }
  }
  await rename(partial, blob);
}

/** Feeds the first `length` bytes of a file to a hash. */
async function hashPrefix(hash: Hash, path: string, length: number): Promise<void> {
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1 })) hash.update(chunk as Buffer);
}

/** 'bytes 100-199/200' → 100. */
function contentRangeStart(res: Response): number | undefined {
  const m = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(res.headers.get('content-range')?.trim() ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Size of the whole file, from Content-Range (206) or Content-Length (200). */
function expectedTotal(res: Response, start: number): number | undefined {
  if (res.status === 206) {
    const m = /\/(\d+)$/.exec(res.headers.get('content-range')?.trim() ?? '');
    if (m) return Number(m[1]);
    const len = parseSize(res.headers.get('content-length') ?? undefined);
    return len === undefined ? undefined : start + len;
  }
  return parseSize(res.headers.get('content-length') ?? undefined);
}
