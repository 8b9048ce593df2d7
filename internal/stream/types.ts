/** What a stream needs from a viewer and from its delivery, and what it tells about itself. */
import type { ClockPoint, MediaClock, PacketLookup } from '../rtp/index.js';

/** A receiver of one stream's media; implemented by a WHEP session. */
export interface StreamViewer {
  /** Payload types this viewer negotiated; packets reach it rewritten to these. */
  readonly videoPayloadType: number;
  readonly audioPayloadType: number;
  /** True once the viewer's video track can take packets; the keyframe gate waits for it. */
  readonly videoReady: boolean;
  /** Hot path: must not throw, allocate per call, or log. */
  sendVideo(packet: Buffer): void;
  sendAudio(packet: Buffer): void;
  /** The viewer's video just started at a keyframe (called once, not per packet). */
  videoStarted(): void;
  /** The stream ended this viewer (called once); the viewer must close itself now. */
  streamEnded(reason: StreamEndReason): void;
}

/**
 * Why a stream ended its viewers: its FFmpeg exited or stalled (the run is over), the stream was
 * removed by a reload, whepd shuts down, or an on-demand stream stopped for lack of viewers.
 */
export interface StreamEndReason {
  kind: 'ffmpeg-exited' | 'stalled' | 'stream-removed' | 'shutdown' | 'idle';
  /** One sentence for logs and for the session's close reason. */
  message: string;
}

/**
 * Lifecycle of a stream: `failed` means waiting to restart after an exit or an error; `idle` is an
 * on-demand stream with no FFmpeg running.
 */
export type StreamState = 'idle' | 'starting' | 'live' | 'failed' | 'closed';

/** SSRCs and naming a stream's outgoing tracks use for every viewer. */
export interface StreamIdentity {
  videoSsrc: number;
  audioSsrc: number;
  cname: string;
  /** msid stream id shared by both tracks. */
  mediaStreamId: string;
}

/**
 * Packets and bytes handed to viewers, summed over viewers; and send gaps: packets of a track
 * handed over more than 50, 100 or 250 ms after the one before it, while the track had viewers
 * (counted once per fan-out, whatever the viewer count; see PacketGaps).
 */
export interface OutCounters {
  videoPackets: number;
  videoBytes: number;
  audioPackets: number;
  audioBytes: number;
  videoGapsOver50ms: number;
  videoGapsOver100ms: number;
  videoGapsOver250ms: number;
  audioGapsOver50ms: number;
  audioGapsOver100ms: number;
  audioGapsOver250ms: number;
}

/** Every OutCounters field, in the order shards report them. */
export const OUT_COUNTER_KEYS = [
  'videoPackets',
  'videoBytes',
  'audioPackets',
  'audioBytes',
  'videoGapsOver50ms',
  'videoGapsOver100ms',
  'videoGapsOver250ms',
  'audioGapsOver50ms',
  'audioGapsOver100ms',
  'audioGapsOver250ms',
] as const satisfies readonly (keyof OutCounters)[];

/** Zeroed delivery counters. */
export function emptyOutCounters(): OutCounters {
  return {
    videoPackets: 0,
    videoBytes: 0,
    audioPackets: 0,
    audioBytes: 0,
    videoGapsOver50ms: 0,
    videoGapsOver100ms: 0,
    videoGapsOver250ms: 0,
    audioGapsOver50ms: 0,
    audioGapsOver100ms: 0,
    audioGapsOver250ms: 0,
  };
}

/** NACKed video packets resent from a history, and those it no longer held. */
export interface RetransmitCounters {
  sent: number;
  missing: number;
}

/** What a peer in this process needs from its stream: the history for NACKs, the clock for SRs. */
export interface StreamMedia {
  videoHistory: PacketLookup;
  clock: MediaClock;
}

/**
 * Where a stream's packets go and who holds its viewers: the viewers of this process (fan-out
 * plus history), or the shard processes that hold them. It owns its viewers and ends each once.
 */
export interface Delivery {
  /** Hot path: one video packet (SSRC set); `sps` when it starts a keyframe. Never throws or keeps it. */
  video(packet: Buffer, sps: boolean): void;
  /** Hot path: one audio packet (SSRC set). Never throws or keeps it. */
  audio(packet: Buffer): void;
  /** FFmpeg's sender report for one track of the current run: the clock viewers' SRs follow. */
  clock(kind: 'video' | 'audio', point: ClockPoint): void;
  /** Takes a viewer: audio at once, video from the next keyframe its track can take. */
  add(viewer: StreamViewer): void;
  /** Drops a viewer that left on its own; false when it was not here. */
  delete(viewer: StreamViewer): boolean;
  /** The run is over: each viewer gets `streamEnded(reason)` once; the run's packets and clock are forgotten. */
  end(reason: StreamEndReason): void;
  /** The run is over but its viewers stay for the next one: forget its packets and clock, re-gate video. */
  pause(): void;
  /** Viewers held. */
  readonly size: number;
  readonly out: OutCounters;
  readonly retransmits: RetransmitCounters;
  /** For peers created in this process; undefined when the viewers' peers live elsewhere. */
  readonly media: StreamMedia | undefined;
}

/** The hub's part of a stream's status: viewers, delivery and state. */
export interface HubStatus {
  id: string;
  state: StreamState;
  viewers: number;
  lastError: string | undefined;
  /** Packets and bytes sent to viewers, summed over viewers. */
  out: OutCounters;
  retransmits: RetransmitCounters;
}

/** One track's ingest counters, summed over the runs. */
export interface IngestFigures {
  packets: number;
  bytes: number;
  junk: number;
  gapsOver50ms: number;
  gapsOver100ms: number;
  gapsOver250ms: number;
}

/** What the stream's supervisor knows of its FFmpeg runs. */
export interface RunStatus {
  restarts: number;
  pid: number | undefined;
  /** Whether video is re-encoded (undefined before the first probe). */
  transcoding: boolean | undefined;
  /** From FFmpeg, over all runs; gaps: packets that came over 50/100/250 ms after the one before. */
  video: IngestFigures;
  audio: IngestFigures;
  /** Bits per second arriving from FFmpeg, sampled once a second (0 when none runs). */
  inputBitrateBps: number;
  /** How long the current FFmpeg has run, in ms (0 when none runs). */
  uptimeMs: number;
}

/** Point-in-time facts about a stream for status pages and logs. */
export interface StreamStatus extends HubStatus, RunStatus {}
