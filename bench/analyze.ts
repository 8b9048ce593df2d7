/**
 * Matches what the viewers received against what the tap forwarded into whepd: added latency,
 * fan-out skew (first vs last viewer for the same packet), loss and sequence gaps. Pure: takes
 * typed arrays, returns figures.
 */
import { summary } from './stats.js';
import type { SeqLog } from './seq-log.js';

/** The tap's record of one media kind over the window. */
export interface SentKind {
  seq: Uint16Array;
  at: Float64Array;
}

/** One viewer's arrivals, per kind (0 video, 1 audio). */
export type Arrivals = readonly [SeqLog, SeqLog];

/** Figures over every viewer in the window. */
export interface DeliveryFigures {
  viewers: number;
  /** Packets the tap forwarded into whepd in the window (both kinds). */
  sentPackets: number;
  /** Of those, the ones old enough to count for loss (sent before the window end minus the cutoff). */
  expectedPackets: number;
  lossPctWorst: number;
  lossPctMedian: number;
  /** Viewers that lost at least one packet. */
  viewersWithLoss: number;
  /** Sequence discontinuities seen by a viewer (loss or reordering), worst viewer and total. */
  gapsWorst: number;
  gapsTotal: number;
  /** Tap send to viewer receive, over every (viewer, packet) pair, ms. */
  latencyMs: { p50: number; p99: number; max: number; n: number };
  /** Per packet: the last viewer's latency, ms. */
  lastViewerLatencyMs: { p50: number; p99: number; max: number; n: number };
  /** Per packet received by every viewer: last arrival minus first arrival, ms. */
  skewMs: { p50: number; p99: number; max: number; n: number };
}

/**
 * Computes the delivery figures. `cutoff` is the end of the loss window: packets sent after it
 * may still be in flight when the receivers stopped recording.
 */
export function analyze(sent: readonly [SentKind, SentKind], viewers: readonly Arrivals[], cutoff: number): DeliveryFigures {
  const latencies: number[] = [];
  const lastLatency: number[] = [];
  const skews: number[] = [];
  const losses: number[] = [];
  let gapsWorst = 0;
  let gapsTotal = 0;
  let expectedTotal = 0;
  const missingPerViewer = new Float64Array(viewers.length);
  for (const kind of [0, 1] as const) {
    const s = sent[kind];
    const index = new Map<number, number>();
    for (let i = 0; i < s.seq.length; i++) index.set(s.seq[i]!, i);
    let expected = 0;
    while (expected < s.at.length && s.at[expected]! <= cutoff) expected++;
    expectedTotal += expected;
    const first = new Float64Array(s.seq.length).fill(Number.POSITIVE_INFINITY);
    const last = new Float64Array(s.seq.length).fill(Number.NEGATIVE_INFINITY);
    const receivers = new Uint32Array(s.seq.length);
    viewers.forEach((v, vi) => {
      const log = v[kind];
      const got = new Uint8Array(s.seq.length);
      let gaps = 0;
      for (let k = 0; k < log.n; k++) {
        const seq = log.seq[k]!;
        if (k > 0 && seq !== ((log.seq[k - 1]! + 1) & 0xffff)) gaps++;
        const i = index.get(seq);
        if (i === undefined || got[i]) continue;
        got[i] = 1;
        const at = log.at[k]!;
        latencies.push(at - s.at[i]!);
        receivers[i]!++;
        if (at < first[i]!) first[i] = at;
        if (at > last[i]!) last[i] = at;
      }
      let missing = 0;
      for (let i = 0; i < expected; i++) if (!got[i]) missing++;
      missingPerViewer[vi]! += missing;
      gapsTotal += gaps;
      if (gaps > gapsWorst) gapsWorst = gaps;
    });
    for (let i = 0; i < s.seq.length; i++) {
      if (receivers[i] === 0) continue;
      lastLatency.push(last[i]! - s.at[i]!);
      if (receivers[i] === viewers.length && viewers.length > 1) skews.push(last[i]! - first[i]!);
    }
  }
  for (const m of missingPerViewer) losses.push(expectedTotal > 0 ? (100 * m) / expectedTotal : 0);
  const lossSummary = summary(losses);
  return {
    viewers: viewers.length,
    sentPackets: sent[0].seq.length + sent[1].seq.length,
    expectedPackets: expectedTotal,
    lossPctWorst: lossSummary.max,
    lossPctMedian: lossSummary.p50,
    viewersWithLoss: losses.filter((l) => l > 0).length,
    gapsWorst,
    gapsTotal,
    latencyMs: summary(latencies),
    lastViewerLatencyMs: summary(lastLatency),
    skewMs: summary(skews),
  };
}
