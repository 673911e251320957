/** Child process of bench/models.ts: load a checkpoint, report time and peak RSS, then throughput. */
import { readFileSync } from 'node:fs';
import { loadModel } from '../src/models/model.js';

/**
 * Peak RSS of this process in bytes. Linux's VmHWM, because getrusage's maxrss survives
 * exec and would report the parent's peak (the parent just generated the weights).
 */
function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return peakRss();
}

const dir = process.argv[2];
const rssBaseline = peakRss();
let t0 = performance.now();
const model = await loadModel(dir);
const loadMs = performance.now() - t0;
const rssAfterLoad = peakRss();

const throughput = [];
for (const [batch, seq] of [[1, 32], [32, 32]]) {
  const ids = Array.from({ length: batch }, (_, b) => Array.from({ length: seq }, (_, i) => (b * 7919 + i * 104729) % 50257));
  const input = { inputIds: ids, attentionMask: ids.map((r) => r.map(() => 1)) };
  await model.forward(input); // session creation and warm-up
  const times = [];
  for (let k = 0; k < 3; k++) {
    t0 = performance.now();
    await model.forward(input);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ms = times[1];
  throughput.push({ batch, seq, ms, tokensPerSecond: (batch * seq) / (ms / 1000) });
}
console.log(JSON.stringify({ loadMs, rssBaseline, rssAfterLoad, rssEnd: peakRss(), throughput }));
