/**
 * A viewer's PeerConnection that lives in a shard process, seen from the main process. It has
 * the shape of a SessionPeer so a Session drives it like a local peer; its stream's delivery is
 * a ShardDelivery, which relays to the shard instead of sending to it. Figures (RTCP count, bytes, RTT, track readiness, reception)
 * arrive with the shard's twice-a-second report.
 */
import { EventEmitter } from 'node:events';
import { BadRequestError } from '../errors/index.js';
import type { PeerState, PeerStats } from '../webrtc/index.js';
import type { PeerFigures } from './protocol.js';

/** What a ShardPeer asks of the shard that holds it. */
export interface ShardLink {
  addCandidate(id: number, candidate: string, mid: string): Promise<string | undefined>;
  closePeer(id: number): void;
}

/** Emits `state` (PeerState), `videoStarted` once, and `close` once. */
export class ShardPeer extends EventEmitter {
  readonly id: number;
  readonly answerSdp: string;
  readonly #link: ShardLink;
  #state: PeerState = 'new';
  #closed = false;
  /** The shard's last report (twice a second), plus the candidates trickled through here. */
  readonly #stats: PeerStats;

  constructor(id: number, answerSdp: string, remoteCandidates: number, link: ShardLink) {
    super();
    this.id = id;
    this.answerSdp = answerSdp;
    this.#stats = { rtcpReceived: 0, bytesSent: 0, rttMs: undefined, videoReady: false, audioReady: false, remoteCandidateCount: remoteCandidates };
    this.#link = link;
  }

  get state(): PeerState {
    return this.#state;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get videoReady(): boolean {
    return this.#stats.videoReady;
  }

  stats(): PeerStats {
    return { ...this.#stats };
  }

  // A ShardDelivery never calls these: the shard sends.
  sendVideo(): void {}
  sendAudio(): void {}

  /** Adds a trickled candidate in the shard; rejects 400 when libdatachannel refuses it. */
  async addRemoteCandidate(candidate: string, mid: string): Promise<void> {
    if (this.#closed) return;
    const error = await this.#link.addCandidate(this.id, candidate, mid);
    if (error !== undefined) throw new BadRequestError(`candidate rejected: ${error}`);
    this.#stats.remoteCandidateCount++;
  }

  /** From the shard's report. */
  figures(f: PeerFigures): void {
    const s = this.#stats;
    s.rtcpReceived = f[1];
    s.bytesSent = f[2];
    s.rttMs = f[3] >= 0 ? f[3] : undefined;
    s.videoReady = f[4];
    s.audioReady = f[5];
    if (f[6]) s.quality = f[6];
  }

  /** From the shard: the peer's connection state changed. */
  stateChanged(state: PeerState): void {
    if (this.#closed) return;
    this.#state = state;
    this.emit('state', state);
  }

  /** From the shard: the keyframe gate opened for this viewer. */
  videoStarted(): void {
    if (!this.#closed) this.emit('videoStarted');
  }

  /** The shard closed the peer, or the shard itself is gone. */
  gone(): void {
    if (this.#closed) return;
    this.#state = 'closed';
    this.emit('state', 'closed');
    this.close();
  }

  /** Closes the peer in the shard; idempotent; emits `close` once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#state = 'closed';
    this.#stats.videoReady = false;
    this.#stats.audioReady = false;
    this.#link.closePeer(this.id);
    this.emit('close');
  }
}
