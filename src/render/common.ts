/**
 * What every renderer shares: the diverging palette, number formatting, the names of the
 * quality figures, the top features, and the text laid out as coloured segments.
 *
 * Decision: one palette for terminal and HTML — ColorBrewer RdBu's ends (red positive, blue
 * negative) around a near-white zero, interpolated linearly in RGB, intensity |score| / max
 * |score| of the attribution shown. Colour is for reading; exact numbers are always one step
 * away (brackets in the plain terminal output, tooltips in HTML, and the JSON).
 */
import type { Attribution } from '../explain/types.js';

export type Rgb = readonly [number, number, number];

const NEGATIVE: Rgb = [33, 102, 172];
const ZERO: Rgb = [247, 247, 247];
const POSITIVE: Rgb = [178, 24, 43];

/** The colour of t in [-1, 1] (clamped): blue at -1, near-white at 0, red at +1. */
export function divergingColor(t: number): Rgb {
  const x = Number.isFinite(t) ? Math.max(-1, Math.min(1, t)) : 0;
  const end = x >= 0 ? POSITIVE : NEGATIVE;
  const a = Math.abs(x);
  return [0, 1, 2].map((i) => Math.round(ZERO[i] + (end[i] - ZERO[i]) * a)) as unknown as Rgb;
}

/** Dark text on light backgrounds, light on dark (relative luminance threshold). */
export function textColorOn([r, g, b]: Rgb): 'black' | 'white' {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 140 ? 'black' : 'white';
}

/** The largest |value| (0 for none or only non-finite values). */
export function maxAbs(values: Iterable<number>): number {
  let m = 0;
  for (const v of values) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
}

/** v / scale in [-1, 1] (0 when the scale is 0). */
export const intensity = (v: number, scale: number): number => (scale > 0 && Number.isFinite(v) ? v / scale : 0);

/** A score for reading: three significant digits, explicit sign (`+0.412`, `-1.23e-5`). */
export function formatScore(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  const body = a >= 1e-3 && a < 1e5 ? String(Number(a.toPrecision(3))) : a.toExponential(2).replace('e+', 'e');
  return (v < 0 ? '-' : '+') + body;
}

/** A plain number (no forced sign), same precision rules. */
export function formatNumber(v: number): string {
  const s = formatScore(v);
  return s.startsWith('+') ? s.slice(1) : s;
}

/** Display names of the quality figures; unknown keys show as they are. */
export const QUALITY_LABELS: Record<string, string> = {
  fx: 'f(x)',
  fBaseline: 'f(baseline)',
  completenessDelta: 'completeness delta',
  surrogateR2: 'surrogate R²',
  standardError: 'standard error',
};

export function qualityEntries(a: Attribution): [string, number][] {
  return Object.entries(a.quality).filter((e): e is [string, number] => typeof e[1] === 'number').map(([k, v]) => [QUALITY_LABELS[k] ?? k, v]);
}

/** The k features with the largest |score|, largest first. */
export function topFeatures(a: Attribution, k = 5): { label: string; score: number; index: number }[] {
  return a.features
    .map((f, index) => ({ label: f.label, score: a.scores[index], index }))
    .filter((f) => Number.isFinite(f.score))
    .sort((x, y) => Math.abs(y.score) - Math.abs(x.score))
    .slice(0, k);
}

export interface Segment {
  text: string;
  /** The feature this text belongs to, or null for the text between tokens. */
  feature: number | null;
  /** This segment ends the feature (the last token of it): where a plain rendering puts the score. */
  last: boolean;
}

/**
 * The input laid out for a heatmap, in token order. With the original text and token spans,
 * the text itself (tokens and the gaps between them); otherwise token texts separated by
 * spaces. Adjacent tokens of one feature merge into one segment.
 */
export function textSegments(a: Attribution): Segment[] {
  const owner = new Array<number | null>(a.tokens.length).fill(null);
  const lastToken = new Map<number, number>();
  a.features.forEach((f, fi) => {
    for (const t of f.tokens) owner[t] = fi;
    if (f.tokens.length > 0) lastToken.set(fi, Math.max(...f.tokens));
  });
  const out: Segment[] = [];
  let pos = 0;
  let prevSpanned = true;
  a.tokens.forEach((t, i) => {
    const spanned = a.text !== null && t.end > t.start;
    // Between spanned tokens the text's own gap; next to an unspanned one (a special token, or
    // an ids input) a space.
    if (spanned && t.start > pos) out.push({ text: a.text!.slice(pos, t.start), feature: null, last: false });
    else if (i > 0 && (!spanned || !prevSpanned)) out.push({ text: ' ', feature: null, last: false });
    prevSpanned = spanned;
    const text = spanned ? a.text!.slice(t.start, t.end) : t.text;
    const feature = owner[i];
    const last = feature !== null && lastToken.get(feature) === i;
    const prev = out[out.length - 1];
    if (prev && prev.feature !== null && prev.feature === feature && !prev.last) {
      prev.text += text;
      prev.last = last;
    } else out.push({ text, feature, last });
    if (spanned) pos = Math.max(pos, t.end);
  });
  if (a.text !== null && pos > 0 && pos < a.text.length) out.push({ text: a.text.slice(pos), feature: null, last: false });
  return out;
}

/** A number[][][][] (layer, head, query, key), or null. */
export function asAttentions(x: unknown): number[][][][] | null {
  const ok = Array.isArray(x) && Array.isArray(x[0]) && Array.isArray(x[0][0]) && Array.isArray(x[0][0][0]) && typeof x[0][0][0][0] === 'number';
  return ok ? (x as number[][][][]) : null;
}

/** A square number[][] of size n, or null. */
export function asSquare(x: unknown, n: number): number[][] | null {
  const ok = Array.isArray(x) && x.length === n && x.every((r) => Array.isArray(r) && r.length === n && r.every((v) => typeof v === 'number'));
  return ok ? (x as number[][]) : null;
}
