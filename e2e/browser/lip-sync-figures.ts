/**
 * The figures of one steady-state lip-sync window (in-page-lip-sync.ts): flashes paired to beeps,
 * median and worst offset, audio concealment. Shared by av-sync.ts and av-sync-reference-janus.ts,
 * so whepd and the reference are judged by the same code.
 */
import type { AudioCounters, LipSyncWindow } from './in-page-lip-sync.js';

// Lag search: the one lag in [-1000, 1000] ms that puts a beep within 40 ms of most flashes; then
// each flash takes its nearest beep within 100 ms of flash + lag.
const LAG_RANGE_MS = 1000;
const LAG_MATCH_MS = 40;
const PAIR_MS = 100;

/** Flash/beep pairing of one window. Offsets are beep minus flash (positive = audio late). */
export interface Pairing {
  lagMs: number;
  offsetsMs: number[];
}

const nearest = (xs: readonly number[], t: number) => xs.reduce((best, x) => (Math.abs(x - t) < Math.abs(best - t) ? x : best), Infinity);
const worstOf = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a)) : NaN);

/** Pairs flashes to beeps through the single best lag (LAG_RANGE_MS, LAG_MATCH_MS, PAIR_MS above). */
export function pairFlashesToBeeps(flashes: readonly number[], beeps: readonly number[]): Pairing {
  let bestLag = 0;
  let bestCount = -1;
  let bestResidual = Infinity;
  for (let d = -LAG_RANGE_MS; d <= LAG_RANGE_MS; d++) {
    let count = 0;
    let residual = 0;
    for (const f of flashes) {
      const r = Math.abs(nearest(beeps, f + d) - (f + d));
      if (r <= LAG_MATCH_MS) {
        count++;
        residual += r;
      }
    }
    // Ties (a run of lags matching as many flashes) go to the one closest to all of them.
    if (count > bestCount || (count === bestCount && residual < bestResidual)) {
      bestLag = d;
      bestCount = count;
      bestResidual = residual;
    }
  }
  const offsetsMs: number[] = [];
  for (const f of flashes) {
    const b = nearest(beeps, f + bestLag);
    if (Math.abs(b - (f + bestLag)) <= PAIR_MS) offsetsMs.push(b - f);
  }
  return { lagMs: bestLag, offsetsMs };
}

/** The median (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The measured figures of one input. */
export interface Figures {
  label: string;
  flashes: number;
  beeps: number;
  uncertain: number;
  lagMs: number;
  offsetsMs: number[];
  medianMs: number;
  worstMs: number;
  concealed?: { ratio: number; samples: number; total: number; events: number; silent: number; inserted: number; removed: number; lost: number; discarded: number; jitterMs: number };
  /** The longest the player went without an audio packet (LipSyncWindow.arrivalHoleMs). */
  arrivalHoleMs?: number;
  /** What the sender saw over the window, when it can tell (av-sync.ts adds whepd's). */
  sender?: string;
  /** What the receiver's own A/V sync counters said over the window (sync-summary.ts). */
  receiver?: string;
  /** Chromium's own A/V skew estimate over the window (video minus audio estimatedPlayoutTimestamp, median, ms). */
  receiverSkewMs?: number;
  missedFrames: number;
  frames: number;
  /** Player only: media-playout's output delay, and the WebAudio tap's figures (the former method). */
  outputDelayMs?: number;
  tap?: { medianMs: number; worstMs: number; laterMs: number };
}

/** Pairs one window and takes the audio counters' deltas over it. */
export function figures(label: string, w: LipSyncWindow): Figures {
  const p = pairFlashesToBeeps(w.flashes, w.beeps);
  const f: Figures = {
    label,
    flashes: w.flashes.length,
    beeps: w.beeps.length,
    uncertain: w.uncertainFlashes,
    lagMs: p.lagMs,
    offsetsMs: p.offsetsMs,
    medianMs: median(p.offsetsMs),
    worstMs: worstOf(p.offsetsMs),
    missedFrames: w.missedFrames,
    frames: w.frames,
  };
  const a: AudioCounters | undefined = w.audioStart;
  const b: AudioCounters | undefined = w.audioEnd;
  if (a && b) {
    const total = b.totalSamplesReceived - a.totalSamplesReceived;
    const samples = b.concealedSamples - a.concealedSamples;
    const emitted = b.jitterBufferEmittedCount - a.jitterBufferEmittedCount;
    f.concealed = {
      ratio: total > 0 ? samples / total : NaN,
      samples,
      total,
      events: b.concealmentEvents - a.concealmentEvents,
      silent: b.silentConcealedSamples - a.silentConcealedSamples,
      inserted: b.insertedSamplesForDeceleration - a.insertedSamplesForDeceleration,
      removed: b.removedSamplesForAcceleration - a.removedSamplesForAcceleration,
      lost: b.packetsLost - a.packetsLost,
      discarded: b.packetsDiscarded - a.packetsDiscarded,
      jitterMs: emitted > 0 ? ((b.jitterBufferDelay - a.jitterBufferDelay) / emitted) * 1000 : NaN,
    };
  }
  if (w.arrivalHoleMs !== undefined) f.arrivalHoleMs = w.arrivalHoleMs;
  if (w.outputDelayMs !== undefined) {
    f.outputDelayMs = w.outputDelayMs;
    const t = pairFlashesToBeeps(w.flashes, w.tapBeeps);
    // How much later the tap hears each beep than the output plays it (its own path's delay).
    const later = w.tapBeeps.map((x) => x - nearest(w.beeps, x)).filter((d) => Math.abs(d) <= PAIR_MS);
    f.tap = { medianMs: median(t.offsetsMs), worstMs: worstOf(t.offsetsMs), laterMs: median(later) };
  }
  return f;
}

/** A signed whole-millisecond figure, e.g. `+22`. */
export const ms = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(0)}`;

/** The one-line description of a window's figures that PASS/FAIL lines carry. */
export function describe(f: Figures): string {
  const c = f.concealed;
  const audio = c
    ? `concealed ${(c.ratio * 100).toFixed(2)}% (${c.samples} of ${c.total} samples, ${c.events} events, ${c.silent} silent; ` +
      `inserted ${c.inserted}, removed ${c.removed}; packetsLost +${c.lost}, discarded +${c.discarded}; jitter buffer ${c.jitterMs.toFixed(0)} ms` +
      (f.arrivalHoleMs !== undefined ? `; longest without an audio packet at the player ${f.arrivalHoleMs.toFixed(0)} ms` : '') +
      ')'
    : 'no audio counters';
  return (
    `median ${ms(f.medianMs)} ms, worst ${ms(f.worstMs)} ms over ${f.offsetsMs.length} flashes (lag ${ms(f.lagMs)} ms; ` +
    `${f.flashes} flashes, ${f.beeps} beeps, ${f.uncertain} flashes left out after a missed frame, ${f.missedFrames} of ${f.frames + f.missedFrames} frames missed by the callback); ` +
    `offsets [${f.offsetsMs.map(ms).join(', ')}]; ${audio}` +
    (f.tap && f.outputDelayMs !== undefined
      ? `; audio output delay ${f.outputDelayMs.toFixed(1)} ms (media-playout); the WebAudio tap heard the beeps ${f.tap.laterMs.toFixed(1)} ms later: median ${ms(f.tap.medianMs)} ms, worst ${ms(f.tap.worstMs)} ms by it`
      : '') +
    (f.sender ? `; ${f.sender}` : '') +
    (f.receiver ? `; ${f.receiver}` : '')
  );
}
