/**
 * One live stream: probes the input, binds the ingest sockets, runs FFmpeg, gates each new viewer
 * on a keyframe, fans packets out, and on FFmpeg exit tears every viewer down before it releases
 * the sockets, then restarts with backoff.
 */
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { MediaClock, PacketHistory, RtpIngest, keyframePart, setSsrc } from '../rtp/index.js';
import type { IngestCounters, SenderReport } from '../rtp/index.js';
import {
  AUDIO_PT,
  VIDEO_PT,
  FfmpegProcess,
  RestartBackoff,
  buildFfmpegArgs,
  isWebRtcSafeH264,
  probeInBandSps,
  probeInput,
} from '../ffmpeg/index.js';
import type { FfmpegExit, ProbeResult } from '../ffmpeg/index.js';
import { ViewerFanout } from './viewer-fanout.js';
import { TrackAligner } from './track-aligner.js';
import type { StreamIdentity, StreamOutlet, StreamState, StreamStatus, StreamViewer } from './types.js';

/** Everything a stream needs to run; `app` derives it from the config. */
export interface StreamOptions {
  id: string;
  input: string;
  inputArgs: readonly string[];
  loop: boolean;
  /** True for file inputs: read with -re so they play like live. */
  isFile: boolean;
  video: 'auto' | 'copy' | 'transcode';
  keyframeIntervalS: number;
  videoBitrateKbps: number;
  audioBitrateKbps: number;
  ffmpegPath: string;
  ffprobePath: string;
  probeTimeoutMs: number;
  restartMinMs: number;
  restartMaxMs: number;
  stopGraceMs: number;
  /** Start FFmpeg only when a viewer asks (demand()), stop it after `idleStopMs` without viewers. */
  onDemand?: boolean;
  idleStopMs?: number;
  /** How long demand() waits for the stream to go live. */
  demandTimeoutMs?: number;
  /**
   * FFmpeg is restarted when no video RTP arrived for this long: a network input whose publisher
   * left can keep FFmpeg waiting forever without an error (nginx-rtmp holds the connection open).
   */
  stallTimeoutMs?: number;
  /** Longest hold that puts both tracks on the media clock (TrackAligner); 0 forwards at once. */
  syncHoldMaxMs?: number;
  log: Logger;
}

/**
 * Video packets a stream keeps for NACKs and keyframe replays: 512 is about 1.7 s of the
 * benchmark's 2.5 Mbps video (306 video packets/s), several retransmission round trips and a
 * 1 s GOP, in 768 KB per stream whatever the viewer count.
 */
export const VIDEO_HISTORY_PACKETS = 512;

function emptyCounters(): IngestCounters {
  return { packets: 0, bytes: 0, junk: 0, rtcp: 0, senderReports: 0 };
}

/** RTP clock rates of what FFmpeg sends: H264 90 kHz, Opus 48 kHz (RFC 7587). */
export const VIDEO_CLOCK_RATE = 90000;
export const AUDIO_CLOCK_RATE = 48000;

/** A running stream. Emits `state` (StreamState), `exit` (FfmpegExit) per run, and `close` once. */
export class Stream extends EventEmitter {
  readonly id: string;
  readonly identity: StreamIdentity;
  readonly #opts: StreamOptions;
  readonly #log: Logger;
  readonly #backoff: RestartBackoff;
  /** Viewers in this process, fed here; external ones are fed by an outlet. */
  readonly #viewers = new Set<StreamViewer>();
  #outlets: readonly StreamOutlet[] = [];
  readonly #videoHistory = new PacketHistory(VIDEO_HISTORY_PACKETS);
  /** Viewers in this process, fed here; external ones are fed by an outlet. */
  readonly #local = new ViewerFanout({ history: this.#videoHistory });
  /** Both tracks' media clock of the current run, from FFmpeg's sender reports. */
  readonly #clock = new MediaClock(VIDEO_CLOCK_RATE, AUDIO_CLOCK_RATE);
  /**
   * Handed to every viewer's peer: NACKs are answered from the stream's one history, and sender
   * reports follow the stream's one media clock.
   */
  readonly media = { videoHistory: this.#videoHistory, clock: this.#clock };
  /** Between the ingest and the fan-out: both tracks leave on the media clock. */
  readonly #aligner: TrackAligner;
  #abort = new AbortController();
  #idleStopping = false;
  #idleTimer: NodeJS.Timeout | undefined;
  #state: StreamState;
  #lastError: string | undefined;
  #restarts = 0;
  #process: FfmpegProcess | undefined;
  #videoIngest: RtpIngest | undefined;
  #audioIngest: RtpIngest | undefined;
  readonly #videoCounters = emptyCounters();
  readonly #audioCounters = emptyCounters();
  #transcoding: boolean | undefined;
  #closed = false;
  #running: Promise<void> | undefined;
  #restartNow = false;
  #stallReason: string | undefined;
  #startedAt: number | undefined;
  #bitrate = { bps: 0, lastBytes: 0, lastAt: 0 };

  constructor(options: StreamOptions) {
    super();
    this.id = options.id;
    this.#opts = options;
    this.#log = options.log;
    this.#backoff = new RestartBackoff({ minMs: options.restartMinMs, maxMs: options.restartMaxMs });
    this.#aligner = new TrackAligner({
      clock: this.#clock,
      onVideo: this.#onVideo,
      onAudio: this.#onAudio,
      maxHoldMs: options.syncHoldMaxMs ?? 1000,
    });
    this.#state = options.onDemand ? 'idle' : 'starting';
    // One SSRC pair per stream for every viewer: each viewer has its own transport, so sharing
    // cannot collide, and it lets one rewritten buffer serve a whole payload-type group.
    this.identity = {
      videoSsrc: randomInt(1, 2 ** 32 - 1),
      audioSsrc: randomInt(1, 2 ** 32 - 1),
      cname: `whepd-${options.id}`,
      mediaStreamId: `whepd-${options.id}`,
    };
  }

  /** Starts the supervise loop (probe, bind, spawn, wait, tear down, back off). */
  start(): void {
    if (this.#running || this.#closed) return;
    this.#abort = new AbortController();
    this.#running = this.#superviseLoop();
  }

  /** True for streams that run only while someone watches. */
  get onDemand(): boolean {
    return this.#opts.onDemand === true;
  }

  /**
   * Makes sure the stream runs and resolves true once it is live, false after the demand
   * timeout. An on-demand stream that nobody joins stops again after its idle timeout.
   */
  async demand(): Promise<boolean> {
    if (this.#closed) return false;
    if (this.#idleStopping) await this.#running;
    if (this.#closed) return false;
    this.#clearIdleTimer();
    this.start();
    if (this.live) return true;
    const timeoutMs = this.#opts.demandTimeoutMs ?? 10000;
    const live = await new Promise<boolean>((resolve) => {
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
    this.#armIdleTimer();
    return live;
  }

  #clearIdleTimer(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /** On-demand only: stop after the idle timeout if nobody is watching by then. */
  #armIdleTimer(): void {
    if (!this.onDemand || this.#closed || this.#viewers.size > 0 || !this.#running) return;
    this.#clearIdleTimer();
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#viewers.size === 0) this.#stopIdle();
    }, this.#opts.idleStopMs ?? 10000);
    this.#idleTimer.unref();
  }

  #stopIdle(): void {
    if (!this.#running || this.#idleStopping || this.#closed) return;
    this.#idleStopping = true;
    this.#log.info('no viewers: stopping the on-demand stream');
    this.#abort.abort();
    this.#process?.stop(this.#opts.stopGraceMs);
  }

  /** True when media is flowing and a keyframe was seen in this run. */
  get live(): boolean {
    return this.#state === 'live';
  }

  /** Current state. */
  get state(): StreamState {
    return this.#state;
  }

  /** The reason of the last failure, if any. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** True once close() ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Number of attached viewers. */
  get viewerCount(): number {
    return this.#viewers.size;
  }

  /** Snapshot for status pages. */
  status(): StreamStatus {
    const sum = (done: IngestCounters, live: RtpIngest | undefined) => ({
      packets: done.packets + (live?.counters.packets ?? 0),
      bytes: done.bytes + (live?.counters.bytes ?? 0),
      junk: done.junk + (live?.counters.junk ?? 0),
    });
    return {
      id: this.id,
      state: this.#state,
      viewers: this.#viewers.size,
      lastError: this.#lastError,
      restarts: this.#restarts,
      pid: this.#process?.pid,
      transcoding: this.#transcoding,
      video: sum(this.#videoCounters, this.#videoIngest),
      audio: sum(this.#audioCounters, this.#audioIngest),
      ...this.#delivery(),
      inputBitrateBps: this.#inputBitrate(),
      uptimeMs: this.#startedAt === undefined ? 0 : Date.now() - this.#startedAt,
    };
  }

  /** What was handed to viewers here and through the outlets. */
  #delivery(): Pick<StreamStatus, 'out' | 'retransmits'> {
    const out = { ...this.#local.out };
    const retransmits = { sent: this.#videoHistory.counters.hits, missing: this.#videoHistory.counters.misses };
    for (const o of this.#outlets) {
      out.videoPackets += o.out.videoPackets;
      out.videoBytes += o.out.videoBytes;
      out.audioPackets += o.out.audioPackets;
      out.audioBytes += o.out.audioBytes;
      retransmits.sent += o.retransmits.sent;
      retransmits.missing += o.retransmits.missing;
    }
    return { out, retransmits };
  }

  /**
   * Adds a consumer of every packet (after the SSRC rewrite), e.g. the link to shard processes
   * whose viewers are attached as external. Returns a remove function.
   */
  addOutlet(outlet: StreamOutlet): () => void {
    this.#outlets = [...this.#outlets, outlet];
    return () => {
      this.#outlets = this.#outlets.filter((o) => o !== outlet);
    };
  }

  /** Input bitrate (both ingests) over the time since the previous call, at least 1 s apart. */
  #inputBitrate(): number {
    const bytes = (this.#videoIngest?.counters.bytes ?? 0) + (this.#audioIngest?.counters.bytes ?? 0) + this.#videoCounters.bytes + this.#audioCounters.bytes;
    const now = Date.now();
    const b = this.#bitrate;
    if (now - b.lastAt >= 1000) {
      if (b.lastAt > 0) b.bps = Math.round(((bytes - b.lastBytes) * 8 * 1000) / (now - b.lastAt));
      b.lastBytes = bytes;
      b.lastAt = now;
    }
    return this.#state === 'live' ? b.bps : 0;
  }

  /** The UDP ports FFmpeg sends to in the current run (undefined between runs). */
  get ingestPorts(): { video: number; audio: number } | undefined {
    if (!this.#videoIngest || !this.#audioIngest) return undefined;
    return { video: this.#videoIngest.port, audio: this.#audioIngest.port };
  }

  /** PID of the current FFmpeg, if one runs. */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /**
   * Attaches a viewer: audio flows at once, video from the next keyframe (its SPS packet). An
   * external viewer is only counted and ended here; an outlet feeds it. Returns a detach
   * function (idempotent).
   */
  attach(viewer: StreamViewer): () => void {
    if (this.#closed) throw new Error(`stream ${this.id} is closed`);
    this.#clearIdleTimer();
    this.#viewers.add(viewer);
    if (!viewer.external) this.#local.add(viewer);
    return () => this.#detach(viewer);
  }

  #detach(viewer: StreamViewer): void {
    if (!this.#viewers.delete(viewer)) return;
    this.#local.delete(viewer);
    if (this.#viewers.size === 0) this.#armIdleTimer();
  }

  // Hot path: one call per video packet.
  #onVideo = (packet: Buffer): void => {
    setSsrc(packet, this.identity.videoSsrc);
    const sps = keyframePart(packet) === 'sps';
    if (sps && this.#state === 'starting') this.#setState('live');
    // Outlets first: they hand the packet to other processes, which then fan out in parallel.
    const outlets = this.#outlets;
    for (let i = 0; i < outlets.length; i++) (outlets[i] as StreamOutlet).video(packet, sps);
    // Always kept: the history serves NACKs and the keyframe replay of the next viewer.
    this.#videoHistory.put(packet);
    this.#local.video(packet, sps);
  };

  // Hot path: one call per audio packet.
  #onAudio = (packet: Buffer): void => {
    setSsrc(packet, this.identity.audioSsrc);
    const outlets = this.#outlets;
    for (let i = 0; i < outlets.length; i++) (outlets[i] as StreamOutlet).audio(packet);
    this.#local.audio(packet);
  };

  // FFmpeg's SRs: a few per run (one before the first packet, then every 5 s).
  #onVideoReport = (report: SenderReport): void => {
    this.#clock.setVideo(report);
    for (const o of this.#outlets) o.clock('video', report);
  };

  #onAudioReport = (report: SenderReport): void => {
    this.#clock.setAudio(report);
    for (const o of this.#outlets) o.clock('audio', report);
  };

  #setState(state: StreamState): void {
    if (this.#state === state || this.#state === 'closed') return;
    this.#state = state;
    this.emit('state', state);
  }

  async #probe(): Promise<{ probe: ProbeResult; transcode: boolean }> {
    const o = this.#opts;
    const probe = await probeInput(o.ffprobePath, o.input, o.inputArgs, o.probeTimeoutMs, this.#abort.signal);
    if (!probe.video) throw new Error(`input ${o.input} has no video stream (whepd needs one video and one audio stream)`);
    if (!probe.audio) throw new Error(`input ${o.input} has no audio stream (whepd needs one video and one audio stream)`);
    let transcode: boolean;
    if (o.video === 'transcode') transcode = true;
    else if (o.video === 'copy') {
      if (probe.video.codec !== 'h264') throw new Error(`stream is set to copy video but the input's video is ${probe.video.codec}, not H264`);
      transcode = false;
    } else transcode = !isWebRtcSafeH264(probe.video);
    if (!transcode && o.loop && !(await probeInBandSps(o.ffprobePath, o.input, o.inputArgs, o.probeTimeoutMs, this.#abort.signal))) {
      // See videoCodecArgs: a looping copy cannot add SPS/PPS, so re-encode (or refuse a forced copy).
      if (o.video === 'copy') throw new Error(`stream is set to copy video, but ${o.input} loops and keeps its SPS/PPS out of band; use "video": "auto"`);
      transcode = true;
    }
    return { probe, transcode };
  }

  /** One run: probe, bind, spawn, wait for exit. Returns how the run ended. */
  async #runOnce(): Promise<FfmpegExit> {
    const started = Date.now();
    const { probe, transcode } = await this.#probe();
    this.#transcoding = transcode;
    const aligner = this.#aligner;
    this.#videoIngest = await RtpIngest.open({ payloadType: VIDEO_PT, onPacket: (p) => aligner.video(p), onSenderReport: this.#onVideoReport });
    this.#audioIngest = await RtpIngest.open({ payloadType: AUDIO_PT, onPacket: (p) => aligner.audio(p), onSenderReport: this.#onAudioReport });
    if (this.#closed || this.#idleStopping) {
      this.#teardownRun('stream closed');
      return { code: null, signal: null, reason: 'stopped by whepd', stderrTail: [], uptimeMs: Date.now() - started };
    }
    const o = this.#opts;
    const args = buildFfmpegArgs({
      input: o.input,
      inputArgs: o.inputArgs,
      loop: o.loop,
      realtime: o.isFile,
      transcodeVideo: transcode,
      keyframeIntervalS: o.keyframeIntervalS,
      videoBitrateKbps: o.videoBitrateKbps,
      audioBitrateKbps: o.audioBitrateKbps,
      ...(probe.video?.frameRate ? { frameRate: probe.video.frameRate } : {}),
      videoPort: this.#videoIngest.port,
      audioPort: this.#audioIngest.port,
      videoSender: this.#videoIngest.sender,
      audioSender: this.#audioIngest.sender,
      // One origin for both outputs' sender reports; a fresh one per run (new timestamp bases).
      startTimeRealtimeUs: Date.now() * 1000,
    });
    const proc = FfmpegProcess.spawn({ ffmpegPath: o.ffmpegPath, args });
    this.#process = proc;
    this.#startedAt = Date.now();
    this.#watchStall(proc);
    this.#log.info({ pid: proc.pid, transcode, video: probe.video, audio: probe.audio, ports: this.ingestPorts }, 'ffmpeg started');
    return proc.exited;
  }

  /**
   * Restarts a run whose video stopped arriving. Reads the ingest counter once a second, so the
   * packet path pays nothing for it.
   */
  #watchStall(proc: FfmpegProcess): void {
    const limit = this.#opts.stallTimeoutMs ?? 10000;
    if (limit <= 0) return;
    // Before its first packet FFmpeg may still be analysing a live input (5 s by default for
    // MPEG-TS), so the first wait is longer.
    const firstPacketLimit = Math.max(limit, 20000);
    let last = 0;
    let quietSince = Date.now();
    const timer = setInterval(() => {
      const packets = this.#videoIngest?.counters.packets ?? 0;
      if (packets !== last) {
        last = packets;
        quietSince = Date.now();
        return;
      }
      if (Date.now() - quietSince < (last === 0 ? firstPacketLimit : limit)) return;
      clearInterval(timer);
      this.#stallReason = `no video from ffmpeg for ${Math.round(limit / 1000)} s (the input stalled)`;
      proc.stop(this.#opts.stopGraceMs);
    }, 1000);
    timer.unref();
    void proc.exited.then(() => clearInterval(timer));
  }

  /** Closes every viewer, then the sockets: no packet can reach a closed track after this. */
  #teardownRun(reason: string): void {
    // Held packets belong to the run that ended; none may reach the next run's viewers.
    this.#aligner.reset();
    const viewers = [...this.#viewers];
    this.#viewers.clear();
    this.#local.clear();
    this.#videoHistory.clear();
    // The next run has new RTP timestamp bases: never report its packets on this run's clock.
    this.#clock.reset();
    for (const o of this.#outlets) o.reset();
    for (const v of viewers) v.streamEnded(reason);
    this.emit('viewersEnded', viewers.length);
    for (const [ingest, into] of [[this.#videoIngest, this.#videoCounters], [this.#audioIngest, this.#audioCounters]] as const) {
      if (!ingest) continue;
      into.packets += ingest.counters.packets;
      into.bytes += ingest.counters.bytes;
      into.junk += ingest.counters.junk;
      into.rtcp += ingest.counters.rtcp;
      into.senderReports += ingest.counters.senderReports;
      ingest.close();
    }
    this.#videoIngest = undefined;
    this.#audioIngest = undefined;
    this.emit('ingestReleased');
  }

  async #superviseLoop(): Promise<void> {
    while (!this.#closed && !this.#idleStopping) {
      this.#setState('starting');
      let exit: FfmpegExit;
      try {
        exit = await this.#runOnce();
      } catch (err) {
        exit = { code: null, signal: null, reason: (err as Error).message, stderrTail: [], uptimeMs: 0 };
      }
      this.#process = undefined;
      this.#startedAt = undefined;
      if (this.#stallReason) {
        exit = { ...exit, reason: this.#stallReason };
        this.#stallReason = undefined;
      }
      if (this.#closed || this.#idleStopping) break;
      this.#lastError = exit.reason;
      this.#log.warn({ code: exit.code, signal: exit.signal, uptimeMs: exit.uptimeMs, stderr: exit.stderrTail }, `stream ${this.id} stopped: ${exit.reason}`);
      this.emit('exit', exit);
      this.#teardownRun(`ffmpeg exited: ${exit.reason}`);
      this.#setState('failed');
      const delay = this.#restartNow ? 0 : this.#backoff.next(exit.uptimeMs);
      this.#restartNow = false;
      this.#restarts++;
      try {
        await sleep(delay, undefined, { signal: this.#abort.signal });
      } catch {
        break;
      }
    }
    if (this.#idleStopping && !this.#closed) {
      this.#teardownRun('on-demand stream stopped: no viewers');
      this.#setState('idle');
    }
    this.#idleStopping = false;
    this.#running = undefined;
  }

  /** Restarts FFmpeg now (viewers are torn down as on any exit), skipping the backoff once. */
  restart(): void {
    if (this.#closed || !this.#process) return;
    this.#restartNow = true;
    this.#process.stop(this.#opts.stopGraceMs);
  }

  /**
   * Stops the stream: viewers are told first, then FFmpeg gets SIGTERM (SIGKILL after the grace),
   * then the sockets close. Idempotent. Await `stopped()` to know FFmpeg is gone.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearIdleTimer();
    this.#abort.abort();
    this.#process?.stop(this.#opts.stopGraceMs);
    this.#teardownRun('stream closed');
    this.#state = 'closed';
    this.emit('state', 'closed');
    this.emit('close');
  }

  /** Resolves once the supervise loop ended and FFmpeg (if any) exited. */
  async stopped(): Promise<void> {
    const proc = this.#process;
    if (proc) await proc.exited;
    await this.#running;
  }
}
