/**
 * Delivery to the viewers whose peers live in this process: the stream's video history (NACKs
 * and keyframe replays), its media clock (sender reports) and the keyframe-gated fan-out. The
 * main process uses one per stream without shards; each shard process uses one per stream it
 * serves.
 */
import { MediaClock, PacketHistory } from '../rtp/index.js';
import type { ClockPoint } from '../rtp/index.js';
import { ViewerFanout } from './viewer-fanout.js';
import type { Delivery, OutCounters, RetransmitCounters, StreamEndReason, StreamMedia, StreamViewer } from './types.js';

/**
 * Video packets kept for NACKs and keyframe replays: 512 is about 1.7 s of the benchmark's
 * 2.5 Mbps video (306 video packets/s), several retransmission round trips and a 1 s GOP, in
 * 768 KB per stream whatever the viewer count.
 */
export const VIDEO_HISTORY_PACKETS = 512;

/** RTP clock rates of what FFmpeg sends: H264 90 kHz, Opus 48 kHz (RFC 7587). */
export const VIDEO_CLOCK_RATE = 90000;
export const AUDIO_CLOCK_RATE = 48000;

/** In-process delivery of one stream. */
export class LocalDelivery<V extends StreamViewer = StreamViewer> implements Delivery {
  readonly #history = new PacketHistory(VIDEO_HISTORY_PACKETS);
  readonly #clock = new MediaClock(VIDEO_CLOCK_RATE, AUDIO_CLOCK_RATE);
  readonly #fanout = new ViewerFanout<V>({ history: this.#history });
  /** Handed to every peer of this stream: one history answers all NACKs, one clock drives all SRs. */
  readonly media: StreamMedia = { videoHistory: this.#history, clock: this.#clock };

  get size(): number {
    return this.#fanout.size;
  }

  get out(): OutCounters {
    return this.#fanout.out;
  }

  get retransmits(): RetransmitCounters {
    return { sent: this.#history.counters.hits, missing: this.#history.counters.misses };
  }

  // Hot path. The history takes the packet before the fan-out so a viewer admitted on this very
  // packet can be replayed the keyframe's start.
  video(packet: Buffer, sps: boolean): void {
    this.#history.put(packet);
    this.#fanout.video(packet, sps);
  }

  audio(packet: Buffer): void {
    this.#fanout.audio(packet);
  }

  clock(kind: 'video' | 'audio', point: ClockPoint): void {
    if (kind === 'video') this.#clock.setVideo(point);
    else this.#clock.setAudio(point);
  }

  add(viewer: V): void {
    this.#fanout.add(viewer);
  }

  delete(viewer: V): boolean {
    return this.#fanout.delete(viewer);
  }

  pause(): void {
    this.#history.clear();
    this.#clock.reset();
    this.#fanout.regate();
  }

  end(reason: StreamEndReason): void {
    // Removed first, ended after: a viewer that closes itself in streamEnded finds nothing to
    // delete, and no packet of the next run can reach it.
    const viewers = this.#fanout.clear();
    this.#history.clear();
    // The next run has new RTP timestamp bases: never report its packets on this run's clock.
    this.#clock.reset();
    for (const v of viewers) v.streamEnded(reason);
  }
}
