/**
 * One self-contained HTML page for one or more attributions: the text as a heatmap with the
 * exact score of each feature on hover, a legend with the scale's numeric ends, the settings
 * and quality figures, an optional faithfulness table, the method's [query][key] matrix when
 * it has one, and — for attention methods or when attentions are given — a head view in the
 * manner of bertviz (Vig 2019): layer and head selectors, the tokens in two columns, lines
 * weighted by attention, drawn by a short inline script.
 *
 * Decisions:
 * - No network: inline CSS and JS only, no fonts, images or links, and a Content Security
 *   Policy (`default-src 'none'`) that says so to the browser. The one script runs under a
 *   nonce derived from the page's content, so an injected inline handler would not run even
 *   if escaping failed.
 * - Token text is untrusted. It is HTML-escaped wherever it enters markup, and data for the
 *   script travels as JSON in `<script type="application/json">` with `<`, `>`, `&`, U+2028
 *   and U+2029 written as \u escapes; the script reads it with JSON.parse and puts text into
 *   the page only through `textContent`.
 */
import type { Attribution } from '../explain/types.js';
import { asAttentions, asSquare, divergingColor, formatNumber, formatScore, intensity, maxAbs, qualityEntries, type Rgb, textColorOn, textSegments } from './common.js';

export interface HtmlOptions {
  title?: string;
  /** A faithfulness report (metrics/): a table of rows, or an object of objects, or a flat object. */
  faithfulness?: object;
  /** [layer][head][query][key] attentions for a head view over the first attribution's tokens. */
  attentions?: number[][][][];
}

/** HTML-escape text for element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside a <script> element: no `<`, `>` or `&` (so no `</script>`), no line separators. */
export function scriptJson(data: unknown): string {
  return JSON.stringify(data).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const rgb = (c: Rgb) => `rgb(${c[0]},${c[1]},${c[2]})`;

/** FNV-1a over the page, twice with different offsets: a 16-hex-digit nonce tied to the content. */
function contentNonce(s: string): string {
  const fnv = (seed: number) => {
    let h = seed >>> 0;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    return h.toString(16).padStart(8, '0');
  };
  return fnv(0x811c9dc5) + fnv(0x050c5d1f);
}

function heatmap(a: Attribution): string {
  const scale = maxAbs(a.scores);
  const parts = textSegments(a).map((s) => {
    if (s.feature === null) return escapeHtml(s.text);
    const score = a.scores[s.feature];
    const f = a.features[s.feature];
    const bg = divergingColor(intensity(score, scale));
    const tip = `${f.label}: ${Number.isFinite(score) ? String(score) : 'n/a'}${f.tokens.length > 1 ? ` (tokens ${f.tokens.join(', ')})` : ` (token ${f.tokens[0]})`}`;
    return `<span class="gb-tok" style="background:${rgb(bg)};color:${textColorOn(bg)}" title="${escapeHtml(tip)}" data-score="${escapeHtml(String(score))}">${escapeHtml(s.text)}</span>`;
  });
  const legend =
    `<div class="gb-legend"><span>${escapeHtml(formatScore(-scale))}</span>` +
    `<span class="gb-bar" style="background:linear-gradient(to right,${rgb(divergingColor(-1))},${rgb(divergingColor(0))},${rgb(divergingColor(1))})"></span>` +
    `<span>${escapeHtml(formatScore(scale))}</span><span class="gb-note">red supports the target, blue opposes it; hover a token for its exact score</span></div>`;
  return `<div class="gb-text">${parts.join('')}</div>${legend}`;
}

function cellText(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? formatNumber(v) : String(v);
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v.length > 12 ? `[${v.slice(0, 12).map((x) => formatNumber(x)).join(', ')}, …]` : `[${v.map((x) => formatNumber(x)).join(', ')}]`;
  return JSON.stringify(v) ?? String(v);
}

const cellTitle = (v: unknown) => (typeof v === 'number' ? ` title="${escapeHtml(String(v))}"` : '');

function keyValueTable(entries: [string, unknown][], caption?: string): string {
  const rows = entries.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td${cellTitle(v)}>${escapeHtml(cellText(v))}</td></tr>`);
  return `<table class="gb-kv">${caption ? `<caption>${escapeHtml(caption)}</caption>` : ''}${rows.join('')}</table>`;
}

const isPlain = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Rows of objects, an object of objects (row name → columns), or a flat object. */
function genericTable(data: object, caption: string): string {
  let rows: [string, Record<string, unknown>][] | null = null;
  if (Array.isArray(data) && data.every(isPlain)) rows = data.map((r, i) => [String(i + 1), r]);
  else if (isPlain(data) && Object.values(data).length > 0 && Object.values(data).every(isPlain)) rows = Object.entries(data as Record<string, Record<string, unknown>>);
  if (!rows) return keyValueTable(Object.entries(data), caption);
  const cols = [...new Set(rows.flatMap(([, r]) => Object.keys(r)))];
  const head = `<tr><th></th>${cols.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`;
  const body = rows.map(([name, r]) => `<tr><th>${escapeHtml(name)}</th>${cols.map((c) => `<td${cellTitle(r[c])}>${escapeHtml(cellText(r[c]))}</td>`).join('')}</tr>`);
  return `<table class="gb-grid"><caption>${escapeHtml(caption)}</caption>${head}${body.join('')}</table>`;
}

const MATRIX_LIMIT = 64;

function matrixTable(labels: string[], m: number[][], caption: string): string {
  const scale = maxAbs(m.flat());
  const head = `<tr><th class="gb-corner">query \\ key</th>${labels.map((l) => `<th class="gb-col">${escapeHtml(l)}</th>`).join('')}</tr>`;
  const body = m.map((row, q) => {
    const cells = row.map((v, k) => {
      const bg = divergingColor(intensity(v, scale));
      return `<td style="background:${rgb(bg)};color:${textColorOn(bg)}" title="${escapeHtml(`${labels[q]} → ${labels[k]}: ${v}`)}">${escapeHtml(formatNumber(v))}</td>`;
    });
    return `<tr><th>${escapeHtml(labels[q])}</th>${cells.join('')}</tr>`;
  });
  return `<table class="gb-matrix"><caption>${escapeHtml(caption)}</caption>${head}${body.join('')}</table>`;
}

interface HeadViewData {
  tokens: string[];
  attentions: number[][][][];
  layer: number;
  head: number;
}

const round5 = (x: number) => Math.round(x * 1e5) / 1e5;

function headViewData(tokens: string[], att: number[][][][], settings: Record<string, unknown>): HeadViewData {
  const L = att.length;
  const H = att[0].length;
  const layer = typeof settings.layer === 'number' && settings.layer >= 0 && settings.layer < L ? settings.layer : L - 1;
  const head = typeof settings.head === 'number' && settings.head >= 0 && settings.head < H ? settings.head : -1;
  return { tokens, attentions: att.map((l) => l.map((h) => h.map((r) => r.map(round5)))), layer, head };
}

function headViewMarkup(id: string): string {
  return (
    `<div class="gb-heads" data-src="${id}"><div class="gb-controls"><label>Layer <select class="gb-layer"></select></label> ` +
    `<label>Head <select class="gb-head"></select></label> <span class="gb-note">lines: attention from a query token (left) to a key token (right); hover a token to follow its lines</span></div>` +
    `<svg class="gb-svg" role="img" aria-label="attention head view"></svg></div>`
  );
}

function section(a: Attribution, index: number, data: Map<string, HeadViewData>): string {
  const p = a.prediction;
  const meta =
    `<p class="gb-meta"><b>target</b> ${escapeHtml(a.target.description)} · <b>prediction</b> ${escapeHtml(p.label)} ` +
    `(p = ${escapeHtml(p.probability.toFixed(4))}) · <b>at</b> ${escapeHtml(a.at)}</p>`;
  const settings = keyValueTable(Object.entries(a.settings), 'Settings');
  const q = qualityEntries(a);
  const quality = q.length > 0 ? keyValueTable(q, 'Quality') : '';
  const labels = a.tokens.map((t) => t.text);
  const matrices: string[] = [];
  for (const key of ['rollout', 'matrix']) {
    const m = asSquare(a.extra?.[key], a.tokens.length);
    if (!m) continue;
    matrices.push(a.tokens.length <= MATRIX_LIMIT ? matrixTable(labels, m, key === 'rollout' ? 'Attention rollout [query × key]' : `${a.method} [query × key]`) : `<p class="gb-note">${escapeHtml(key)}: ${a.tokens.length} × ${a.tokens.length}, too large to tabulate (see the JSON output)</p>`);
  }
  let heads = '';
  const att = asAttentions(a.extra?.attentions);
  if (att && att[0][0].length === a.tokens.length) {
    const id = `gb-data-${index}`;
    data.set(id, headViewData(labels, att, a.settings));
    heads = `<h3>Head view</h3>${headViewMarkup(id)}`;
  }
  return (
    `<section class="gb-attr"><h2>${escapeHtml(a.method)}</h2>${meta}${heatmap(a)}` +
    `<div class="gb-tables">${settings}${quality}</div>${matrices.join('')}${heads}</section>`
  );
}

const CSS = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;background:#fff;margin:2em auto;max-width:1100px;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.15em;margin-bottom:.2em}h3{font-size:1em}
.gb-attr{border-top:1px solid #ddd;padding-top:.5em;margin-top:1.5em}
.gb-meta{color:#555;margin:.2em 0 .8em}
.gb-text{white-space:pre-wrap;line-height:2.1;font-size:1.05em}
.gb-tok{padding:.15em .1em;border-radius:3px;cursor:default}
.gb-tok:hover{outline:2px solid #333}
.gb-legend{display:flex;align-items:center;gap:.5em;margin:.6em 0;font-size:.85em}
.gb-bar{display:inline-block;width:180px;height:12px;border:1px solid #ccc}
.gb-note{color:#777;font-size:.85em}
.gb-tables{display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
caption{text-align:left;font-weight:600;padding-bottom:.2em}
th,td{border:1px solid #e3e3e3;padding:.2em .5em;text-align:left}
td{font-variant-numeric:tabular-nums}
.gb-matrix td{text-align:right;min-width:3.2em}
.gb-col{writing-mode:vertical-rl;transform:rotate(180deg);max-height:10em}
.gb-heads{margin:.5em 0}
.gb-controls{margin-bottom:.4em}
.gb-svg text{font-size:13px;cursor:default}
.gb-svg line{stroke:#2166ac}
`;

/** The head-view script: reads the JSON data blocks and draws with textContent and SVG attributes only. */
const SCRIPT = `
(function () {
  'use strict';
  function matrix(att, layer, head) {
    var heads = att[layer], S = heads[0].length;
    if (head >= 0) return heads[head];
    var out = [];
    for (var q = 0; q < S; q++) {
      var row = [];
      for (var k = 0; k < S; k++) {
        var s = 0;
        for (var h = 0; h < heads.length; h++) s += heads[h][q][k];
        row.push(s / heads.length);
      }
      out.push(row);
    }
    return out;
  }
  function short(t) { return t.length > 22 ? t.slice(0, 21) + '\\u2026' : t; }
  Array.prototype.forEach.call(document.querySelectorAll('.gb-heads'), function (box) {
    var source = document.getElementById(box.getAttribute('data-src'));
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var svg = box.querySelector('svg');
    var NS = svg.namespaceURI;
    var layerSel = box.querySelector('.gb-layer');
    var headSel = box.querySelector('.gb-head');
    function option(sel, value, text) {
      var o = document.createElement('option');
      o.value = String(value);
      o.textContent = text;
      sel.appendChild(o);
    }
    data.attentions.forEach(function (_, l) { option(layerSel, l, String(l)); });
    option(headSel, -1, 'all (mean)');
    data.attentions[0].forEach(function (_, h) { option(headSel, h, String(h)); });
    layerSel.value = String(data.layer);
    headSel.value = String(data.head);
    var S = data.tokens.length, rowH = 22, colW = 170, gap = 240, top = 28;
    function el(name, attrs, text) {
      var e = document.createElementNS(NS, name);
      Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
      if (text !== undefined) e.textContent = text;
      return e;
    }
    var lines = [], weights = [];
    function emphasise(side, i) {
      lines.forEach(function (l, n) {
        var on = side === null || (side === 'q' ? l.q === i : l.k === i);
        l.el.setAttribute('stroke-opacity', String(on ? weights[n] : weights[n] * 0.08));
      });
    }
    function draw() {
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      lines = [];
      weights = [];
      var m = matrix(data.attentions, Number(layerSel.value), Number(headSel.value));
      var width = colW * 2 + gap, height = top + S * rowH + 6;
      svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
      svg.setAttribute('width', String(width));
      svg.setAttribute('height', String(height));
      svg.appendChild(el('text', { x: colW - 8, y: 16, 'text-anchor': 'end', 'font-weight': 'bold' }, 'query'));
      svg.appendChild(el('text', { x: colW + gap + 8, y: 16, 'font-weight': 'bold' }, 'key'));
      var y = function (i) { return top + i * rowH + rowH / 2; };
      for (var q = 0; q < S; q++) {
        for (var k = 0; k < S; k++) {
          var w = m[q][k];
          if (!(w > 0.005)) continue;
          var line = el('line', { x1: colW, y1: y(q), x2: colW + gap, y2: y(k), 'stroke-width': 1 + 3 * w, 'stroke-opacity': w });
          svg.appendChild(line);
          lines.push({ el: line, q: q, k: k });
          weights.push(w);
        }
      }
      data.tokens.forEach(function (t, i) {
        var left = el('text', { x: colW - 8, y: y(i) + 4, 'text-anchor': 'end' }, short(t));
        var right = el('text', { x: colW + gap + 8, y: y(i) + 4 }, short(t));
        left.appendChild(el('title', {}, t));
        right.appendChild(el('title', {}, t));
        left.addEventListener('mouseenter', function () { emphasise('q', i); });
        right.addEventListener('mouseenter', function () { emphasise('k', i); });
        left.addEventListener('mouseleave', function () { emphasise(null, -1); });
        right.addEventListener('mouseleave', function () { emphasise(null, -1); });
        svg.appendChild(left);
        svg.appendChild(right);
      });
    }
    layerSel.addEventListener('change', draw);
    headSel.addEventListener('change', draw);
    draw();
  });
})();
`;

/**
 * A self-contained HTML page (no network access) for one attribution or several (one
 * section each, each with its own colour scale).
 *
 * @example
 * writeFileSync('explanation.html', renderHtml(a, { title: 'Why positive?' }));
 */
export function renderHtml(input: Attribution | Attribution[], opts: HtmlOptions = {}): string {
  const list = Array.isArray(input) ? input : [input];
  const data = new Map<string, HeadViewData>();
  const sections = list.map((a, i) => section(a, i, data));
  if (opts.attentions && list.length > 0 && opts.attentions !== list[0].extra?.attentions) {
    const att = asAttentions(opts.attentions);
    const tokens = list[0].tokens.map((t) => t.text);
    if (att && att[0][0].length === tokens.length) {
      const id = 'gb-data-attentions';
      data.set(id, headViewData(tokens, att, {}));
      sections.push(`<section class="gb-attr"><h2>Attention</h2>${headViewMarkup(id)}</section>`);
    }
  }
  if (opts.faithfulness) sections.push(`<section class="gb-attr"><h2>Faithfulness</h2>${genericTable(opts.faithfulness, 'Faithfulness')}</section>`);
  const title = opts.title ?? (list.length === 1 ? `glassbox: ${list[0].method}` : 'glassbox explanations');
  const blocks = [...data].map(([id, d]) => `<script type="application/json" id="${id}">${scriptJson(d)}</script>`).join('\n');
  const body = `<h1>${escapeHtml(title)}</h1>\n${sections.join('\n')}\n${blocks}`;
  const nonce = contentNonce(body + SCRIPT);
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; img-src data:`;
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${escapeHtml(title)}</title>\n<style>${CSS}</style>\n</head>\n<body>\n${body}\n` +
    (data.size > 0 ? `<script nonce="${nonce}">${SCRIPT}</script>\n` : '') +
    `</body>\n</html>\n`
  );
}
