/**
 * One stream's hub: its identity (SSRCs, CNAME), the live state its keyframes decide, the track
 * aligner, and its viewers through one Delivery. It knows nothing of FFmpeg: a supervisor feeds
 * it packets and tells it when a run starts and ends, and it ends every viewer once, with a
 * typed reason, before the supervisor releases the run's sockets.
 */
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { MediaClock, keyframePart, setSsrc, vp8KeyframeStart } from '../rtp/index.js';
import type { ClockPoint } from '../rtp/index.js';
import { TrackAligner } from './track-aligner.js';
import { TrackContinuity } from './track-continuity.js';
import { AUDIO_CLOCK_RATE, VIDEO_CLOCK_RATE } from './local-delivery.js';
import type { Delivery, HubStatus, StreamEndReason, StreamIdentity, StreamMedia, StreamState, StreamViewer } from './types.js';

/** Options for {@link StreamHub}. */
export interface StreamHubOptions {
  id: string;
  /** Where packets go and who holds the viewers (in-process fan-out or shard relay). */
  delivery: Delivery;
  /** On-demand streams start idle; the others start in `starting`. */
  onDemand?: boolean;
  /** Longest hold that puts both tracks on the media clock (TrackAligner); 0 forwards at once. */
  syncHoldMaxMs?: number;
  /**
   * How long viewers are kept through an FFmpeg exit or stall, waiting for the next run on the
   * same PeerConnection (streams[].restartGraceS); 0 ends them at once.
   */
  restartGraceMs?: number;
  /** The video codec FFmpeg sends here, which decides what starts a keyframe (default H264). */
  videoCodec?: 'h264' | 'vp8';
}

/** H264: a keyframe starts at the packet carrying its SPS (in band before every IDR). */
const h264KeyframeStart = (packet: Buffer): boolean => keyframePart(packet) === 'sps';

/** Sees every packet the hub delivers, before the delivery does. Hot path: must not throw or keep the packet. */
export interface PacketTap {
  video(packet: Buffer, sps: boolean): void;
  audio(packet: Buffer): void;
  /** A run ended: its packets are over. */
  reset(): void;
}

/**
 * Emits `state` (StreamState) on each change, `viewers` (count) on each join and leave (after a
 * run's teardown too), and `close` once.
 */
export class StreamHub extends EventEmitter {
  readonly id: string;
  readonly identity: StreamIdentity;
  readonly onDemand: boolean;
  readonly #delivery: Delivery;
  /** Whether a video packet starts a keyframe: the live test and every viewer's keyframe gate. */
  readonly #keyframeStart: (packet: Buffer) => boolean;
  /** The run's media clock from FFmpeg's sender reports: what the aligner paces both tracks on. */
  readonly #clock = new MediaClock(VIDEO_CLOCK_RATE, AUDIO_CLOCK_RATE);
  readonly #aligner: TrackAligner;
  #taps: readonly PacketTap[] = [];
  readonly #graceMs: number;
  /** With a restart grace: continuous numbering across runs (undefined without one). */
  readonly #videoRun: TrackContinuity | undefined;
  readonly #audioRun: TrackContinuity | undefined;
  /** The next run's SR points that arrived before its first packet fixed the offsets. */
  #heldReports: { video?: ClockPoint; audio?: ClockPoint } = {};
  #graceTimer: NodeJS.Timeout | undefined;
  #state: StreamState;
  #lastError: string | undefined;
  #closed = false;

  constructor(o: StreamHubOptions) {
    super();
    this.id = o.id;
    this.onDemand = o.onDemand === true;
    this.#delivery = o.delivery;
    this.#keyframeStart = o.videoCodec === 'vp8' ? vp8KeyframeStart : h264KeyframeStart;
    this.#state = this.onDemand ? 'idle' : 'starting';
    this.#aligner = new TrackAligner({ clock: this.#clock, onVideo: this.#onVideo, onAudio: this.#onAudio, maxHoldMs: o.syncHoldMaxMs ?? 1000 });
    this.#graceMs = o.restartGraceMs ?? 0;
    if (this.#graceMs > 0) {
      this.#videoRun = new TrackContinuity(VIDEO_CLOCK_RATE);
      this.#audioRun = new TrackContinuity(AUDIO_CLOCK_RATE);
    }
    // One SSRC pair per stream for every viewer: each viewer has its own transport, so sharing
    // cannot collide, and it lets one rewritten buffer serve a whole payload-type group.
    this.identity = {
      videoSsrc: randomInt(1, 2 ** 32 - 1),
      audioSsrc: randomInt(1, 2 ** 32 - 1),
      cname: `whepd-${o.id}`,
      mediaStreamId: `whepd-${o.id}`,
    };
  }

  /** True when media is flowing and a keyframe was seen in this run. */
  get live(): boolean {
    return this.#state === 'live';
  }

  get state(): StreamState {
    return this.#state;
  }

  /** Why the last run ended, if one failed. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get viewerCount(): number {
    return this.#delivery.size;
  }

  /** What a peer created in this process needs (undefined when peers live in shards). */
  get media(): StreamMedia | undefined {
    return this.#delivery.media;
  }

  /** Hot path, from the video ingest. */
  readonly video = (packet: Buffer): void => this.#aligner.video(packet);

  /** Hot path, from the audio ingest. */
  readonly audio = (packet: Buffer): void => this.#aligner.audio(packet);

  /** FFmpeg's sender report for one track (a few per run). */
  senderReport(kind: 'video' | 'audio', point: ClockPoint): void {
    if (kind === 'video') this.#clock.setVideo(point);
    else this.#clock.setAudio(point);
    const run = kind === 'video' ? this.#videoRun : this.#audioRun;
    if (!run) return this.#delivery.clock(kind, point);
    // The viewers' SRs are in the continued numbering; before the run's first packet the
    // offset is not known yet, so the point waits for it.
    if (run.anchored) this.#delivery.clock(kind, { ntpMs: point.ntpMs, rtp: run.shifted(point.rtp) });
    else this.#heldReports[kind] = { ntpMs: point.ntpMs, rtp: point.rtp };
  }

  #releaseReport(kind: 'video' | 'audio', run: TrackContinuity): void {
    const point = this.#heldReports[kind];
    if (!point) return;
    delete this.#heldReports[kind];
    this.#delivery.clock(kind, { ntpMs: point.ntpMs, rtp: run.shifted(point.rtp) });
  }

  // Hot path: one call per video packet, on the media clock.
  #onVideo = (packet: Buffer): void => {
    setSsrc(packet, this.identity.videoSsrc);
    const run = this.#videoRun;
    if (run) {
      run.pass(packet, Date.now);
      if (this.#heldReports.video) this.#releaseReport('video', run);
    }
    const sps = this.#keyframeStart(packet);
    if (sps && this.#state === 'starting') this.#wentLive();
    const taps = this.#taps;
    for (let i = 0; i < taps.length; i++) (taps[i] as PacketTap).video(packet, sps);
    this.#delivery.video(packet, sps);
  };

  #onAudio = (packet: Buffer): void => {
    setSsrc(packet, this.identity.audioSsrc);
    const run = this.#audioRun;
    if (run) {
      run.pass(packet, Date.now);
      if (this.#heldReports.audio) this.#releaseReport('audio', run);
    }
    const taps = this.#taps;
    for (let i = 0; i < taps.length; i++) (taps[i] as PacketTap).audio(packet);
    this.#delivery.audio(packet);
  };

  /** A run begins (FFmpeg is being probed and started). */
  runStarting(): void {
    this.#setState('starting');
  }

  /**
   * A run ended: every viewer is ended once with `reason`, and the run's held packets and clock
   * are forgotten. The caller releases the run's sockets only after this returns.
   */
  runEnded(reason: StreamEndReason): void {
    const failed = reason.kind === 'ffmpeg-exited' || reason.kind === 'stalled';
    if (failed) this.#lastError = reason.message;
    if (failed && this.#graceMs > 0 && this.#delivery.size > 0 && !this.#closed) this.#holdViewers(reason);
    else this.#endViewers(reason);
    this.#setState(reason.kind === 'idle' ? 'idle' : 'failed');
  }

  // Restart grace: the viewers stay on their PeerConnections; the next run continues their
  // numbering and starts their video at its first keyframe. If it is not live within the grace
  // (it may fail again meanwhile: the first failure's timer runs on), they end as without one.
  #holdViewers(reason: StreamEndReason): void {
    this.#aligner.reset();
    this.#clock.reset();
    this.#heldReports = {};
    const now = Date.now();
    this.#videoRun?.runEnded(now);
    this.#audioRun?.runEnded(now);
    this.#delivery.pause();
    this.#graceTimer ??= setTimeout(() => {
      this.#graceTimer = undefined;
      if (this.live || this.#closed) return;
      this.#endViewers({ kind: reason.kind, message: `${reason.message}; not live again within ${Math.round(this.#graceMs / 1000)} s` });
    }, this.#graceMs);
    this.#graceTimer.unref();
  }

  #wentLive(): void {
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    this.#setState('live');
  }

  #endViewers(reason: StreamEndReason): void {
    // Held packets belong to the run that ended; none may reach the next run's viewers.
    this.#aligner.reset();
    // The next run has new RTP timestamp bases: never pace its packets on this run's clock.
    this.#clock.reset();
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    this.#heldReports = {};
    this.#videoRun?.reset();
    this.#audioRun?.reset();
    for (const tap of this.#taps) tap.reset();
    const had = this.#delivery.size;
    this.#delivery.end(reason);
    if (had > 0) this.emit('viewers', this.#delivery.size);
  }

  /** Attaches a viewer (audio at once, video from the next keyframe). Returns an idempotent detach. */
  attach(viewer: StreamViewer): () => void {
    if (this.#closed) throw new Error(`stream ${this.id} is closed`);
    this.#delivery.add(viewer);
    this.emit('viewers', this.#delivery.size);
    return () => {
      if (this.#delivery.delete(viewer)) this.emit('viewers', this.#delivery.size);
    };
  }

  /** Adds a read-only observer of every packet delivered (diagnostics, tests). Returns a remove function. */
  addTap(tap: PacketTap): () => void {
    this.#taps = [...this.#taps, tap];
    return () => {
      this.#taps = this.#taps.filter((t) => t !== tap);
    };
  }

  /** Resolves true once live, false after `timeoutMs` or when the stream closes first. */
  waitLive(timeoutMs: number): Promise<boolean> {
    if (this.live) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const onState = (s: StreamState) => {
        if (s === 'live') done(true);
        else if (s === 'closed') done(false);
      };
      const done = (v: boolean) => {
        clearTimeout(timer);
        this.off('state', onState);
        resolve(v);
      };
      this.on('state', onState);
    });
  }

  /** Read-only snapshot. */
  status(): HubStatus {
    const d = this.#delivery;
    return { id: this.id, state: this.#state, viewers: d.size, lastError: this.#lastError, out: { ...d.out }, retransmits: { ...d.retransmits } };
  }

  #setState(state: StreamState): void {
    if (this.#state === state || this.#state === 'closed') return;
    this.#state = state;
    this.emit('state', state);
  }

  /** Ends every viewer with `reason` and refuses new ones. Idempotent; emits `close` once. */
  close(reason: StreamEndReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#endViewers(reason);
    this.#setState('closed');
    this.emit('close');
  }
}
