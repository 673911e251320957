/**
 * The browser build in a real browser: Debian's Chromium (driven by playwright-core) loads
 * dist/web.js and onnxruntime-web's WebAssembly from a server on 127.0.0.1, builds a graph,
 * differentiates it and runs forward and backward. Reference: the closed form
 * y = sum(tanh(xW)), dy/dx = (1 - tanh^2(xW)) W^T, in float64; tolerance 1e-5 (float32).
 * Skipped, with the reason, where Chromium is not installed.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { explain } from '../../src/explain/explain.js';
import { loadModel } from '../../src/models/model.js';
import { renderHtml } from '../../src/render/index.js';

const ROOT = join(import.meta.dirname, '../..');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const X = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6];
const W = Array.from({ length: 12 }, (_, i) => Math.sin(i + 1) * 0.5);

const PAGE = `<!DOCTYPE html><html><head><meta charset="utf-8">
<script type="importmap">{"imports": {"onnxruntime-web": "/node_modules/onnxruntime-web/dist/ort.bundle.min.mjs"}}</script>
</head><body><script type="module">
import { Graph, op, grad, compile, runProgram, createWebExecutor, tensor } from '/dist/web.js';
try {
  const g = new Graph('browser');
  const x = g.input('x', 'float32', [2, 3]);
  const w = g.weight('w', 'float32', [3, 4]);
  const y = op.reduceSum(op.tanh(op.matmul(x, w)));
  g.output('y', y);
  g.output('dx', grad(y, [x])[0]);
  const out = await runProgram(createWebExecutor(), compile(g), { x: tensor('float32', [2, 3], ${JSON.stringify(X)}), w: tensor('float32', [3, 4], ${JSON.stringify(W)}) });
  window.__result = { y: Array.from(out.y.data), dx: Array.from(out.dx.data) };
} catch (e) {
  window.__result = { error: String(e && e.stack || e) };
}
</script></body></html>`;

const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
let report = '';

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json' };

describe('glassbox/web in Chromium', { skip: CHROMIUM ? false : 'Chromium is not installed (apt-get install chromium)' }, () => {
  let server: Server;
  let base = '';
  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
        return;
      }
      if (url.pathname === '/report.html') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(report);
        return;
      }
      const file = normalize(join(ROOT, decodeURIComponent(url.pathname)));
      const allowed = [join(ROOT, 'dist'), join(ROOT, 'node_modules', 'onnxruntime-web')];
      if (!allowed.some((d) => file.startsWith(d + '/')) || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('builds, differentiates and runs a graph with onnxruntime-web (WebAssembly)', { timeout: 120_000 }, async () => {
    assert.ok(existsSync(join(ROOT, 'dist/web.js')), 'dist/ is built (npm run build)');
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: LAUNCH_ARGS,
    });
    try {
      const page = await browser.newPage();
      await page.goto(base + '/');
      await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 60_000 });
      const result = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as { y?: number[]; dx?: number[]; error?: string };
      assert.equal(result.error, undefined, `page error: ${result.error}`);
      // Closed form in float64.
      let y = 0;
      const dx = new Array(6).fill(0);
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 4; j++) {
          let z = 0;
          for (let k = 0; k < 3; k++) z += X[i * 3 + k] * W[k * 4 + j];
          const t = Math.tanh(z);
          y += t;
          for (let k = 0; k < 3; k++) dx[i * 3 + k] += (1 - t * t) * W[k * 4 + j];
        }
      }
      assert.ok(Math.abs(result.y![0] - y) < 1e-5, `y ${result.y![0]} vs ${y}`);
      dx.forEach((v, i) => assert.ok(Math.abs(result.dx![i] - v) < 1e-5, `dx[${i}] ${result.dx![i]} vs ${v}`));
    } finally {
      await browser.close();
    }
  });

  it('an HTML report runs its head view without errors and shows a hostile token as text', { timeout: 120_000 }, async () => {
    const model = await loadModel(join(ROOT, '../shared/fixtures/hf-reference/tiny-bert-cls'));
    const a = await explain(model, { ids: [2, 17, 42, 8, 3] }, { method: 'attention' });
    const hostile = '<img src=x onerror="window.__pwned=1">';
    a.tokens[1] = { ...a.tokens[1], text: hostile };
    a.features[1] = { ...a.features[1], label: hostile };
    report = renderHtml(a);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(base + '/report.html');
      await page.waitForTimeout(300);
      assert.deepEqual(errors, []);
      const state = await page.evaluate(() => ({
        lines: document.querySelectorAll('svg line, svg path').length,
        pwned: (window as unknown as { __pwned?: number }).__pwned,
        images: document.querySelectorAll('img').length,
        text: document.body.innerText,
      }));
      assert.ok(state.lines > 0, 'the head view drew its lines');
      assert.equal(state.pwned, undefined, 'the hostile token did not run');
      assert.equal(state.images, 0, 'no <img> element was created');
      assert.ok(state.text.includes(hostile), 'the token is shown as text');
    } finally {
      await browser.close();
    }
  });
});
