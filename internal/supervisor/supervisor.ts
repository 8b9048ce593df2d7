/**
 * Runs one stream's source, the way MediaMTX's path runs its source apart from the readers:
 * probe -> bind the ingest sockets -> spawn FFmpeg -> watch for a stall -> on exit let the hub end
 * its viewers, release the sockets, back off, and again. On-demand streams start when asked and
 * stop when the hub reports no viewers for the idle timeout.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { AUDIO_PT, VIDEO_PT, FfmpegProcess, RestartBackoff, buildFfmpegArgs } from '../ffmpeg/index.js';
import type { FfmpegExit } from '../ffmpeg/index.js';
import { RtpIngest } from '../rtp/index.js';
import type { ClockPoint, IngestCounters } from '../rtp/index.js';
import type { RunStatus, StreamEndReason } from '../stream/index.js';
import { planVideo } from './video-plan.js';

/** What the supervisor feeds and tells: a stream hub. */
export interface RunSink {
  /** Hot path: one packet from the video / audio ingest. */
  readonly video: (packet: Buffer) => void;
  readonly audio: (packet: Buffer) => void;
  senderReport(kind: 'video' | 'audio', point: ClockPoint): void;
  runStarting(): void;
  /** Ends the run's viewers; the supervisor releases the sockets only after it returns. */
  runEnded(reason: StreamEndReason): void;
  waitLive(timeoutMs: number): Promise<boolean>;
}

/** Everything a supervisor needs; `app` derives it from the config. */
export interface FfmpegSupervisorOptions {
  id: string;
  input: string;
  inputArgs: readonly string[];
  loop: boolean;
  /** True for file inputs: read with -re so they play like live. */
  isFile: boolean;
  video: 'auto' | 'copy' | 'transcode';
  /** The codec this supervisor's FFmpeg sends: H264 (copied or encoded) or VP8 (always encoded). */
  videoCodec?: 'h264' | 'vp8';
  keyframeIntervalS: number;
  videoBitrateKbps: number;
  audioBitrateKbps: number;
  ffmpegPath: string;
  ffprobePath: string;
  probeTimeoutMs: number;
  restartMinMs: number;
  restartMaxMs: number;
  stopGraceMs: number;
  /** Start FFmpeg only when asked (demand()), stop it after `idleStopMs` without viewers. */
  onDemand?: boolean;
  idleStopMs?: number;
  /** How long demand() waits for the stream to go live. */
  demandTimeoutMs?: number;
  /**
   * FFmpeg is restarted when no video RTP arrived for this long: a network input whose publisher
   * left can keep FFmpeg waiting forever without an error (nginx-rtmp holds the connection open).
   */
  stallTimeoutMs?: number;
  sink: RunSink;
  log: Logger;
}

// Once a second: the stall check and the bitrate sample read the ingest counters, so the packet
// path pays nothing for either.
const MONITOR_INTERVAL_MS = 1000;

function emptyCounters(): IngestCounters {
  return { packets: 0, bytes: 0, junk: 0, rtcp: 0, senderReports: 0, gapsOver50ms: 0, gapsOver100ms: 0, gapsOver250ms: 0 };
}

/** One stream's FFmpeg supervisor. Emits `ingestReleased` after each run's sockets closed. */
export class FfmpegSupervisor extends EventEmitter {
  readonly #o: FfmpegSupervisorOptions;
  readonly #log: Logger;
  readonly #backoff: RestartBackoff;
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #process: FfmpegProcess | undefined;
  #videoIngest: RtpIngest | undefined;
  #audioIngest: RtpIngest | undefined;
  /** Counters of the runs that ended (a run's ingest sockets go with it). */
  readonly #videoDone = emptyCounters();
  readonly #audioDone = emptyCounters();
  #transcoding: boolean | undefined;
  #restarts = 0;
  #restartNow = false;
  #stallReason: string | undefined;
  #startedAt: number | undefined;
  #bitrateBps = 0;
  #viewers = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #idleStopping = false;
  #closed = false;
  /** Between runStarting() and the run's end: the hub has a run to end. */
  #runActive = false;

  constructor(o: FfmpegSupervisorOptions) {
    super();
    this.#o = o;
    this.#log = o.log;
    this.#backoff = new RestartBackoff({ minMs: o.restartMinMs, maxMs: o.restartMaxMs });
  }

  /** True for streams that run only while someone watches. */
  get onDemand(): boolean {
    return this.#o.onDemand === true;
  }

  /** PID of the current FFmpeg, if one runs. */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** The UDP ports FFmpeg sends to in the current run (undefined between runs). */
  get ingestPorts(): { video: number; audio: number } | undefined {
    if (!this.#videoIngest || !this.#audioIngest) return undefined;
    return { video: this.#videoIngest.port, audio: this.#audioIngest.port };
  }

  /** Read-only snapshot: reading it changes nothing (the bitrate is sampled once a second). */
  status(): RunStatus {
    const sum = (done: IngestCounters, live: RtpIngest | undefined) => ({
      packets: done.packets + (live?.counters.packets ?? 0),
      bytes: done.bytes + (live?.counters.bytes ?? 0),
      junk: done.junk + (live?.counters.junk ?? 0),
      gapsOver50ms: done.gapsOver50ms + (live?.counters.gapsOver50ms ?? 0),
      gapsOver100ms: done.gapsOver100ms + (live?.counters.gapsOver100ms ?? 0),
      gapsOver250ms: done.gapsOver250ms + (live?.counters.gapsOver250ms ?? 0),
    });
    return {
      restarts: this.#restarts,
      pid: this.#process?.pid,
      transcoding: this.#transcoding,
      video: sum(this.#videoDone, this.#videoIngest),
      audio: sum(this.#audioDone, this.#audioIngest),
      inputBitrateBps: this.#startedAt === undefined ? 0 : this.#bitrateBps,
      uptimeMs: this.#startedAt === undefined ? 0 : Date.now() - this.#startedAt,
    };
  }

  /** Starts the supervise loop (probe, bind, spawn, wait, tear down, back off). */
  start(): void {
    if (this.#running || this.#closed) return;
    this.#abort = new AbortController();
    this.#running = this.#superviseLoop();
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
    const live = await this.#o.sink.waitLive(this.#o.demandTimeoutMs ?? 10000);
    this.#armIdleTimer();
    return live;
  }

  /** The hub's viewer count changed: an on-demand stream arms its idle stop at 0. */
  viewersChanged(count: number): void {
    this.#viewers = count;
    if (count > 0) this.#clearIdleTimer();
    else this.#armIdleTimer();
  }

  #clearIdleTimer(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #armIdleTimer(): void {
    if (!this.onDemand || this.#closed || this.#viewers > 0 || !this.#running) return;
    this.#clearIdleTimer();
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#viewers === 0) this.#stopIdle();
    }, this.#o.idleStopMs ?? 10000);
    this.#idleTimer.unref();
  }

  #stopIdle(): void {
    if (!this.#running || this.#idleStopping || this.#closed) return;
    this.#idleStopping = true;
    this.#log.info('no viewers: stopping the on-demand stream');
    this.#abort.abort();
    this.#process?.stop(this.#o.stopGraceMs);
  }

  /** Restarts FFmpeg now (viewers are ended as on any exit), skipping the backoff once. */
  restart(): void {
    if (this.#closed || !this.#process) return;
    this.#restartNow = true;
    this.#process.stop(this.#o.stopGraceMs);
  }

  /** One run: probe, bind, spawn. Resolves with how the run ended. */
  async #runOnce(): Promise<FfmpegExit> {
    const started = Date.now();
    const o = this.#o;
    const { probe, transcode } = await planVideo(o, this.#abort.signal);
    const planned = Date.now();
    this.#transcoding = transcode;
    const sink = o.sink;
    this.#videoIngest = await RtpIngest.open({ payloadType: VIDEO_PT, onPacket: sink.video, onSenderReport: (r) => sink.senderReport('video', r) });
    this.#audioIngest = await RtpIngest.open({ payloadType: AUDIO_PT, onPacket: sink.audio, onSenderReport: (r) => sink.senderReport('audio', r) });
    const bound = Date.now();
    if (this.#closed || this.#idleStopping) return { code: null, signal: null, reason: 'stopped by whepd', stderrTail: [], uptimeMs: Date.now() - started };
    const args = buildFfmpegArgs({
      input: o.input,
      inputArgs: o.inputArgs,
      loop: o.loop,
      realtime: o.isFile,
      transcodeVideo: transcode,
      ...(o.videoCodec === 'vp8' ? { videoCodec: 'vp8' as const } : {}),
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
    this.#monitor(proc);
    // Where the run's start went (ms): the input probes, binding the ingest sockets, the spawn. A
    // start once took 12.7 s between "whepd listening" and this line on a quiet box, cause unknown.
    const startMs = { probe: planned - started, bind: bound - planned, spawn: this.#startedAt - bound };
    this.#log.info({ pid: proc.pid, transcode, videoCodec: o.videoCodec ?? 'h264', video: probe.video, audio: probe.audio, ports: this.ingestPorts, startMs }, 'ffmpeg started');
    return proc.exited;
  }

  /** Once a second: samples the input bitrate, and stops a run whose video stopped arriving. */
  #monitor(proc: FfmpegProcess): void {
    const limit = this.#o.stallTimeoutMs ?? 10000;
    // Before its first packet FFmpeg may still be analysing a live input (5 s by default for
    // MPEG-TS), so the first wait is longer.
    const firstPacketLimit = Math.max(limit, 20000);
    let lastPackets = 0;
    let quietSince = Date.now();
    let lastBytes = 0;
    let lastAt = Date.now();
    this.#bitrateBps = 0;
    const timer = setInterval(() => {
      const v = this.#videoIngest?.counters;
      const a = this.#audioIngest?.counters;
      const bytes = (v?.bytes ?? 0) + (a?.bytes ?? 0);
      const now = Date.now();
      this.#bitrateBps = Math.round(((bytes - lastBytes) * 8 * 1000) / Math.max(1, now - lastAt));
      lastBytes = bytes;
      lastAt = now;
      if (limit <= 0) return;
      const packets = v?.packets ?? 0;
      if (packets !== lastPackets) {
        lastPackets = packets;
        quietSince = now;
        return;
      }
      if (now - quietSince < (lastPackets === 0 ? firstPacketLimit : limit)) return;
      clearInterval(timer);
      this.#stallReason = `no video from ffmpeg for ${Math.round(limit / 1000)} s (the input stalled)`;
      proc.stop(this.#o.stopGraceMs);
    }, MONITOR_INTERVAL_MS);
    timer.unref();
    void proc.exited.then(() => clearInterval(timer));
  }

  /** The hub ends the run's viewers first; then the sockets go, so no packet reaches a closed track. */
  #endRun(reason: StreamEndReason): void {
    // Once per run: close() and the loop's end both come here, and a second runEnded would, with
    // shards, send every shard another reset for nothing. An idle stop always tells the hub (it
    // may come during the backoff after a failed run, and the hub then goes from failed to idle).
    if (this.#runActive || reason.kind === 'idle') this.#o.sink.runEnded(reason);
    this.#runActive = false;
    for (const [ingest, into] of [[this.#videoIngest, this.#videoDone], [this.#audioIngest, this.#audioDone]] as const) {
      if (!ingest) continue;
      for (const k of ['packets', 'bytes', 'junk', 'rtcp', 'senderReports', 'gapsOver50ms', 'gapsOver100ms', 'gapsOver250ms'] as const) into[k] += ingest.counters[k];
      ingest.close();
    }
    const released = this.#videoIngest !== undefined || this.#audioIngest !== undefined;
    this.#videoIngest = undefined;
    this.#audioIngest = undefined;
    if (released) this.emit('ingestReleased');
  }

  async #superviseLoop(): Promise<void> {
    while (!this.#closed && !this.#idleStopping) {
      this.#o.sink.runStarting();
      this.#runActive = true;
      let exit: FfmpegExit;
      try {
        exit = await this.#runOnce();
      } catch (err) {
        exit = { code: null, signal: null, reason: (err as Error).message, stderrTail: [], uptimeMs: 0 };
      }
      this.#process = undefined;
      this.#startedAt = undefined;
      const stalled = this.#stallReason;
      this.#stallReason = undefined;
      if (this.#closed || this.#idleStopping) break;
      const reason = stalled ?? exit.reason;
      this.#log.warn({ code: exit.code, signal: exit.signal, uptimeMs: exit.uptimeMs, stderr: exit.stderrTail }, `stream ${this.#o.id} stopped: ${reason}`);
      this.#endRun({ kind: stalled ? 'stalled' : 'ffmpeg-exited', message: reason });
      const delay = this.#restartNow ? 0 : this.#backoff.next(exit.uptimeMs);
      this.#restartNow = false;
      this.#restarts++;
      try {
        await sleep(delay, undefined, { signal: this.#abort.signal });
      } catch {
        break;
      }
    }
    if (this.#idleStopping && !this.#closed) this.#endRun({ kind: 'idle', message: 'on-demand stream stopped: no viewers' });
    if (this.#closed) this.#endRun({ kind: 'shutdown', message: 'stream closed' });
    this.#idleStopping = false;
    this.#running = undefined;
  }

  /**
   * Stops FFmpeg (SIGTERM, SIGKILL after the grace), releases the sockets at once (nothing of this
   * stream may flow on, e.g. into a reloaded stream's delivery) and ends the loop. Idempotent;
   * await `stopped()` to know FFmpeg is gone.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearIdleTimer();
    this.#abort.abort();
    this.#process?.stop(this.#o.stopGraceMs);
    this.#endRun({ kind: 'shutdown', message: 'stream closed' });
  }

  /** Resolves once the supervise loop ended and FFmpeg (if any) exited. */
  async stopped(): Promise<void> {
    const proc = this.#process;
    if (proc) await proc.exited;
    await this.#running;
  }
}
