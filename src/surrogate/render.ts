/**
 * A SurrogateReport for people: a terminal summary and a self-contained HTML page (no
 * network, no script; every string from the data — class names, words, the model id — is
 * HTML-escaped, or sanitised of control characters in the terminal). JSON is the report itself.
 */
import { escapeHtml } from '../render/html.js';
import { formatNumber, formatScore } from '../render/common.js';
import { sanitize } from '../render/terminal.js';
import type { SurrogateReport } from './surrogate.js';

const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);

function describe(r: SurrogateReport): string {
  if (r.kind === 'linear') return `L1-regularised logistic regression (λ = ${formatNumber(r.linear!.lambda)}) over ${r.features.ngrams === 2 ? 'words and word pairs' : 'words'}`;
  return `decision tree (CART, Gini, max depth ${r.settings.maxDepth}) over ${r.features.ngrams === 2 ? 'words and word pairs' : 'words'}`;
}

/** Plain-text summary: what was fitted, fidelity, accuracy, strongest words, rules. */
export function renderSurrogateTerminal(r: SurrogateReport): string {
  const s = (x: string) => sanitize(x);
  const lines: string[] = [];
  lines.push(`global surrogate of ${s(r.model ?? 'the given labels')}: ${describe(r)}`);
  lines.push(`texts: ${r.counts.used} used of ${r.counts.texts}; fit ${r.counts.fit}, test ${r.counts.test}`);
  const dist = (c: number[]) => c.map((k, i) => `${s(r.classes[i])} ${k}`).join(', ');
  lines.push(`model predictions: fit ${dist(r.counts.predicted.fit)}${r.counts.test > 0 ? `; test ${dist(r.counts.predicted.test)}` : ''}`);
  lines.push(`features: ${r.features.vocabulary} (in at least ${r.features.minCount} fit texts, at most ${r.features.maxFeatures})`);
  lines.push('');
  lines.push(`fidelity (agreement with the model): test ${pct(r.fidelity.test)}, fit ${pct(r.fidelity.fit)}`);
  if (r.accuracy) {
    lines.push(`accuracy against gold labels (${r.accuracy.part} part, n = ${r.accuracy.n}): surrogate ${pct(r.accuracy.surrogate)}, model ${pct(r.accuracy.model)}`);
  }
  if (r.fidelity.majority !== null) lines.push(`(always saying the model's most frequent class would agree on ${pct(r.fidelity.majority)} of the test part)`);
  if (r.linear) {
    const l = r.linear;
    lines.push(`non-zero coefficients: ${l.nonZero} of ${r.features.vocabulary}${l.converged ? '' : ` (not converged: KKT violation ${formatNumber(l.kktViolation)})`}`);
  }
  if (r.tree) lines.push(`tree: depth ${r.tree.depth}, ${r.tree.leaves} leaves`);
  lines.push('');
  lines.push(r.kind === 'linear' ? 'strongest words per class (coefficients):' : 'words leading to each class (fit texts in those leaves):');
  for (const c of r.topFeatures) {
    const list = c.features.map((f) => `${s(f.feature)} ${r.kind === 'linear' ? formatScore(f.weight) : f.weight}`).join(', ');
    lines.push(`  ${s(c.label)}: ${list || '(none)'}`);
  }
  if (r.rules.length > 0) {
    lines.push('');
    lines.push('rules:');
    for (const rule of r.rules) lines.push(`  ${s(rule.text)}`);
  }
  return lines.join('\n');
}

const CSS = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;background:#fff;margin:2em auto;max-width:1000px;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.15em;margin:1.2em 0 .3em}
.gb-meta{color:#555}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #e3e3e3;padding:.2em .5em;text-align:left}
td{font-variant-numeric:tabular-nums}
.gb-w{display:inline-block;height:10px;background:#b2182b;vertical-align:middle}
.gb-classes{display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start}
code{background:#f4f4f4;padding:0 .2em}
`;

/** A self-contained HTML page for one surrogate report. */
export function renderSurrogateHtml(r: SurrogateReport, opts: { title?: string } = {}): string {
  const e = escapeHtml;
  const title = opts.title ?? `glassbox: ${r.kind} surrogate of ${r.model ?? 'the given labels'}`;
  const parts: string[] = [];
  parts.push(`<h1>${e(title)}</h1>`);
  parts.push(`<p class="gb-meta">${e(describe(r))}. ${r.counts.used} texts used of ${r.counts.texts}: ${r.counts.fit} to fit, ${r.counts.test} held out; ${r.features.vocabulary} features.</p>`);
  const row = (k: string, v: string) => `<tr><th>${e(k)}</th><td>${e(v)}</td></tr>`;
  const fid = [
    row('fidelity, test (agreement with the model)', pct(r.fidelity.test)),
    row('fidelity, fit', pct(r.fidelity.fit)),
    row("fidelity, test, of always saying the model's most frequent class", pct(r.fidelity.majority)),
  ];
  if (r.accuracy) {
    fid.push(row(`surrogate accuracy against gold (${r.accuracy.part}, n = ${r.accuracy.n})`, pct(r.accuracy.surrogate)));
    fid.push(row(`model accuracy against gold (${r.accuracy.part}, n = ${r.accuracy.n})`, pct(r.accuracy.model)));
  }
  if (r.linear) fid.push(row('non-zero coefficients', `${r.linear.nonZero} of ${r.features.vocabulary}`), row('converged', r.linear.converged ? 'yes' : `no (KKT violation ${formatNumber(r.linear.kktViolation)})`));
  if (r.tree) fid.push(row('depth', String(r.tree.depth)), row('leaves', String(r.tree.leaves)));
  parts.push(`<h2>Fidelity</h2><table>${fid.join('')}</table>`);

  const head = ['class', ...r.classes.map((c) => c)];
  const predRow = (name: string, counts: number[]) => `<tr><th>${e(name)}</th>${counts.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  parts.push(
    `<h2>Model predictions</h2><table><tr>${head.map((h) => `<th>${e(h)}</th>`).join('')}</tr>` +
      predRow('fit', r.counts.predicted.fit) +
      predRow('test', r.counts.predicted.test) +
      `</table>`,
  );

  parts.push(`<h2>${r.kind === 'linear' ? 'Strongest words per class' : 'Words leading to each class'}</h2><div class="gb-classes">`);
  for (const c of r.topFeatures) {
    const max = Math.max(0, ...c.features.map((f) => f.weight));
    const rows = c.features
      .map((f) => {
        const w = max > 0 ? Math.round((120 * f.weight) / max) : 0;
        const v = r.kind === 'linear' ? formatScore(f.weight) : String(f.weight);
        return `<tr><td><code>${e(f.feature)}</code></td><td>${e(v)}</td><td><span class="gb-w" style="width:${w}px"></span></td></tr>`;
      })
      .join('');
    parts.push(`<table><caption>${e(c.label)}</caption>${rows || '<tr><td>(none)</td></tr>'}</table>`);
  }
  parts.push(`</div>`);

  if (r.rules.length > 0) {
    const rows = r.rules
      .map((rule) => {
        const cond = rule.conditions.length === 0 ? 'always' : rule.conditions.map((c) => `<code>${e(c.feature)}</code> ${c.present ? 'present' : 'absent'}`).join(' and ');
        return `<tr><td>${cond}</td><td>${e(rule.label)}</td><td>${rule.n}</td><td>${rule.purity.toFixed(2)}</td></tr>`;
      })
      .join('');
    parts.push(`<h2>Rules</h2><table><tr><th>if</th><th>then</th><th>n (fit)</th><th>purity</th></tr>${rows}</table>`);
  }
  const csp = `default-src 'none'; style-src 'unsafe-inline'`;
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${e(title)}</title>\n<style>${CSS}</style>\n</head>\n<body>\n${parts.join('\n')}\n</body>\n</html>\n`
  );
}
