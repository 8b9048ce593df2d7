/** The small interfaces the WHEP layer needs from streams and peers, so tests can swap them. */
import type { OfferPlan, PeerMedia, PeerState, PeerStats, TrackIdentity } from '../webrtc/index.js';
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
  /** What a viewer's peer needs from the stream to answer NACKs. */
  readonly media?: PeerMedia;
  /**
   * The same stream in VP8, for offers without a usable H264 (streams[].fallbackVideo); its
   * viewers count against this stream's caps and live under this stream's URLs.
   */
  readonly fallback?: StreamSource | undefined;
  /** On-demand streams: start if needed and resolve whether it went live in time. */
  readonly onDemand?: boolean;
  demand?(): Promise<boolean>;
  /** For the events extension: `state` on each change, `viewers` (the count) on each join and leave. */
  on(event: 'state', listener: (state: StreamState) => void): unknown;
  on(event: 'viewers', listener: (count: number) => void): unknown;
  off(event: 'state', listener: (state: StreamState) => void): unknown;
  off(event: 'viewers', listener: (count: number) => void): unknown;
}

/** Looks streams up by id. */
export interface StreamDirectory {
  get(id: string): StreamSource | undefined;
  list(): readonly StreamSource[];
}

/** What a session drives: a viewer's PeerConnection, here or in a shard process. */
export interface SessionPeer {
  readonly answerSdp: string;
  readonly state: PeerState;
  readonly closed: boolean;
  /** Read by the keyframe gate while the viewer waits for its first keyframe. */
  readonly videoReady: boolean;
  /** Figures for status and liveness (here: read off the peer; in a shard: its last report). */
  stats(): PeerStats;
  sendVideo(packet: Buffer): void;
  sendAudio(packet: Buffer): void;
  addRemoteCandidate(candidate: string, mid: string): void | Promise<void>;
  on(event: 'state', listener: (state: PeerState) => void): unknown;
  /** A shard peer's keyframe gate opened (its shard runs the gate, so the session hears it here). */
  on(event: 'videoStarted', listener: () => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  close(): void;
}

/** Creates a peer answering `offer`; resolves once the answer is complete (ICE gathered). */
export type PeerFactory = (
  offer: string,
  plan: OfferPlan,
  ids: { video: TrackIdentity; audio: TrackIdentity },
  stream: { id: string; media?: PeerMedia | undefined },
) => Promise<SessionPeer>;

/** Hooks for metrics and logs; called at request and session boundaries, never per packet. */
export interface WhepObserver {
  /** Every POST, PATCH and DELETE outcome (its status, errors included) and how long it took. */
  answered(method: 'POST' | 'PATCH' | 'DELETE', streamId: string, status: number, ms: number): void;
  /** A session was created and attached; subscribe to its `close` / `videoStarted` here. */
  sessionStarted(session: StartedSession): void;
}

/** What an observer sees of a new session (a Session fits); an interface, so types.ts imports no class. */
export interface StartedSession {
  readonly id: string;
  readonly streamId: string;
  readonly createdAt: number;
  once(event: 'close', listener: (reason: string) => void): unknown;
  /** ms from the POST to the first keyframe packet sent. */
  once(event: 'videoStarted', listener: (ms: number) => void): unknown;
}
