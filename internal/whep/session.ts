/**
 * One WHEP session (a viewer): owns its peer, its slot in the registry, and its attachment to the
 * stream. Ends on DELETE, peer failure, a disconnect that outlasts the grace, a handshake that
 * never completes, the stream ending, or shutdown; `close` is emitted once with the reason.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { OfferPlan, PeerState, ViewerQuality } from '../webrtc/index.js';
import type { StreamEndReason, StreamViewer } from '../stream/index.js';
import type { SessionPeer } from './types.js';

/** Timers a session runs. */
export interface SessionTimers {
  /** Close if the peer has not connected by then (a POST-and-vanish client cannot hold a slot). */
  handshakeTimeoutMs: number;
  /** How long `disconnected` may last before the session is closed. */
  disconnectGraceMs: number;
  /**
   * Close a connected session whose viewer sent no RTCP for this long (0 disables). ICE consent
   * (RFC 7675) takes 30 s or more to notice a viewer that vanished; receiver reports come every
   * second or so from every WebRTC stack.
   */
  rtcpTimeoutMs?: number;
}

/** Makes an unguessable id: 128 random bits, URL-safe. */
export function newResourceId(): string {
  return randomBytes(16).toString('base64url');
}

function newEtag(): string {
  return `"${randomBytes(9).toString('base64url')}"`;
}

/** What a session is made from. */
export interface SessionInit {
  streamId: string;
  plan: OfferPlan;
  peer: SessionPeer;
  timers: SessionTimers;
  log: Logger;
  /** performance.now() when the POST arrived; the first-keyframe delay is measured from it. */
  requestStart: number;
  /** The client's address as the HTTP server saw it, if known. */
  remoteAddress?: string;
}

/**
 * A viewer session. Implements StreamViewer so the stream can feed it directly. Emits `close`
 * (reason) once, `videoStarted` (ms from POST to the first keyframe packet) once, and
 * `streamEnded` (StreamEndReason) just before a close its stream caused.
 */
export class Session extends EventEmitter implements StreamViewer {
  readonly id = newResourceId();
  readonly streamId: string;
  readonly createdAt = Date.now();
  readonly videoPayloadType: number;
  readonly audioPayloadType: number;
  readonly plan: OfferPlan;
  readonly remoteAddress: string | undefined;
  readonly requestStart: number;
  readonly #peer: SessionPeer;
  readonly #log: Logger;
  readonly #timers: SessionTimers;
  #etag = newEtag();
  #detach: (() => void) | undefined;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #graceTimer: NodeJS.Timeout | undefined;
  #livenessTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #closeReason: string | undefined;
  #connectedAt: number | undefined;

  constructor(init: SessionInit) {
    super();
    const { streamId, plan, peer, timers, log } = init;
    this.streamId = streamId;
    this.remoteAddress = init.remoteAddress;
    this.requestStart = init.requestStart;
    this.plan = plan;
    this.videoPayloadType = plan.video.payloadType;
    this.audioPayloadType = plan.audio.payloadType;
    this.#peer = peer;
    this.#timers = timers;
    this.#log = log.child({ session: this.id, stream: streamId });
    this.#handshakeTimer = setTimeout(() => this.close('ICE/DTLS handshake timed out'), timers.handshakeTimeoutMs);
    this.#handshakeTimer.unref();
    this.#watchRtcp(timers.rtcpTimeoutMs ?? 0);
    peer.on('state', (s) => this.#onPeerState(s));
    peer.on('close', () => this.close('peer closed'));
    peer.on('videoStarted', () => this.videoStarted());
  }

  /** The strong ETag of the current ICE session (RFC 9725 section 4.3.1). */
  get etag(): string {
    return this.#etag;
  }

  /** The SDP answer returned to the client. */
  get answerSdp(): string {
    return this.#peer.answerSdp;
  }

  /** True once close() ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Why the session closed (undefined while open). */
  get closeReason(): string | undefined {
    return this.#closeReason;
  }

  /** Peer connection state. */
  get peerState(): PeerState {
    return this.#peer.state;
  }

  /** Remote ICE candidates the peer knows (offer plus trickle). */
  get remoteCandidateCount(): number {
    return this.#peer.stats().remoteCandidateCount;
  }

  /** RTCP packets the viewer sent so far (its liveness signal). */
  get rtcpReceived(): number {
    return this.#peer.stats().rtcpReceived;
  }

  /** True once the peer's audio track is open. */
  get audioReady(): boolean {
    return this.#peer.stats().audioReady;
  }

  /** True once the peer's video track is open. */
  get videoReady(): boolean {
    return this.#peer.videoReady;
  }

  /** Remembers how to detach from the stream; called once after attaching. */
  attached(detach: () => void): void {
    if (this.#closed) detach();
    else this.#detach = detach;
  }

  #watchRtcp(timeoutMs: number): void {
    if (timeoutMs <= 0) return;
    let last = -1;
    let since = Date.now();
    this.#livenessTimer = setInterval(() => {
      if (this.#connectedAt === undefined) return;
      const n = this.#peer.stats().rtcpReceived;
      if (n !== last) {
        last = n;
        since = Date.now();
      } else if (Date.now() - since >= timeoutMs) {
        this.close(`no RTCP from the viewer for ${Math.round(timeoutMs / 1000)} s`);
      }
    }, Math.min(1000, timeoutMs));
    this.#livenessTimer.unref();
  }

  #onPeerState(state: PeerState): void {
    if (this.#closed) return;
    if (state === 'connected') {
      if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
      this.#handshakeTimer = undefined;
      if (this.#graceTimer) clearTimeout(this.#graceTimer);
      this.#graceTimer = undefined;
      if (this.#connectedAt === undefined) {
        this.#connectedAt = Date.now();
        this.#log.info({ setupMs: this.#connectedAt - this.createdAt }, 'viewer connected');
      }
    } else if (state === 'disconnected') {
      // ICE consent may come back (RFC 7675); give it a short grace before giving the slot away.
      this.#graceTimer ??= setTimeout(() => this.close('peer disconnected'), this.#timers.disconnectGraceMs);
      this.#graceTimer.unref();
    } else if (state === 'failed' || state === 'closed') {
      this.close(`peer ${state}`);
    }
  }

  sendVideo(packet: Buffer): void {
    this.#peer.sendVideo(packet);
  }

  sendAudio(packet: Buffer): void {
    this.#peer.sendAudio(packet);
  }

  videoStarted(): void {
    this.emit('videoStarted', performance.now() - this.requestStart);
  }

  /** When the peer connected (epoch ms), if it has. */
  get connectedAt(): number | undefined {
    return this.#connectedAt;
  }

  /** Bytes the peer sent so far. */
  get bytesSent(): number {
    return this.#peer.stats().bytesSent;
  }

  /** Round-trip time in ms, when libdatachannel measured one. */
  get rttMs(): number | undefined {
    return this.#peer.stats().rttMs;
  }

  /** The viewer's reception from its RTCP (loss, jitter, RTT, NACKs, PLIs), once it reported. */
  get quality(): ViewerQuality | undefined {
    return this.#peer.stats().quality;
  }

  streamEnded(reason: StreamEndReason): void {
    // Heard by the events extension, which tells the player `inactive` before the session ends.
    this.emit('streamEnded', reason);
    this.close(`stream ended (${reason.kind}): ${reason.message}`);
  }

  /** Adds trickled candidates; each is `candidate:...` with the mid it belongs to. */
  async addCandidates(candidates: readonly { candidate: string; mid: string }[]): Promise<void> {
    for (const c of candidates) await this.#peer.addRemoteCandidate(c.candidate, c.mid);
  }

  /** Closes the session: detach from the stream, close the peer, emit `close` once. Idempotent. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    if (this.#livenessTimer) clearInterval(this.#livenessTimer);
    this.#detach?.();
    this.#detach = undefined;
    this.#peer.close();
    this.#log.info({ reason, ageMs: Date.now() - this.createdAt, connected: this.#connectedAt !== undefined }, 'session ended');
    this.emit('close', reason);
  }
}
