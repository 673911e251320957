/**
 * The optimiser side of training, on the host: AdamW, global-norm gradient clipping and the
 * learning-rate schedules of Hugging Face's Trainer.
 *
 * Decision: the update runs in JavaScript over Float32Arrays rather than as ONNX nodes. The
 * models trained here have a few million parameters, so the update costs milliseconds against
 * a forward + backward pass, and the state (moments, step count) stays plain data that tests
 * can check against the closed form.
 */
import { fail } from '../errors.js';

export interface AdamWOptions {
  /** Default learning rate (a call to `step` may pass the scheduled one). */
  lr: number;
  betas?: [number, number];
  eps?: number;
  /** Decoupled weight decay (default 0.01). */
  weightDecay?: number;
  /** Parameters exempt from weight decay (default: `noDecay`, biases and LayerNorm weights). */
  exempt?: (name: string) => boolean;
}

export interface AdamW {
  /** One update of every parameter that has a gradient. Parameters are updated in place. */
  step(params: Record<string, Float32Array>, grads: Record<string, Float32Array>, lr?: number): void;
  /** Updates done so far. */
  readonly steps: number;
}

/** Hugging Face Trainer's rule: no weight decay on biases and LayerNorm weights. */
export const noDecay = (name: string): boolean => name.endsWith('.bias') || /LayerNorm\.weight$/.test(name);

/**
 * AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"), step for step
 * as torch.optim.AdamW (amsgrad off):
 *   p <- p * (1 - lr * wd)
 *   m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
 *   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *
 * @example
 * const opt = createAdamW({ lr: 1e-3, weightDecay: 0.01 });
 * opt.step({ w }, { w: dw });
 */
export function createAdamW(opts: AdamWOptions): AdamW {
  const [b1, b2] = opts.betas ?? [0.9, 0.999];
  const eps = opts.eps ?? 1e-8;
  const wd = opts.weightDecay ?? 0.01;
  const exempt = opts.exempt ?? noDecay;
  if (!(opts.lr >= 0) || !(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1) || !(eps > 0) || !(wd >= 0)) {
    fail('INVALID_ARGUMENT', `AdamW: invalid settings (lr ${opts.lr}, betas [${b1}, ${b2}], eps ${eps}, weight decay ${wd})`);
  }
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  let t = 0;
  return {
    get steps() {
      return t;
    },
    step(params, grads, lr = opts.lr) {
      t++;
      const c1 = 1 - b1 ** t;
      const c2 = 1 - b2 ** t;
      for (const [name, g] of Object.entries(grads)) {
        const p = params[name];
        if (!p) fail('INVALID_ARGUMENT', `AdamW: a gradient for '${name}', which is not a parameter`);
        if (p.length !== g.length) fail('SHAPE_MISMATCH', `AdamW: '${name}' has ${p.length} values but its gradient ${g.length}`);
        let mi = m.get(name);
        let vi = v.get(name);
        if (!mi || !vi) {
          m.set(name, (mi = new Float32Array(p.length)));
          v.set(name, (vi = new Float32Array(p.length)));
        }
        const decay = exempt(name) ? 1 : 1 - lr * wd;
        const stepSize = lr / c1;
        const rc2 = 1 / Math.sqrt(c2);
        for (let i = 0; i < p.length; i++) {
          const gi = g[i]!;
          const mn = b1 * mi[i]! + (1 - b1) * gi;
          const vn = b2 * vi[i]! + (1 - b2) * gi * gi;
          mi[i] = mn;
          vi[i] = vn;
          p[i] = p[i]! * decay - (stepSize * mn) / (Math.sqrt(vn) * rc2 + eps);
        }
      }
    },
  };
}

/**
 * Global-norm clipping as torch.nn.utils.clip_grad_norm_: with n = ||all gradients||_2, scale
 * every gradient by min(1, maxNorm / (n + 1e-6)). Returns n (before clipping).
 */
export function clipGradNorm(grads: Iterable<Float32Array>, maxNorm: number): number {
  const list = [...grads];
  let sq = 0;
  for (const g of list) for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
  const norm = Math.sqrt(sq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of list) for (let i = 0; i < g.length; i++) g[i]! *= coef;
  return norm;
}

export interface ScheduleOptions {
  /** The peak learning rate, reached at the end of warm-up. */
  lr: number;
  totalSteps: number;
  warmupSteps?: number;
  /** After warm-up: linear decay to 0 (HF get_linear_schedule_with_warmup) or half a cosine (get_cosine_schedule_with_warmup). */
  kind?: 'linear' | 'cosine' | 'constant';
}

/**
 * The learning rate at a step (0-based: the rate for the (step+1)-th update), as the
 * transformers schedulers compute it.
 *
 * @example
 * const lrAt = learningRateSchedule({ lr: 1e-3, totalSteps: 1000, warmupSteps: 100 });
 * lrAt(50); // 5e-4
 */
export function learningRateSchedule(o: ScheduleOptions): (step: number) => number {
  const warm = o.warmupSteps ?? 0;
  const total = Math.max(o.totalSteps, 1);
  const kind = o.kind ?? 'linear';
  return (step) => {
    if (step < warm) return (o.lr * step) / Math.max(1, warm);
    if (kind === 'constant') return o.lr;
    const progress = (step - warm) / Math.max(1, total - warm);
    if (kind === 'linear') return o.lr * Math.max(0, 1 - progress);
    return o.lr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
  };
}
