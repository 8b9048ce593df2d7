/**
 * What whepd's main process and its shard processes say to each other. Control goes over the
 * fork IPC channel; media goes over one loopback UDP datagram per packet per shard, the RTP
 * packet behind a 3-byte header (stream index, kind), so the main process never builds a message
 * object per packet.
 */
import type { WireError } from '../errors/index.js';
import type { OfferPlan, PeerNetworkOptions, PeerState, TrackIdentity, ViewerQuality } from '../webrtc/index.js';

/** Media header: u16 stream index, u8 kind. */
export const MEDIA_HEADER_BYTES = 3;
export const KIND_VIDEO = 0;
/** A video packet that starts a keyframe (its SPS): opens the gate for waiting viewers. */
export const KIND_VIDEO_SPS = 1;
export const KIND_AUDIO = 2;

/**
 * Per-peer figures a shard reports twice a second: [id, rtcp, bytesSent, rttMs (-1 none),
 * videoReady, audioReady, reception from the viewer's RTCP (absent before the peer reads any)].
 */
export type PeerFigures = [number, number, number, number, boolean, boolean, ViewerQuality?];

/** Per-stream delivery a shard reports: [streamIndex, resent, missing, ...its OutCounters in OUT_COUNTER_KEYS order]. */
export type StreamFigures = [number, ...number[]];

export type ToShard =
  | { t: 'init'; net: PeerNetworkOptions }
  | { t: 'stream'; index: number; id: string }
  | { t: 'answer'; id: number; stream: number; offer: string; plan: OfferPlan; ids: { video: TrackIdentity; audio: TrackIdentity } }
  | { t: 'candidate'; id: number; req: number; candidate: string; mid: string }
  | { t: 'close'; id: number }
  /** The stream's run ended (its viewers were closed one by one): forget its packets and clock. */
  | { t: 'reset'; stream: number }
  /** The stream's run ended but its viewers stay for the next (restart grace): re-gate them. */
  | { t: 'pause'; stream: number }
  /** FFmpeg's sender report point for one track of the stream's current run. */
  | { t: 'clock'; stream: number; kind: 'video' | 'audio'; ntpMs: number; rtp: number }
  | { t: 'exit' };

export type FromShard =
  | { t: 'ready'; port: number }
  | { t: 'answered'; id: number; sdp: string; remoteCandidates: number }
  /** The answer failed; the error keeps its code so the main process rethrows the same class. */
  | { t: 'answerFailed'; id: number; error: WireError }
  | { t: 'candidateDone'; req: number; error?: string }
  | { t: 'state'; id: number; state: PeerState }
  | { t: 'videoStarted'; id: number }
  | { t: 'closed'; id: number }
  | { t: 'stats'; peers: PeerFigures[]; streams: StreamFigures[] };
