/**
 * Chromium's own A/V sync counters over one lip-sync window (in-page-sync-stats.ts snapshots),
 * summarized and described. Shared by av-sync.ts and av-sync-reference-janus.ts, so every window's
 * line says where Chromium itself believes it plays the two tracks next to what was measured: a
 * measured skew that Chromium also estimates is its sync not acting; one it does not see arises
 * after its sync point (rendering, audio output).
 */
import type { SyncSnapshot } from './in-page-sync-stats.js';

/** Chromium's sync counters over the window, in ms. */
export interface SyncSummary {
  videoJitterBufferMs: number;
  videoTargetMs: number;
  videoMinimumMs: number;
  audioJitterBufferMs: number;
  audioTargetMs: number;
  audioMinimumMs: number;
  /** video minus audio estimatedPlayoutTimestamp, median and range over the snapshots. */
  playoutSkewMs?: { median: number; min: number; max: number; series: number[]; settling: number[] };
  /** Video: mean decode time and mean assembly time of a multi-packet frame over the window. */
  videoDecodeMs: number;
  videoAssemblyMs: number;
  /** Video target delay of each second from the first snapshot, and the index of the window's first. */
  videoTargets: number[];
  windowFrom: number;
  /** Video packets lost and NACKs sent: over the window, and from the first snapshot (the settle) to the window. */
  videoLost: number;
  videoNacks: number;
  videoLostBefore: number;
  videoNacksBefore: number;
  /** inbound-rtp interarrival jitter (RFC 3550), median over the snapshots. */
  videoJitterMs: number;
  audioJitterMs: number;
  /** media-playout: mean totalPlayoutDelay per sample (audio output), when reported. */
  audioPlayoutDelayMs?: number;
}

const mid = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1] ?? NaN;

/**
 * The window's summary: counters over the snapshots from index `from` on (those before it were
 * taken while settling; they show in the skew series only). Undefined without two snapshots of
 * both tracks in the window.
 */
export function summarizeSync(all: readonly SyncSnapshot[], from = 0): SyncSummary | undefined {
  const s = all.slice(from);
  const a = s[0];
  const b = s[s.length - 1];
  if (!a?.video || !a.audio || !b?.video || !b.audio || a === b) return undefined;
  const per = (k: 'jitterBufferDelay' | 'jitterBufferTargetDelay' | 'jitterBufferMinimumDelay', m: 'video' | 'audio') =>
    ((b[m]![k] - a[m]![k]) / Math.max(1, b[m]!.jitterBufferEmittedCount - a[m]!.jitterBufferEmittedCount)) * 1000;
  const skewOf = (x: SyncSnapshot) =>
    x.video?.estimatedPlayoutTimestamp !== undefined && x.audio?.estimatedPlayoutTimestamp !== undefined ? x.video.estimatedPlayoutTimestamp - x.audio.estimatedPlayoutTimestamp : undefined;
  const settling = all.slice(0, from).map(skewOf).filter((v): v is number => v !== undefined);
  // Chromium's video target delay over each second (ms), settle included: where it moved.
  const videoTargets = all.slice(1).map((x, i) => {
    const p = all[i]!;
    const n = (x.video?.jitterBufferEmittedCount ?? 0) - (p.video?.jitterBufferEmittedCount ?? 0);
    return n > 0 ? (((x.video?.jitterBufferTargetDelay ?? 0) - (p.video?.jitterBufferTargetDelay ?? 0)) / n) * 1000 : NaN;
  });
  const series = s.map(skewOf).filter((v): v is number => v !== undefined);
  const skews = [...series].sort((x, y) => x - y);
  const out: SyncSummary = {
    videoJitterBufferMs: per('jitterBufferDelay', 'video'),
    videoTargetMs: per('jitterBufferTargetDelay', 'video'),
    videoMinimumMs: per('jitterBufferMinimumDelay', 'video'),
    audioJitterBufferMs: per('jitterBufferDelay', 'audio'),
    audioTargetMs: per('jitterBufferTargetDelay', 'audio'),
    audioMinimumMs: per('jitterBufferMinimumDelay', 'audio'),
    videoTargets,
    windowFrom: from,
    videoLost: b.video.packetsLost - a.video.packetsLost,
    videoNacks: b.video.nackCount - a.video.nackCount,
    videoLostBefore: a.video.packetsLost - (all[0]?.video?.packetsLost ?? 0),
    videoNacksBefore: a.video.nackCount - (all[0]?.video?.nackCount ?? 0),
    videoDecodeMs: ((b.video.totalDecodeTime - a.video.totalDecodeTime) / Math.max(1, b.video.framesDecoded - a.video.framesDecoded)) * 1000,
    videoAssemblyMs:
      ((b.video.totalAssemblyTime - a.video.totalAssemblyTime) / Math.max(1, b.video.framesAssembledFromMultiplePackets - a.video.framesAssembledFromMultiplePackets)) * 1000,
    videoJitterMs: mid(s.map((x) => (x.video?.jitter ?? NaN) * 1000)),
    audioJitterMs: mid(s.map((x) => (x.audio?.jitter ?? NaN) * 1000)),
  };
  if (skews.length) out.playoutSkewMs = { median: skews[skews.length >> 1]!, min: skews[0]!, max: skews[skews.length - 1]!, series, settling };
  if (a.playout && b.playout && b.playout.totalSamplesCount > a.playout.totalSamplesCount) {
    out.audioPlayoutDelayMs = ((b.playout.totalPlayoutDelay - a.playout.totalPlayoutDelay) / (b.playout.totalSamplesCount - a.playout.totalSamplesCount)) * 1000;
  }
  return out;
}

/** One clause for a window's line, e.g. `Chromium: video jb 20 ms (target 30, min 0), ...`. */
export function describeSync(s: SyncSummary): string {
  return (
    `Chromium: video jb ${s.videoJitterBufferMs.toFixed(0)} ms (target ${s.videoTargetMs.toFixed(0)}, min ${s.videoMinimumMs.toFixed(0)}; ` +
    `decode ${s.videoDecodeMs.toFixed(1)} ms, assembly ${s.videoAssemblyMs.toFixed(1)} ms a frame; ` +
    `lost ${s.videoLost}, NACKs ${s.videoNacks}; while settling lost ${s.videoLostBefore}, NACKs ${s.videoNacksBefore}), ` +
    `audio jb ${s.audioJitterBufferMs.toFixed(0)} ms (target ${s.audioTargetMs.toFixed(0)}, min ${s.audioMinimumMs.toFixed(0)}), ` +
    `interarrival jitter video ${s.videoJitterMs.toFixed(1)} / audio ${s.audioJitterMs.toFixed(1)} ms` +
    (s.playoutSkewMs
      ? `, est. playout video-audio ${s.playoutSkewMs.median.toFixed(0)} ms (${s.playoutSkewMs.min.toFixed(0)}..${s.playoutSkewMs.max.toFixed(0)}; each second: ${s.playoutSkewMs.settling.length ? `${s.playoutSkewMs.settling.map((v) => v.toFixed(0)).join(' ')} | ` : ''}${s.playoutSkewMs.series.map((v) => v.toFixed(0)).join(' ')}; "|" is the window's start)`
      : ', no estimatedPlayoutTimestamp') +
    (s.audioPlayoutDelayMs !== undefined ? `, media-playout delay ${s.audioPlayoutDelayMs.toFixed(1)} ms` : ', no media-playout') +
    `, video target each second: ${s.videoTargets.map((v, i) => (i === s.windowFrom ? '| ' : '') + v.toFixed(0)).join(' ')}`
  );
}
