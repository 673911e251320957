/**
 * Terminal rendering: the text as a heatmap (a background colour per feature from the
 * diverging palette, ANSI 256-colour or 24-bit escapes), or — without colour — the text with
 * each feature's score in brackets. A header says what was explained and what the model
 * predicted; a footer gives the quality figures and the top features.
 *
 * Decision: whether to colour is a parameter. `colorDefault()` gives the usual rule (stdout is
 * a TTY and NO_COLOR is unset), and the CLI passes its own decision (--color / --no-color).
 * Token text is sanitised: control characters (ESC included) never reach the terminal raw.
 */
import type { Attribution } from '../explain/types.js';
import { divergingColor, formatNumber, formatScore, intensity, maxAbs, qualityEntries, type Rgb, textColorOn, textSegments, topFeatures } from './common.js';

export type ColorMode = '256' | 'truecolor';

export interface TerminalOptions {
  /** Colour on or off (default: `colorDefault()`). */
  color?: boolean;
  /** Escape family when colour is on (default: truecolor when COLORTERM says so, else 256). */
  palette?: ColorMode;
  /** Line width for wrapping (default: the terminal's columns, or 80). */
  width?: number;
}

type Env = Record<string, string | undefined>;

const proc = (globalThis as { process?: { env?: Env; stdout?: { isTTY?: boolean; columns?: number } } }).process;

/** The usual default: colour when stdout is a TTY and NO_COLOR is unset (the no-color.org convention). */
export function colorDefault(isTTY = proc?.stdout?.isTTY ?? false, env: Env = proc?.env ?? {}): boolean {
  return isTTY && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

export function paletteDefault(env: Env = proc?.env ?? {}): ColorMode {
  return /^(truecolor|24bit)$/i.test(env.COLORTERM ?? '') ? 'truecolor' : '256';
}

const RESET = '\x1b[0m';

/** The nearest xterm-256 colour cube index of an RGB colour. */
export function xterm256([r, g, b]: Rgb): number {
  const levels = [0, 95, 135, 175, 215, 255];
  const nearest = (c: number) => levels.reduce((best, l, i) => (Math.abs(l - c) < Math.abs(levels[best] - c) ? i : best), 0);
  return 16 + 36 * nearest(r) + 6 * nearest(g) + nearest(b);
}

function paint(text: string, bg: Rgb, mode: ColorMode): string {
  const fg = textColorOn(bg);
  if (mode === 'truecolor') {
    const f = fg === 'black' ? '0;0;0' : '255;255;255';
    return `\x1b[48;2;${bg[0]};${bg[1]};${bg[2]}m\x1b[38;2;${f}m${text}${RESET}`;
  }
  return `\x1b[48;5;${xterm256(bg)}m\x1b[38;5;${fg === 'black' ? 16 : 231}m${text}${RESET}`;
}

/** Control characters shown, not obeyed: newline as ↵, tab as a space, others as \xNN. */
export function sanitize(s: string, keepNewlines = false): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\n') return keepNewlines ? '\n' : '↵';
    if (c === '\t') return ' ';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

const visibleLength = (s: string) => [...s].length;

interface Piece {
  /** What is shown (already sanitised, without escapes). */
  text: string;
  bg: Rgb | null;
  /** A gap piece (whitespace between tokens): dropped at the start of a line. */
  gap: boolean;
}

/** Lay pieces out in lines of at most `width` visible characters, breaking between pieces. */
function layout(pieces: Piece[], width: number, draw: (p: Piece) => string): string[] {
  const lines: string[] = [];
  let line = '';
  let used = 0;
  const flush = () => {
    lines.push(line);
    line = '';
    used = 0;
  };
  for (const p of pieces) {
    const parts = p.gap ? p.text.split('\n') : [p.text];
    parts.forEach((text, i) => {
      if (i > 0) flush();
      if (text === '') return;
      const n = visibleLength(text);
      if (used > 0 && used + n > width) flush();
      if (used === 0 && p.gap) text = text.trimStart();
      if (text === '') return;
      line += draw({ ...p, text });
      used += visibleLength(text);
    });
  }
  if (used > 0 || lines.length === 0) flush();
  return lines;
}

function header(a: Attribution): string {
  const p = a.prediction;
  const at = a.at === 'embed' ? '' : `  at ${a.at}`;
  return `${a.method}  target: ${sanitize(a.target.description)}  prediction: ${sanitize(p.label)} (p=${p.probability.toFixed(3)})${at}`;
}

function footer(a: Attribution): string[] {
  const out: string[] = [];
  const q = qualityEntries(a);
  if (q.length > 0) out.push(`quality: ${q.map(([k, v]) => `${k} ${formatNumber(v)}`).join(' · ')}`);
  const top = topFeatures(a, 5);
  if (top.length > 0) out.push(`top ${top.length}: ${top.map((f) => `${sanitize(f.label)} ${formatScore(f.score)}`).join(', ')}`);
  return out;
}

function legend(scale: number, mode: ColorMode): string {
  const steps = [-1, -0.5, 0, 0.5, 1];
  return `scale: ${formatScore(-scale)} ${steps.map((t) => paint('  ', divergingColor(t), mode)).join('')} ${formatScore(scale)}`;
}

/**
 * The attribution as a text heatmap.
 *
 * @example
 * process.stdout.write(renderTerminal(a) + '\n');
 * renderTerminal(a, { color: false }); // I[+0.012] loved[+0.41] this[-0.03] movie[+0.2]
 */
export function renderTerminal(a: Attribution, opts: TerminalOptions = {}): string {
  const color = opts.color ?? colorDefault();
  const mode = opts.palette ?? paletteDefault();
  const width = Math.max(20, opts.width ?? proc?.stdout?.columns ?? 80);
  const scale = maxAbs(a.scores);
  const pieces: Piece[] = [];
  for (const s of textSegments(a)) {
    if (s.feature === null) {
      pieces.push({ text: sanitize(s.text, true), bg: null, gap: true });
      continue;
    }
    const score = a.scores[s.feature];
    const text = sanitize(s.text);
    if (color) pieces.push({ text, bg: divergingColor(intensity(score, scale)), gap: false });
    else pieces.push({ text: s.last ? `${text}[${formatScore(score)}]` : text, bg: null, gap: false });
  }
  const draw = (p: Piece) => (color && p.bg ? paint(p.text, p.bg, mode) : p.text);
  const lines = [header(a), ...layout(pieces, width, draw)];
  if (color) lines.push(legend(scale, mode));
  return [...lines, ...footer(a)].join('\n');
}

export interface MatrixOptions {
  color?: boolean;
  palette?: ColorMode;
  title?: string;
  /** Width of a row label (default: the longest, at most 16). */
  labelWidth?: number;
}

/** Cell format for a matrix: three significant digits at the matrix's scale, 7 characters wide. */
function cellFormat(scale: number): (v: number) => string {
  if (scale === 0) return (v) => (Number.isFinite(v) ? v.toFixed(2) : String(v));
  if (scale < 1e-2 || scale >= 1e4) return (v) => (Number.isFinite(v) ? v.toExponential(1).replace('e+', 'e') : String(v));
  const digits = Math.max(0, 3 - (Math.floor(Math.log10(scale)) + 1));
  return (v) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
}

const fit = (s: string, n: number) => {
  const chars = [...s];
  return chars.length > n ? chars.slice(0, n - 1).join('') + '…' : s;
};

/**
 * A labelled matrix (attention patterns, rollout, generation-mode attributions: rows are
 * generated tokens, columns source tokens), cells coloured by value / max |value|.
 *
 * @example
 * renderMatrixTerminal(tokens, tokens, a.extra.rollout as number[][], { color: false });
 */
export function renderMatrixTerminal(rows: string[], cols: string[], values: number[][], opts: MatrixOptions = {}): string {
  const color = opts.color ?? colorDefault();
  const mode = opts.palette ?? paletteDefault();
  const scale = maxAbs(values.flat());
  const fmt = cellFormat(scale);
  const cell = 8;
  const labelWidth = opts.labelWidth ?? Math.min(16, Math.max(1, ...rows.map((r) => visibleLength(sanitize(r)))));
  const pad = (s: string, n: number, left = false) => {
    const len = visibleLength(s);
    return len >= n ? s : left ? ' '.repeat(n - len) + s : s + ' '.repeat(n - len);
  };
  const out: string[] = [];
  if (opts.title) out.push(sanitize(opts.title));
  out.push(' '.repeat(labelWidth) + ' ' + cols.map((c) => pad(fit(sanitize(c), cell - 1), cell, true)).join(''));
  values.forEach((row, i) => {
    const cells = row.map((v) => {
      const text = pad(fmt(v), cell, true);
      return color ? paint(text, divergingColor(intensity(v, scale)), mode) : text;
    });
    out.push(pad(fit(sanitize(rows[i] ?? ''), labelWidth), labelWidth) + ' ' + cells.join(''));
  });
  return out.join('\n');
}
