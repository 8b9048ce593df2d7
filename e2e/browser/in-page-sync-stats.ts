/**
 * Chromium's own view of A/V sync on a receiving RTCPeerConnection, read inside the page with
 * getStats() (self-contained for page.evaluate, like in-page-lip-sync.ts): the jitter buffer
 * counters of both inbound-rtp streams, their estimatedPlayoutTimestamp (sender NTP time of what
 * plays out now, so video minus audio is Chromium's estimate of the skew it plays) and the
 * media-playout stats of the audio output, when the build has them.
 */
/** One inbound-rtp stream's counters (cumulative, seconds as getStats gives them). */
export interface InboundSync {
  jitterBufferDelay: number;
  jitterBufferTargetDelay: number;
  jitterBufferMinimumDelay: number;
  jitterBufferEmittedCount: number;
  estimatedPlayoutTimestamp?: number;
  /** RFC 3550 interarrival jitter (s), as the receiver computes it now. */
  jitter: number;
  /** Video only (0 for audio): decode time and frame assembly time summed (s), and their counts. */
  totalDecodeTime: number;
  framesDecoded: number;
  totalAssemblyTime: number;
  framesAssembledFromMultiplePackets: number;
  /** Loss as the receiver counts it, and the NACKs it sent. */
  packetsLost: number;
  nackCount: number;
}

/** One getStats() snapshot; `at` is the report's timestamp (ms). */
export interface SyncSnapshot {
  at: number;
  video?: InboundSync;
  audio?: InboundSync;
  /** media-playout (audio output) counters, when the build reports them. */
  playout?: { totalPlayoutDelay: number; totalSamplesCount: number; totalSamplesDuration: number; synthesizedSamplesDuration: number };
}

/** Snapshots every `everyMs` for `ms` on `window.whepPlayer.pc` (the player page's, or a reference page's). */
export async function sampleSyncStats(arg: { ms: number; everyMs: number }): Promise<{ snapshots: SyncSnapshot[]; error?: string }> {
  const pc = (window as unknown as { whepPlayer?: { pc?: RTCPeerConnection } }).whepPlayer?.pc;
  if (!pc) return { snapshots: [], error: 'no peer connection' };
  type Entry = Record<string, unknown> & { type: string; kind?: string; timestamp: number };
  const num = (e: Entry, k: string) => (typeof e[k] === 'number' ? (e[k] as number) : 0);
  const inbound = (e: Entry): InboundSync => ({
    jitterBufferDelay: num(e, 'jitterBufferDelay'),
    jitterBufferTargetDelay: num(e, 'jitterBufferTargetDelay'),
    jitterBufferMinimumDelay: num(e, 'jitterBufferMinimumDelay'),
    jitterBufferEmittedCount: num(e, 'jitterBufferEmittedCount'),
    jitter: num(e, 'jitter'),
    totalDecodeTime: num(e, 'totalDecodeTime'),
    framesDecoded: num(e, 'framesDecoded'),
    totalAssemblyTime: num(e, 'totalAssemblyTime'),
    framesAssembledFromMultiplePackets: num(e, 'framesAssembledFromMultiplePackets'),
    packetsLost: num(e, 'packetsLost'),
    nackCount: num(e, 'nackCount'),
    ...(typeof e.estimatedPlayoutTimestamp === 'number' ? { estimatedPlayoutTimestamp: e.estimatedPlayoutTimestamp } : {}),
  });
  const snapshots: SyncSnapshot[] = [];
  const end = performance.now() + arg.ms;
  for (;;) {
    const s: SyncSnapshot = { at: 0 };
    (await pc.getStats()).forEach((e: Entry) => {
      if (e.type === 'inbound-rtp' && (e.kind === 'video' || e.kind === 'audio')) {
        s[e.kind] = inbound(e);
        s.at = e.timestamp;
      } else if (e.type === 'media-playout') {
        s.playout = {
          totalPlayoutDelay: num(e, 'totalPlayoutDelay'),
          totalSamplesCount: num(e, 'totalSamplesCount'),
          totalSamplesDuration: num(e, 'totalSamplesDuration'),
          synthesizedSamplesDuration: num(e, 'synthesizedSamplesDuration'),
        };
      }
    });
    snapshots.push(s);
    if (performance.now() + arg.everyMs > end) break;
    await new Promise((r) => setTimeout(r, arg.everyMs));
  }
  return { snapshots };
}
