/**
 * Renderers: the JSON form (round trip, exactly the documented keys), the terminal heatmap
 * (plain and coloured) and the HTML page (self-contained, token text escaped everywhere).
 * Attributions are built by hand, plus one from explain() on the tiny-bert-cls fixture.
 * No headless browser: the HTML checks are structural (tags, script data, references).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { explain } from '../../src/explain/explain.js';
import type { Attribution } from '../../src/explain/types.js';
import { loadModel } from '../../src/models/model.js';
import {
  colorDefault,
  divergingColor,
  formatScore,
  JSON_FORMAT_DOC,
  renderHtml,
  renderMatrixTerminal,
  renderTerminal,
  scriptJson,
  textSegments,
  toJson,
  xterm256,
} from '../../src/render/index.js';

const FIXTURES = join(import.meta.dirname, '../../../shared/fixtures/hf-reference');
const XSS = '<img src=x onerror=alert(1)>';

/** A text input with spans, specials and an XSS token, explained by "integrated gradients". */
function textAttribution(): Attribution {
  const text = `I loved this ${XSS} movie`;
  const words = ['I', 'loved', 'this', XSS, 'movie'];
  let at = 0;
  const spans = words.map((w) => {
    const start = text.indexOf(w, at);
    at = start + w.length;
    return [start, at] as const;
  });
  const tokens = [
    { id: 101, text: '[CLS]', start: 0, end: 0, special: true, typeId: 0 },
    ...words.map((w, i) => ({ id: 1000 + i, text: w, start: spans[i][0], end: spans[i][1], special: false, typeId: 0 })),
    { id: 102, text: '[SEP]', start: 0, end: 0, special: true, typeId: 0 },
  ];
  const scores = [0.01, 0.05, 0.8, -0.1, -0.45, 0.3, 0];
  return {
    method: 'integrated-gradients',
    text,
    tokens,
    features: tokens.map((t, i) => ({ label: t.text, tokens: [i] })),
    scores,
    full: tokens.map((_, i) => [i, -i]),
    target: { kind: 'class', ids: [1], labels: ['positive'], positions: [], foil: null, score: 'logit', description: 'class positive (logit)' },
    prediction: { id: 1, label: 'positive', probability: 0.8734 },
    at: 'embed',
    settings: { steps: 50, integration: 'gauss-legendre', baseline: 'zero', at: 'embed', target: 'class positive (logit)' },
    quality: { fx: 2.5, fBaseline: 0.1, completenessDelta: 0.0012 },
  };
}

/** Token ids input with hostile token texts and attention extras (head view). */
function idsAttribution(): Attribution {
  const texts = ['<s>', XSS, '</script><script>alert(2)</script>', 'a&b "q" \'s\'', '\u2028x\x1b[31m'];
  const S = texts.length;
  const pattern = (h: number) => Array.from({ length: S }, (_, q) => Array.from({ length: S }, (_, k) => (k <= q ? (k + 1 + h) / 10 : 0)));
  const attentions = [0, 1].map(() => [0, 1].map(pattern));
  return {
    method: 'attention',
    text: null,
    tokens: texts.map((t, i) => ({ id: i + 5, text: t, start: 0, end: 0, special: false, typeId: 0 })),
    features: texts.map((t, i) => ({ label: t, tokens: [i] })),
    scores: [0.2, 0.5, 0.1, NaN, 0.2],
    target: { kind: 'next-token', ids: [7], labels: [XSS], positions: [S - 1], foil: null, score: 'logit', description: `next token after position ${S - 1}: ${JSON.stringify(XSS)} (logit)` },
    prediction: { id: 7, label: XSS, probability: 0.5 },
    at: 'embed',
    settings: { layer: 1, head: 'all', aggregation: 'mean' },
    quality: { fx: 1 },
    extra: { attentions, matrix: attentions[1][0] },
  };
}

/** The documented top-level keys, read from the doc's table. */
const DOC_KEYS = [...JSON_FORMAT_DOC.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
const OPTIONAL = ['delta', 'full', 'faithfulness', 'extra'];

describe('toJson', () => {
  it('documents its keys', () => {
    assert.deepEqual(DOC_KEYS, ['format', 'method', 'text', 'tokens', 'features', 'scores', 'target', 'prediction', 'at', 'settings', 'quality', 'delta', 'full', 'faithfulness', 'extra']);
  });
  it('round-trips through JSON and has exactly the documented keys', () => {
    for (const a of [textAttribution(), idsAttribution()]) {
      const j = toJson(a);
      assert.deepEqual(JSON.parse(JSON.stringify(j)), j);
      const required = DOC_KEYS.filter((k) => !OPTIONAL.includes(k));
      const expected = [...required, ...(typeof a.quality.completenessDelta === 'number' ? ['delta'] : [])];
      assert.deepEqual(Object.keys(j).sort(), expected.sort());
      assert.deepEqual(Object.keys((j.tokens as object[])[0]).sort(), ['end', 'id', 'special', 'start', 'text', 'typeId']);
      assert.deepEqual(Object.keys((j.features as object[])[0]).sort(), ['label', 'tokens']);
    }
  });
  it('puts the completeness delta at the top level too, and full / extra only on request', () => {
    const a = textAttribution();
    const j = toJson(a, { full: true });
    assert.equal(j.delta, 0.0012);
    assert.deepEqual((j.quality as Record<string, number>).completenessDelta, 0.0012);
    assert.deepEqual(j.full, a.full!.map((r) => r.map((v) => v + 0)), '-0 written as 0, as JSON does');
    assert.ok(!('extra' in j));
    const b = toJson(idsAttribution(), { full: true, extra: true });
    assert.ok(!('full' in b), 'no full when the attribution has none');
    assert.ok('extra' in b);
    assert.deepEqual(JSON.parse(JSON.stringify(b)), b);
  });
  it('writes non-finite numbers as null', () => {
    const j = toJson(idsAttribution());
    assert.equal((j.scores as unknown[])[3], null);
  });
});

describe('renderTerminal', () => {
  it('without colour: every token, every score in brackets, header and footer, no escapes', () => {
    const a = textAttribution();
    const out = renderTerminal(a, { color: false, width: 200 });
    assert.ok(!out.includes('\x1b'), 'no ANSI escapes');
    for (const [i, t] of a.tokens.entries()) assert.ok(out.includes(`${t.text}[${formatScore(a.scores[i])}]`), `token ${t.text} with its score`);
    const [head] = out.split('\n');
    assert.match(head, /integrated-gradients/);
    assert.match(head, /class positive \(logit\)/);
    assert.match(head, /p=0\.873/);
    assert.match(out, /completeness delta 0\.0012/);
    assert.ok(out.includes(`top 5: loved +0.8, ${XSS} -0.45, movie +0.3, this -0.1, I +0.05`));
    assert.match(out, /I\[\+0\.05\] loved\[\+0\.8\] this\[-0\.1\]/, 'the original text, spaces kept');
  });
  it('with colour: ANSI 256-colour or truecolor backgrounds', () => {
    const a = textAttribution();
    const c256 = renderTerminal(a, { color: true, palette: '256' });
    assert.ok(c256.includes(`\x1b[48;5;${xterm256(divergingColor(1))}m`), 'the strongest positive feature in full red');
    assert.ok(c256.includes('\x1b[0m'));
    const tc = renderTerminal(a, { color: true, palette: 'truecolor' });
    const [r, g, b] = divergingColor(-0.45 / 0.8); // the XSS token's score over the largest |score|
    assert.ok(tc.includes(`\x1b[48;2;${r};${g};${b}m`), 'a negative feature in blue');
  });
  it('never passes control characters from token text to the terminal', () => {
    const a = idsAttribution();
    for (const color of [false, true]) {
      const out = renderTerminal(a, { color, palette: '256' });
      assert.ok(!out.includes('\x1b[31m'), 'the token\'s own escape is shown, not obeyed');
      assert.ok(out.includes('\\x1b[31m'));
    }
  });
  it('wraps at the width', () => {
    const out = renderTerminal(textAttribution(), { color: false, width: 40 });
    const body = out.split('\n').slice(1, -2);
    assert.ok(body.length > 1);
    for (const line of body) assert.ok([...line].length <= 40, `line too long: ${JSON.stringify(line)}`);
  });
  it('colour by default only on a TTY without NO_COLOR', () => {
    assert.equal(colorDefault(true, {}), true);
    assert.equal(colorDefault(false, {}), false);
    assert.equal(colorDefault(true, { NO_COLOR: '1' }), false);
  });
  it('textSegments keeps the text between tokens and merges a feature\'s adjacent tokens', () => {
    const a = textAttribution();
    a.features = [{ label: 'I loved', tokens: [1, 2] }, { label: 'rest', tokens: [0, 3, 4, 5, 6] }];
    a.scores = [1, -1];
    const segs = textSegments(a);
    assert.equal(segs.map((s) => s.text).join(''), `[CLS] ${a.text} [SEP]`);
    assert.deepEqual(segs.filter((s) => s.last).map((s) => s.feature), [0, 1]);
  });
});

describe('renderMatrixTerminal', () => {
  it('labels, values, and colour on request', () => {
    const plain = renderMatrixTerminal(['a', 'bb'], ['x', 'y'], [[0.5, 0.25], [0, 1]], { color: false, title: 'layer 0' });
    assert.ok(!plain.includes('\x1b'));
    for (const s of ['layer 0', 'a', 'bb', 'x', 'y', '0.50', '0.25', '0.00', '1.00']) assert.ok(plain.includes(s), s);
    const coloured = renderMatrixTerminal(['a', 'bb'], ['x', 'y'], [[0.5, 0.25], [0, 1]], { color: true });
    assert.match(coloured, /\x1b\[48;/);
  });
});

/** Start tags outside scripts and styles, with their attribute names (quoted values skipped). */
function tagsOutsideScripts(html: string): { name: string; attributes: string[] }[] {
  const stripped = html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/g, '').replace(/<style>[\s\S]*?<\/style>/g, '');
  const attribute = /\s+([^\s"'>\/=]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?/g;
  const tag = /<([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s"'>\/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/g;
  return [...stripped.matchAll(tag)].map((m) => ({ name: m[1].toLowerCase(), attributes: [...m[2].matchAll(attribute)].map((a) => a[1].toLowerCase()) }));
}

const ALLOWED_TAGS = new Set(['html', 'head', 'meta', 'title', 'body', 'h1', 'h2', 'h3', 'section', 'p', 'b', 'div', 'span', 'table', 'caption', 'tr', 'th', 'td', 'label', 'select', 'svg']);

function checkPage(html: string, hostile: string[]): void {
  assert.ok(!/https?:\/\//.test(html), 'no http(s) reference: nothing is fetched');
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  assert.ok(!html.includes('<img'), 'no raw <img');
  const tags = tagsOutsideScripts(html);
  assert.equal(tags.length, (html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/g, '').replace(/<style>[\s\S]*?<\/style>/g, '').match(/<[a-zA-Z]/g) ?? []).length, 'every < that opens a tag parses as one');
  for (const { name, attributes } of tags) {
    assert.ok(ALLOWED_TAGS.has(name), `unexpected element <${name}>`);
    for (const at of attributes) assert.ok(!at.startsWith('on'), `event handler attribute ${at} on <${name}>`);
  }
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  const data = scripts.filter((m) => m[1].includes('application/json'));
  const code = scripts.filter((m) => !m[1].includes('application/json'));
  assert.ok(code.length <= 1, 'at most the one head-view script');
  if (code.length === 1) {
    const nonce = /nonce="([0-9a-f]+)"/.exec(code[0][1])![1];
    assert.ok(html.includes(`script-src 'nonce-${nonce}'`), 'the script runs under the page\'s nonce');
  }
  for (const [, , body] of data) {
    assert.ok(!/[<>&\u2028\u2029]/.test(body), 'script data has no <, >, & or line separators');
    const parsed = JSON.parse(body) as { tokens: string[] };
    for (const h of hostile) assert.ok(parsed.tokens.includes(h), `token ${JSON.stringify(h)} survives the round trip exactly`);
  }
}

describe('renderHtml', () => {
  it('a self-contained page, token text escaped in markup and script data', () => {
    const a = textAttribution();
    const html = renderHtml(a, { title: `Why ${XSS}?`, faithfulness: { 'integrated-gradients': { comprehensiveness: 0.41, sufficiency: 0.07 }, saliency: { comprehensiveness: 0.2, sufficiency: 0.3 } } });
    checkPage(html, []);
    assert.ok(html.includes(`&lt;img src=x onerror=alert(1)&gt;`), 'the token shows as text');
    for (const t of ['I', 'loved', 'movie', '[CLS]']) assert.ok(html.includes(`>${t}</span>`), t);
    assert.ok(html.includes('title="loved: 0.8 (token 2)"'), 'the exact score on hover');
    for (const s of ['Settings', 'gauss-legendre', 'Quality', 'completeness delta', 'Faithfulness', 'comprehensiveness', 'sufficiency', '-0.8', '+0.8']) assert.ok(html.includes(s), s);
    assert.ok(!html.includes('<script'), 'no head view, no script');
  });
  it('a head view for attention extras, with hostile tokens', () => {
    const a = idsAttribution();
    const html = renderHtml(a);
    checkPage(html, a.tokens.map((t) => t.text));
    assert.ok(html.includes('class="gb-heads"'));
    const block = /<script type="application\/json" id="gb-data-0">([\s\S]*?)<\/script>/.exec(html)![1];
    const d = JSON.parse(block);
    assert.deepEqual(d.tokens, a.tokens.map((t) => t.text));
    assert.deepEqual(d.attentions, a.extra!.attentions);
    assert.equal(d.layer, 1);
    assert.equal(d.head, -1);
    assert.ok(!html.includes('</script><script>alert(2)'), 'a </script> token cannot close the data block');
  });
  it('scriptJson escapes what could end or confuse a script element', () => {
    const s = scriptJson({ t: '</script>&\u2028' });
    assert.ok(!/[<>&\u2028]/.test(s));
    assert.deepEqual(JSON.parse(s), { t: '</script>&\u2028' });
  });
  it('several attributions, one section each, and given attentions get their own head view', () => {
    const att = idsAttribution().extra!.attentions as number[][][][];
    const b = idsAttribution();
    delete b.extra;
    const html = renderHtml([textAttribution(), b], { attentions: undefined });
    assert.equal(html.match(/<section class="gb-attr">/g)!.length, 2);
    const withAtt = renderHtml(b, { attentions: att });
    assert.ok(withAtt.includes('id="gb-data-attentions"'));
    checkPage(withAtt, b.tokens.map((t) => t.text));
  });
});

/** Just enough DOM to run the head-view script: elements that record attributes, children and text. */
interface FakeElement {
  tag: string;
  attributes: Record<string, string>;
  children: FakeElement[];
  textContent: string;
  value: string;
  namespaceURI?: string;
  firstChild: FakeElement | null;
  setAttribute(k: string, v: string): void;
  getAttribute(k: string): string | null;
  appendChild(c: FakeElement): FakeElement;
  removeChild(c: FakeElement): void;
  addEventListener(type: string, f: () => void): void;
  querySelector(sel: string): FakeElement;
}

function fakeElement(tag: string, parts: Record<string, FakeElement> = {}): FakeElement {
  const e: FakeElement = {
    tag,
    attributes: {},
    children: [],
    textContent: '',
    value: '',
    get firstChild() {
      return this.children[0] ?? null;
    },
    setAttribute(k, v) {
      this.attributes[k] = v;
    },
    getAttribute(k) {
      return this.attributes[k] ?? null;
    },
    appendChild(c) {
      this.children.push(c);
      return c;
    },
    removeChild(c) {
      this.children.splice(this.children.indexOf(c), 1);
    },
    addEventListener() {},
    querySelector(sel) {
      return parts[sel];
    },
  };
  return e;
}

function runHeadView(html: string): FakeElement {
  const code = /<script nonce="[^"]+">([\s\S]*?)<\/script>/.exec(html)![1];
  const blocks = new Map([...html.matchAll(/<script type="application\/json" id="([^"]+)">([\s\S]*?)<\/script>/g)].map((m) => [m[1], m[2]]));
  const id = /class="gb-heads" data-src="([^"]+)"/.exec(html)![1];
  const svg = Object.assign(fakeElement('svg'), { namespaceURI: 'svg-namespace' });
  const box = fakeElement('div', { svg, '.gb-layer': fakeElement('select'), '.gb-head': fakeElement('select') });
  box.setAttribute('data-src', id);
  const document = {
    querySelectorAll: (sel: string) => (sel === '.gb-heads' ? [box] : []),
    getElementById: (x: string) => (blocks.has(x) ? { textContent: blocks.get(x)! } : null),
    createElement: (tag: string) => fakeElement(tag),
    createElementNS: (ns: string, tag: string) => {
      assert.equal(ns, 'svg-namespace', 'SVG elements in the page\'s own SVG namespace');
      return fakeElement(tag);
    },
  };
  new Function('document', code)(document);
  return svg;
}

describe('the head-view script (on a minimal fake DOM)', () => {
  it('draws the selected layer: one line per weight above 0.005, tokens as text', () => {
    const a = idsAttribution();
    const svg = runHeadView(renderHtml(a));
    const att = a.extra!.attentions as number[][][][];
    const mean = att[1][0].map((row, q) => row.map((v, k) => (v + att[1][1][q][k]) / 2));
    const lines = svg.children.filter((c) => c.tag === 'line');
    assert.equal(lines.length, mean.flat().filter((w) => w > 0.005).length);
    for (const l of lines) {
      const q = (Number(l.attributes.y1) - 28 - 11) / 22;
      const k = (Number(l.attributes.y2) - 28 - 11) / 22;
      assert.ok(Math.abs(Number(l.attributes['stroke-opacity']) - mean[q][k]) < 1e-5, `line ${q} -> ${k}`);
    }
    const texts = svg.children.filter((c) => c.tag === 'text').map((c) => c.children.find((t) => t.tag === 'title')?.textContent ?? c.textContent);
    for (const t of a.tokens) assert.equal(texts.filter((x) => x === t.text).length, 2, `token ${JSON.stringify(t.text)} in both columns`);
  });
});

describe('a real attribution: attention on tiny-bert-cls', () => {
  let a: Attribution;
  before(async () => {
    const model = await loadModel(join(FIXTURES, 'tiny-bert-cls'));
    a = await explain(model, { ids: [2, 17, 42, 8, 3] }, { method: 'attention' });
  });
  it('renders as JSON, terminal text and HTML', () => {
    const j = toJson(a, { extra: true });
    assert.deepEqual(JSON.parse(JSON.stringify(j)), j);
    assert.equal(j.method, 'attention');
    const out = renderTerminal(a, { color: false });
    for (const [i, t] of a.tokens.entries()) assert.ok(out.includes(`${t.text}[${formatScore(a.scores[i])}]`));
    const html = renderHtml(a);
    checkPage(html, []);
    assert.ok(html.includes('class="gb-heads"'), 'head view');
    assert.ok(html.includes('gb-matrix'), 'the [query × key] matrix');
    const d = JSON.parse(/<script type="application\/json" id="gb-data-0">([\s\S]*?)<\/script>/.exec(html)![1]);
    const att = a.extra!.attentions as number[][][][];
    assert.equal(d.attentions.length, att.length);
    d.attentions.flat(3).forEach((v: number, i: number) => assert.ok(Math.abs(v - att.flat(3)[i]) <= 5e-6, 'attention rounded to 5 decimals'));
  });
});
