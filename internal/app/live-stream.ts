/**
 * One configured stream as the rest of whepd sees it: the hub that holds its viewers, and the
 * supervisor that runs its FFmpeg into the hub. The wiring lives here: ingest -> hub, the hub's
 * viewer count -> the supervisor's on-demand policy, and the close order (viewers, then FFmpeg
 * and its sockets).
 */
import { EventEmitter } from 'node:events';
import { StreamHub } from '../stream/index.js';
import type { Delivery, PacketTap, StreamEndReason, StreamIdentity, StreamMedia, StreamState, StreamStatus, StreamViewer } from '../stream/index.js';
import { FfmpegSupervisor } from '../supervisor/index.js';
import type { FfmpegSupervisorOptions } from '../supervisor/index.js';

/** A stream's settings: the supervisor's, plus the hub's aligner cap and its delivery. */
export interface LiveStreamOptions extends Omit<FfmpegSupervisorOptions, 'sink'> {
  delivery: Delivery;
  syncHoldMaxMs?: number;
  restartGraceMs?: number;
  /**
   * The same stream encoded to VP8 for viewers whose player has no H264 (streams[].fallbackVideo):
   * its own on-demand FFmpeg, hub and delivery, so its viewers coming and going never touch
   * this stream's FFmpeg. Closed with this one.
   */
  fallback?: LiveStream;
}

/** What a stream's status says of its VP8 fallback. */
export interface FallbackStatus {
  codec: 'vp8';
  state: StreamState;
  viewers: number;
  pid: number | undefined;
  restarts: number;
}

/** Emits `state` (StreamState), `viewers` (count) and `ingestReleased` (a run's sockets closed). */
export class LiveStream extends EventEmitter {
  readonly id: string;
  readonly #hub: StreamHub;
  readonly #supervisor: FfmpegSupervisor;
  /** The VP8 encoding of this stream, when streams[].fallbackVideo is "vp8". */
  readonly fallback: LiveStream | undefined;

  constructor(o: LiveStreamOptions) {
    super();
    this.id = o.id;
    this.fallback = o.fallback;
    this.#hub = new StreamHub({
      id: o.id,
      delivery: o.delivery,
      onDemand: o.onDemand === true,
      ...(o.syncHoldMaxMs !== undefined ? { syncHoldMaxMs: o.syncHoldMaxMs } : {}),
      ...(o.restartGraceMs !== undefined ? { restartGraceMs: o.restartGraceMs } : {}),
      ...(o.videoCodec !== undefined ? { videoCodec: o.videoCodec } : {}),
    });
    this.#supervisor = new FfmpegSupervisor({ ...o, sink: this.#hub });
    this.#hub.on('viewers', (n: number) => this.#supervisor.viewersChanged(n));
    this.#hub.on('state', (s: StreamState) => this.emit('state', s));
    // For the WHEP events extension's `viewercount` and the stream list: every viewer of the
    // stream, the fallback encoding's included.
    this.#hub.on('viewers', () => this.emit('viewers', this.viewerCount));
    this.fallback?.on('viewers', () => this.emit('viewers', this.viewerCount));
    this.#supervisor.on('ingestReleased', () => this.emit('ingestReleased'));
  }

  get identity(): StreamIdentity {
    return this.#hub.identity;
  }

  get live(): boolean {
    return this.#hub.live;
  }

  get state(): StreamState {
    return this.#hub.state;
  }

  get lastError(): string | undefined {
    return this.#hub.lastError;
  }

  /** Viewers of this stream, those of its VP8 encoding included. */
  get viewerCount(): number {
    return this.#hub.viewerCount + (this.fallback?.viewerCount ?? 0);
  }

  get onDemand(): boolean {
    return this.#hub.onDemand;
  }

  get media(): StreamMedia | undefined {
    return this.#hub.media;
  }

  get pid(): number | undefined {
    return this.#supervisor.pid;
  }

  get ingestPorts(): { video: number; audio: number } | undefined {
    return this.#supervisor.ingestPorts;
  }

  get closed(): boolean {
    return this.#hub.closed;
  }

  /** Attaches a viewer; returns an idempotent detach. */
  attach(viewer: StreamViewer): () => void {
    return this.#hub.attach(viewer);
  }

  /** Adds a read-only observer of every packet (diagnostics, tests); returns a remove function. */
  addTap(tap: PacketTap): () => void {
    return this.#hub.addTap(tap);
  }

  /** Starts FFmpeg if needed; resolves whether the stream went live within its start timeout. */
  demand(): Promise<boolean> {
    return this.#supervisor.demand();
  }

  start(): void {
    this.#supervisor.start();
  }

  /** Restarts FFmpeg now; its viewers are ended as on any exit. */
  restart(): void {
    this.#supervisor.restart();
  }

  /** Read-only snapshot for status pages and metrics. */
  status(): StreamStatus & { fallback?: FallbackStatus } {
    const own = { ...this.#hub.status(), ...this.#supervisor.status() };
    const f = this.fallback;
    if (!f) return own;
    const fs = f.status();
    return { ...own, fallback: { codec: 'vp8', state: fs.state, viewers: fs.viewers, pid: fs.pid, restarts: fs.restarts } };
  }

  /**
   * Ends every viewer with `reason`, then stops FFmpeg and releases its sockets; the fallback
   * encoding the same way. Idempotent.
   */
  close(reason: StreamEndReason = { kind: 'shutdown', message: 'stream closed' }): void {
    this.#hub.close(reason);
    this.#supervisor.close();
    this.fallback?.close(reason);
  }

  /** Resolves once FFmpeg (and the fallback's) exited and the supervise loops ended. */
  async stopped(): Promise<void> {
    await Promise.all([this.#supervisor.stopped(), this.fallback?.stopped()]);
  }
}
