/** What a stream needs from a viewer, and what it tells about itself. */
import type { ClockPoint } from '../rtp/index.js';

/** A receiver of one stream's media; implemented by a WHEP session. */
export interface StreamViewer {
  /** Payload types this viewer negotiated; packets reach it rewritten to these. */
  readonly videoPayloadType: number;
  readonly audioPayloadType: number;
  /** True once the viewer's video track can take packets; the keyframe gate waits for it. */
  readonly videoReady: boolean;
  /**
   * True when media reaches this viewer by another path (a shard process fed by a StreamOutlet):
   * the stream then only counts it and ends it, and never calls the send methods.
   */
  readonly external?: boolean;
  /** Hot path: must not throw, allocate per call, or log. */
  sendVideo(packet: Buffer): void;
  sendAudio(packet: Buffer): void;
  /** The viewer's video just started at a keyframe (called once, not per packet). */
  videoStarted(): void;
  /** The stream stopped (FFmpeg exited or whepd closes it); the viewer must close itself now. */
  streamEnded(reason: string): void;
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

/** Point-in-time facts about a stream for status pages and logs. */
export interface StreamStatus {
  id: string;
  state: StreamState;
  viewers: number;
  lastError: string | undefined;
  restarts: number;
  pid: number | undefined;
  /** Whether video is re-encoded (undefined before the first probe). */
  transcoding: boolean | undefined;
  video: { packets: number; bytes: number; junk: number };
  audio: { packets: number; bytes: number; junk: number };
  /** Packets and bytes sent to viewers, summed over viewers. */
  out: { videoPackets: number; videoBytes: number; audioPackets: number; audioBytes: number };
  /** NACKed video packets resent from the stream's history, and those it no longer held. */
  retransmits: { sent: number; missing: number };
  /** Bits per second arriving from FFmpeg (0 when not live). */
  inputBitrateBps: number;
  /** How long the current FFmpeg has run, in ms (0 when none runs). */
  uptimeMs: number;
}

/** A consumer of every packet of a stream, e.g. the link to shard processes. Hot path. */
export interface StreamOutlet {
  /** One video packet (SSRC set); `sps` when it starts a keyframe. Must not throw or retain it. */
  video(packet: Buffer, sps: boolean): void;
  /** One audio packet (SSRC set). Must not throw or retain it. */
  audio(packet: Buffer): void;
  /** FFmpeg's sender report for one track: the media clock the viewers' SRs must follow. */
  clock(kind: 'video' | 'audio', point: ClockPoint): void;
  /** A run ended (its viewers are gone): forget packets of the old sequence space and clock. */
  reset(): void;
  /** Delivery counters of the viewers behind the outlet, summed into the stream's status. */
  readonly out: OutCounters;
  readonly retransmits: { sent: number; missing: number };
}

/** Packets and bytes handed to viewers, summed over viewers. */
export interface OutCounters {
  videoPackets: number;
  videoBytes: number;
  audioPackets: number;
  audioBytes: number;
}

/** Fresh all-zero counters. */
export function emptyOutCounters(): OutCounters {
  return { videoPackets: 0, videoBytes: 0, audioPackets: 0, audioBytes: 0 };
}
