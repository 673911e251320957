/**
 * A small terminal progress bar, shared by every command that waits on something countable
 * (a download, a batch of prompts). No dependency: one line, redrawn in place with `\r`.
 *
 * Decisions: it draws only on a TTY, at most every `minIntervalMs` (10 redraws a second by
 * default), because redrawing per network chunk costs more than the work on fast links; off a
 * TTY (CI logs, pipes) it stays silent until `done()`, which prints one summary line. The
 * stream and the clock are injected so tests can drive it without a terminal or real time.
 *
 * @example
 * const bar = createProgressBar({ label: 'model.safetensors', total: size, unit: 'bytes' });
 * for await (const chunk of body) bar.update((received += chunk.length));
 * bar.done();
 */

/** The part of a `tty.WriteStream` the bar uses. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressBarOptions {
  label: string;
  /** Total amount of work; without it the bar shows the count and the rate, no percent or ETA. */
  total?: number;
  /** 'bytes' formats counts as kB/MB/GB and the rate as MB/s; 'items' as plain counts and it/s. */
  unit?: 'bytes' | 'items';
  stream?: ProgressStream;
  /** Milliseconds since some fixed origin; `Date.now` by default. */
  now?: () => number;
  /** Least time between two redraws. */
  minIntervalMs?: number;
}

export interface ProgressBar {
  /** Report the amount done so far (not an increment); `total` may be learned late. */
  update(done: number, total?: number): void;
  /** Draw the final state and end the line. Further calls do nothing. */
  done(): void;
}

const BAR_WIDTH = 24;

export function createProgressBar(opts: ProgressBarOptions): ProgressBar {
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? Date.now;
  const unit = opts.unit ?? 'bytes';
  const minInterval = opts.minIntervalMs ?? 100;
  const tty = stream.isTTY === true;
  const started = now();
  let total = opts.total;
  let current = 0;
  // The rate counts from the first update, so a resumed download does not claim the bytes it
  // already had as speed.
  let first: { at: number; done: number } | undefined;
  let lastDraw = -Infinity;
  let finished = false;

  function rate(at: number): number | undefined {
    if (!first || at <= first.at) return undefined;
    return ((current - first.done) * 1000) / (at - first.at);
  }

  function line(at: number): string {
    const parts = [opts.label];
    const r = rate(at);
    if (total !== undefined && total > 0) {
      const frac = Math.min(1, current / total);
      const filled = Math.round(frac * BAR_WIDTH);
      parts.push(`${(frac * 100).toFixed(0).padStart(3)}%`);
      parts.push(`[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`);
      parts.push(`${formatAmount(current, unit)}/${formatAmount(total, unit)}`);
    } else {
      parts.push(formatAmount(current, unit));
    }
    if (r !== undefined) parts.push(formatRate(r, unit));
    if (!finished && total !== undefined && r !== undefined && r > 0 && current < total) {
      parts.push(`ETA ${formatDuration((total - current) / r)}`);
    }
    if (finished) parts.push(`in ${formatDuration((at - started) / 1000)}`);
    const text = parts.join(' ');
    const cols = stream.columns;
    return cols !== undefined && cols > 1 && text.length >= cols ? text.slice(0, cols - 1) : text;
  }

  return {
    update(done, newTotal) {
      if (finished) return;
      const at = now();
      if (newTotal !== undefined) total = newTotal;
      current = done;
      if (!first) first = { at, done };
      if (!tty || at - lastDraw < minInterval) return;
      lastDraw = at;
      // \x1b[K clears what a longer previous line left to the right.
      stream.write(`\r${line(at)}\x1b[K`);
    },
    done() {
      if (finished) return;
      finished = true;
      const at = now();
      stream.write(tty ? `\r${line(at)}\x1b[K\n` : `${line(at)}\n`);
    },
  };
}

/** 1234567 → '1.2 MB' (bytes, powers of 1000) or '1,234,567' (items). */
export function formatAmount(n: number, unit: 'bytes' | 'items'): string {
  if (unit === 'items') return Math.round(n).toLocaleString('en-US');
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[i]}`;
}

function formatRate(perSecond: number, unit: 'bytes' | 'items'): string {
  return unit === 'bytes' ? `${formatAmount(perSecond, 'bytes')}/s` : `${perSecond.toFixed(1)} it/s`;
}

/** Seconds → '42s', '3m05s', '1h02m'. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * One progress bar per stage of a long run (`{ done, total, stage }` events, as the library
 * APIs emit them), drawn only when stderr is a terminal.
 */
export function createStageProgress(defaultLabel: string): { onProgress: (p: { done: number; total: number; stage?: string }) => void; finish: () => void } {
  if (!process.stderr.isTTY) return { onProgress: () => undefined, finish: () => undefined };
  let bar: ProgressBar | null = null;
  let stage: string | undefined;
  return {
    onProgress(p) {
      if (!bar || p.stage !== stage) {
        bar?.done();
        stage = p.stage;
        bar = createProgressBar({ label: p.stage ?? defaultLabel, total: p.total, unit: 'items' });
      }
      bar.update(p.done, p.total);
    },
    finish() {
      bar?.done();
      bar = null;
    },
  };
}
