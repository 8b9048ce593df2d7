/**
 * Prometheus metrics (prom-client). Packet and byte counts are read from the streams' own
 * counters at scrape time, so the RTP hot path never touches a metric; session and POST events
 * are recorded as they happen.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StreamStatus } from '../stream/index.js';

/** What the metrics read at scrape time. */
export interface MetricsSources {
  streams(): Iterable<StreamStatus>;
  /** Viewers held by each shard process and shard restarts, when webrtc.shards > 0. */
  shards?(): { viewers: readonly number[]; restarts: number };
  /** True while draining (no new sessions); absent: the gauge is not exported. */
  draining?(): boolean;
  /** Every viewer's reception from its RTCP (a WHEP Session fits), read at scrape time. */
  viewers?(): Iterable<ObservedViewer>;
}

/** A viewer as the reception histograms see it. */
export interface ObservedViewer {
  readonly streamId: string;
  readonly quality: { video?: { fractionLost: number; jitterMs: number }; rttMs?: number } | undefined;
}

/** A session as the metrics see it (a WHEP Session fits). */
export interface ObservedSession {
  readonly streamId: string;
  readonly createdAt: number;
  once(event: 'close', listener: (reason: string) => void): unknown;
  once(event: 'videoStarted', listener: (ms: number) => void): unknown;
}

/** All whepd metrics in one registry. */
export class Metrics {
  readonly registry = new Registry();
  readonly #posts: Counter<'stream' | 'status'>;
  readonly #patches: Counter<'stream' | 'status'>;
  readonly #deletes: Counter<'stream' | 'status'>;
  readonly #postSeconds: Histogram<'stream'>;
  readonly #sessionSeconds: Histogram<'stream'>;
  readonly #firstKeyframe: Histogram<'stream'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'whepd_process_', eventLoopMonitoringPrecision: 10 });
    this.#posts = new Counter({ name: 'whepd_whep_posts_total', help: 'WHEP POSTs by outcome status (201 = session created).', labelNames: ['stream', 'status'], registers });
    this.#patches = new Counter({ name: 'whepd_whep_patches_total', help: 'WHEP trickle PATCHes by outcome status (204 = candidates taken).', labelNames: ['stream', 'status'], registers });
    this.#deletes = new Counter({ name: 'whepd_whep_deletes_total', help: 'WHEP DELETEs by outcome status (200 = session ended, 204 = none to end).', labelNames: ['stream', 'status'], registers });
    this.#postSeconds = new Histogram({
      name: 'whepd_whep_post_seconds',
      help: 'Time from POST to the answer (includes ICE gathering).',
      labelNames: ['stream'],
      buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.#sessionSeconds = new Histogram({
      name: 'whepd_session_duration_seconds',
      help: 'How long sessions lasted.',
      labelNames: ['stream'],
      buckets: [1, 10, 60, 300, 900, 3600, 14400],
      registers,
    });
    this.#firstKeyframe = new Histogram({
      name: 'whepd_first_keyframe_seconds',
      help: 'Time from POST to the first keyframe packet sent to the viewer.',
      labelNames: ['stream'],
      buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 5, 10],
      registers,
    });

    const gauge = (name: string, help: string, labelNames: string[], read: (g: Gauge<string>) => void) =>
      new Gauge({ name, help, labelNames, registers, collect() { this.reset(); read(this); } });
    // Counters read from monotonic sources: reset and re-add the current total at each scrape.
    const counter = (name: string, help: string, labelNames: string[], read: (c: Counter<string>) => void) =>
      new Counter({ name, help, labelNames, registers, collect() { this.reset(); read(this); } });

    gauge('whepd_viewers', 'Viewers attached to a stream.', ['stream'], (g) => {
      for (const s of sources.streams()) g.set({ stream: s.id }, s.viewers);
    });
    gauge('whepd_viewers_total', 'Viewers attached in total.', [], (g) => {
      let n = 0;
      for (const s of sources.streams()) n += s.viewers;
      g.set(n);
    });
    gauge('whepd_stream_up', '1 when the stream is live (FFmpeg producing, keyframe seen).', ['stream'], (g) => {
      for (const s of sources.streams()) g.set({ stream: s.id }, s.state === 'live' ? 1 : 0);
    });
    gauge('whepd_stream_input_bitrate_bps', 'Bits per second arriving from FFmpeg.', ['stream'], (g) => {
      for (const s of sources.streams()) g.set({ stream: s.id }, s.inputBitrateBps);
    });
    counter('whepd_ffmpeg_restarts_total', 'FFmpeg restarts.', ['stream'], (c) => {
      for (const s of sources.streams()) c.inc({ stream: s.id }, s.restarts);
    });
    // One counter per figure, labelled by stream and media kind.
    const perKind = (name: string, help: string, pick: (s: StreamStatus) => [number, number]) =>
      counter(name, help, ['stream', 'kind'], (c) => {
        for (const s of sources.streams()) {
          const [video, audio] = pick(s);
          c.inc({ stream: s.id, kind: 'video' }, video);
          c.inc({ stream: s.id, kind: 'audio' }, audio);
        }
      });
    if (sources.shards) {
      const shards = sources.shards.bind(sources);
      gauge('whepd_shard_viewers', 'Viewer peers held by each shard process.', ['shard'], (g) => {
        shards().viewers.forEach((n, i) => g.set({ shard: String(i) }, n));
      });
      counter('whepd_shard_restarts_total', 'Shard processes that exited and were replaced.', [], (c) => c.inc(shards().restarts));
    }
    if (sources.viewers) this.#receptionHistograms(sources.viewers.bind(sources), registers);
    if (sources.draining) {
      const draining = sources.draining.bind(sources);
      gauge('whepd_draining', '1 while draining (POST /api/drain or SIGTERM): new POSTs get 503, the agent says drain.', [], (g) => g.set(draining() ? 1 : 0));
    }
    perKind('whepd_rtp_in_packets_total', 'RTP packets received from FFmpeg.', (s) => [s.video.packets, s.audio.packets]);
    perKind('whepd_rtp_in_bytes_total', 'RTP bytes received from FFmpeg.', (s) => [s.video.bytes, s.audio.bytes]);
    perKind('whepd_rtp_junk_packets_total', 'Datagrams dropped on the ingest ports (not valid RTP of the expected type).', (s) => [s.video.junk, s.audio.junk]);
    perKind('whepd_rtp_out_packets_total', 'RTP packets handed to viewers (summed over viewers).', (s) => [s.out.videoPackets, s.out.audioPackets]);
    counter('whepd_rtp_retransmissions_total', 'NACKed video packets: resent from the stream history (sent) or no longer held (missing).', ['stream', 'result'], (c) => {
      for (const s of sources.streams()) {
        c.inc({ stream: s.id, result: 'sent' }, s.retransmits.sent);
        c.inc({ stream: s.id, result: 'missing' }, s.retransmits.missing);
      }
    });
    perKind('whepd_rtp_out_bytes_total', 'RTP bytes handed to viewers (summed over viewers).', (s) => [s.out.videoBytes, s.out.audioBytes]);
    // Gap counters at two points of each track: over 50, 100 and 250 ms after the packet before.
    const gaps = (name: string, help: string, pick: (s: StreamStatus, kind: 'video' | 'audio') => [number, number, number]) =>
      counter(name, help, ['stream', 'kind', 'over'], (c) => {
        for (const s of sources.streams()) {
          for (const kind of ['video', 'audio'] as const) {
            const [over50, over100, over250] = pick(s, kind);
            c.inc({ stream: s.id, kind, over: '0.05' }, over50);
            c.inc({ stream: s.id, kind, over: '0.1' }, over100);
            c.inc({ stream: s.id, kind, over: '0.25' }, over250);
          }
        }
      });
    gaps(
      'whepd_rtp_in_gaps_total',
      "Packets of a track that came from FFmpeg more than `over` seconds after the one before: holes made by FFmpeg or its input (an MPEG-TS input's audio comes in bursts).",
      (s, kind) => [s[kind].gapsOver50ms, s[kind].gapsOver100ms, s[kind].gapsOver250ms],
    );
    gaps(
      'whepd_rtp_out_gaps_total',
      'Packets of a track handed to its viewers more than `over` seconds after the one before (while it had viewers); more than whepd_rtp_in_gaps_total is a hole made inside whepd (the aligner, a blocked event loop, a shard).',
      (s, kind) => (kind === 'video' ? [s.out.videoGapsOver50ms, s.out.videoGapsOver100ms, s.out.videoGapsOver250ms] : [s.out.audioGapsOver50ms, s.out.audioGapsOver100ms, s.out.audioGapsOver250ms]),
    );
  }

  /**
   * Histograms over the current viewers, rebuilt at each scrape from their last receiver
   * reports: how many viewers see what RTT, loss and jitter, by stream, never by session.
   */
  #receptionHistograms(viewers: () => Iterable<ObservedViewer>, registers: Registry[]): void {
    const histogram = (name: string, help: string, buckets: number[], pick: (v: ObservedViewer) => number | undefined) =>
      new Histogram({
        name,
        help,
        labelNames: ['stream'],
        buckets,
        registers,
        collect() {
          this.reset();
          for (const v of viewers()) {
            const x = pick(v);
            if (x !== undefined) this.observe({ stream: v.streamId }, x);
          }
        },
      });
    histogram('whepd_viewer_rtt_seconds', 'Viewers by round-trip time (their RTCP LSR/DLSR against whepd\'s sender reports), at scrape time.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6], (v) => (v.quality?.rttMs !== undefined ? v.quality.rttMs / 1000 : undefined));
    histogram('whepd_viewer_video_fraction_lost', 'Viewers by the video fraction lost in their last receiver report (0..1), at scrape time.', [0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5], (v) => v.quality?.video?.fractionLost);
    histogram('whepd_viewer_video_jitter_seconds', 'Viewers by the video interarrival jitter in their last receiver report, at scrape time.', [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25], (v) => (v.quality?.video ? v.quality.video.jitterMs / 1000 : undefined));
  }

  /** Records one POST outcome. */
  answered(method: 'POST' | 'PATCH' | 'DELETE', streamId: string, status: number, ms: number): void {
    const labels = { stream: streamId, status: String(status) };
    if (method === 'PATCH') return void this.#patches.inc(labels);
    if (method === 'DELETE') return void this.#deletes.inc(labels);
    this.#posts.inc(labels);
    if (status === 201) this.#postSeconds.observe({ stream: streamId }, ms / 1000);
  }

  /** Follows a new session: its first keyframe delay and its duration. */
  sessionStarted(session: ObservedSession): void {
    session.once('videoStarted', (ms) => this.#firstKeyframe.observe({ stream: session.streamId }, ms / 1000));
    session.once('close', () => this.#sessionSeconds.observe({ stream: session.streamId }, (Date.now() - session.createdAt) / 1000));
  }

  /** The exposition text. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content-Type of render(). */
  get contentType(): string {
    return this.registry.contentType;
  }
}
