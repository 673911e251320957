/**
 * A terminal view of a training run's progress events: one line redrawn in place on a TTY
 * (percent, step, smoothed loss, examples per second, ETA), and one line per evaluation
 * (validation accuracy and loss, marked when it is the best so far). Off a TTY only the
 * evaluation lines and the summary are printed, so logs stay short.
 */
import { formatDuration, type ProgressStream } from '../util/progress.js';
import type { TrainEvent } from './trainer.js';

const BAR_WIDTH = 20;

/**
 * @example
 * await trainClassifier({ train, onProgress: createTrainProgress() });
 */
export function createTrainProgress(opts: { stream?: ProgressStream; minIntervalMs?: number; now?: () => number } = {}): (e: TrainEvent) => void {
  const stream = opts.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const now = opts.now ?? Date.now;
  const minInterval = opts.minIntervalMs ?? 200;
  let lastDraw = -Infinity;
  let drawn = false;
  const clear = () => {
    if (drawn) stream.write('\r\x1b[K');
    drawn = false;
  };
  return (e) => {
    switch (e.type) {
      case 'start':
        stream.write(`training: ${e.trainExamples.toLocaleString('en-US')} examples, ${e.validationExamples.toLocaleString('en-US')} for validation, ${e.parameters.toLocaleString('en-US')} parameters, ${e.totalSteps} steps\n`);
        break;
      case 'step': {
        const at = now();
        if (!tty || (at - lastDraw < minInterval && e.step !== e.totalSteps)) return;
        lastDraw = at;
        const frac = e.step / Math.max(1, e.totalSteps);
        const filled = Math.round(frac * BAR_WIDTH);
        let line =
          `train ${(frac * 100).toFixed(0).padStart(3)}% [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ` +
          `step ${e.step}/${e.totalSteps} epoch ${e.epoch.toFixed(2)} loss ${e.smoothedLoss.toFixed(4)} ` +
          `${e.examplesPerSecond.toFixed(0)} ex/s ETA ${formatDuration(e.etaSeconds)}`;
        const cols = stream.columns;
        if (cols !== undefined && cols > 1 && line.length >= cols) line = line.slice(0, cols - 1);
        stream.write(`\r${line}\x1b[K`);
        drawn = true;
        break;
      }
      case 'eval':
        clear();
        stream.write(
          `step ${e.step} (epoch ${e.epoch.toFixed(2)}): train loss ${e.trainLoss.toFixed(4)}, validation accuracy ${(100 * e.accuracy).toFixed(2)}%, loss ${e.loss.toFixed(4)}${e.best ? ' (best)' : ''}\n`,
        );
        break;
      case 'done':
        clear();
        stream.write(`done: ${e.steps} steps in ${formatDuration(e.seconds)} (${e.stopReason.replace('_', ' ')})\n`);
        break;
    }
  };
}
