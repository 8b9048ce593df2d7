/** The small interfaces the WHEP layer needs from streams and peers, so tests can swap them. */
import type { OfferPlan, PeerState, TrackIdentity } from '../webrtc/index.js';
import type { StreamIdentity, StreamState, StreamViewer } from '../stream/index.js';

/** A stream as WHEP sees it. */
export interface StreamSource {
  readonly id: string;
  readonly live: boolean;
  readonly state: StreamState;
  readonly lastError: string | undefined;
  readonly identity: StreamIdentity;
  readonly viewerCount: number;
  attach(viewer: StreamViewer): () => void;
}

/** Looks streams up by id. */
export interface StreamDirectory {
  get(id: string): StreamSource | undefined;
  list(): readonly StreamSource[];
}

/** What a session drives: a viewer's PeerConnection. */
export interface SessionPeer {
  readonly answerSdp: string;
  readonly state: PeerState;
  readonly closed: boolean;
  readonly videoReady: boolean;
  readonly remoteCandidateCount: number;
  sendVideo(packet: Buffer): void;
  sendAudio(packet: Buffer): void;
  addRemoteCandidate(candidate: string, mid: string): void;
  on(event: 'state', listener: (state: PeerState) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  close(): void;
}

/** Creates a peer answering `offer`; resolves once the answer is complete (ICE gathered). */
export type PeerFactory = (offer: string, plan: OfferPlan, ids: { video: TrackIdentity; audio: TrackIdentity }) => Promise<SessionPeer>;
