/** What a viewer peer is configured with and reports, shared by the peer and its users. */
import type { MediaClock, PacketLookup } from '../rtp/index.js';
import type { IceServerInput } from './ice-servers.js';

/** Network options shared by every viewer peer. */
export interface PeerNetworkOptions {
  iceServers: readonly IceServerInput[];
  bindAddress?: string;
  portRangeBegin?: number;
  portRangeEnd?: number;
  /** Bound on waiting for ICE gathering before answering (504 when exceeded). */
  gatheringTimeoutMs: number;
  /** Every peer shares this one UDP port (libdatachannel's ICE UDP mux); wins over the port range. */
  udpPort?: number;
  /** IP literals added to the answer as host candidates with the gathered ports (1:1 NAT). */
  advertisedAddresses?: readonly string[];
  /** Only the advertised addresses go in the answer, none of the gathered candidates. */
  advertiseOnly?: boolean;
}

/** The SSRC and naming the answer announces for one outgoing track. */
export interface TrackIdentity {
  ssrc: number;
  /** RTCP CNAME, the same for a stream's audio and video so players sync them (RFC 3550 6.5.1). */
  cname: string;
  /** MediaStream id (msid) shared by both tracks. */
  streamId: string;
  trackId: string;
}

/** Connection states a peer reports. */
export type PeerState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

/** The stream's side of a viewer: what lets the peer answer NACKs and send sender reports. */
export interface PeerMedia {
  /** The stream's recent video packets, looked up by sequence number. */
  videoHistory: PacketLookup;
  /** The stream's media clock; without it (or before FFmpeg's first SRs) no SR is sent. */
  clock?: MediaClock;
}

/** A peer's figures for status pages and liveness (read at most a few times a second). */
export interface PeerStats {
  /** RTCP packets received from the viewer so far (its liveness signal). */
  rtcpReceived: number;
  /** Bytes sent on the transport (SRTP and RTCP). */
  bytesSent: number;
  /** Round-trip time in ms as libdatachannel measured it, if any. */
  rttMs: number | undefined;
  videoReady: boolean;
  audioReady: boolean;
  /** Remote ICE candidates known so far (from the offer and trickled PATCHes). */
  remoteCandidateCount: number;
  /** What the viewer's RTCP says about its reception (absent on peers that do not read it). */
  quality?: ViewerQuality;
}

/** One track's reception, from the viewer's last report block about it. */
export interface TrackReception {
  /** Fraction lost since the viewer's previous report, 0..1. */
  fractionLost: number;
  /** Cumulative packets lost (negative when duplicates outnumber losses). */
  packetsLost: number;
  /** Interarrival jitter in ms. */
  jitterMs: number;
}

/** A viewer's reception figures from its RTCP. */
export interface ViewerQuality {
  video?: TrackReception;
  audio?: TrackReception;
  /** Round trip from the viewer's LSR/DLSR against whepd's sender reports, ms. */
  rttMs?: number;
  /** Generic NACK messages and PLIs the viewer sent for the video. */
  nacks: number;
  plis: number;
  /** Report blocks about our tracks received so far. */
  receiverReports: number;
}
