/**
 * Delivery of one stream to viewers whose peers live in shard processes: every packet is relayed
 * once per shard that serves the stream, and the viewers (sessions in this process) are held here
 * so that a run's end ends each of them exactly once, from this side. The shards keep the video
 * history and media clock their peers need; this process keeps none.
 */
import type { Socket } from 'node:dgram';
import { emptyOutCounters } from '../stream/index.js';
import type { Delivery, OutCounters, RetransmitCounters, StreamEndReason, StreamViewer } from '../stream/index.js';
import type { ClockPoint } from '../rtp/index.js';
import { KIND_AUDIO, KIND_VIDEO, KIND_VIDEO_SPS } from './protocol.js';

/** What the delivery asks of the pool: tell the shards that serve the stream. */
export interface ShardControl {
  /** A run's media clock point, for the shards' sender reports. */
  clock(kind: 'video' | 'audio', point: ClockPoint): void;
  /** The run ended: shards forget its packets and clock. */
  reset(): void;
  /** The run ended, its viewers stay: shards forget its packets and clock and re-gate their viewers. */
  pause(): void;
}

/** Per stream: the shards that serve it, walked per packet. */
export class ShardDelivery implements Delivery {
  readonly out: OutCounters = emptyOutCounters();
  readonly retransmits: RetransmitCounters = { sent: 0, missing: 0 };
  /** Peers live in shards: nothing here for a local peer. */
  readonly media = undefined;
  /** Sockets of the shards serving this stream (copy-on-write). */
  targets: readonly Socket[] = [];
  /** Figures of shards that exited, kept so the counters never go back. */
  readonly retired = { out: emptyOutCounters(), sent: 0, missing: 0 };
  /** The run's media clock so far, for shards that learn of the stream later (FFmpeg reports every 5 s). */
  readonly clocks: { video?: ClockPoint; audio?: ClockPoint } = {};
  readonly #viewers = new Set<StreamViewer>();
  readonly #headers: Buffer[];
  readonly #parts: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0)];
  readonly #control: ShardControl;

  constructor(index: number, control: ShardControl) {
    this.#headers = [KIND_VIDEO, KIND_VIDEO_SPS, KIND_AUDIO].map((kind) => {
      const h = Buffer.alloc(3);
      h.writeUInt16BE(index, 0);
      h[2] = kind;
      return h;
    });
    this.#control = control;
  }

  get size(): number {
    return this.#viewers.size;
  }

  video(packet: Buffer, sps: boolean): void {
    this.#relay(this.#headers[sps ? 1 : 0] as Buffer, packet);
  }

  audio(packet: Buffer): void {
    this.#relay(this.#headers[2] as Buffer, packet);
  }

  // A connected socket skips the address lookup; dgram copies the list, not the bytes.
  #relay(header: Buffer, packet: Buffer): void {
    const targets = this.targets;
    if (targets.length === 0) return;
    const parts = this.#parts;
    parts[0] = header;
    parts[1] = packet;
    for (let i = 0; i < targets.length; i++) {
      try {
        (targets[i] as Socket).send(parts);
      } catch {
        // a shard that just exited; its viewers are being closed
      }
    }
  }

  clock(kind: 'video' | 'audio', point: ClockPoint): void {
    this.clocks[kind] = { ntpMs: point.ntpMs, rtp: point.rtp };
    this.#control.clock(kind, this.clocks[kind]);
  }

  add(viewer: StreamViewer): void {
    this.#viewers.add(viewer);
  }

  delete(viewer: StreamViewer): boolean {
    return this.#viewers.delete(viewer);
  }

  pause(): void {
    delete this.clocks.video;
    delete this.clocks.audio;
    this.#control.pause();
  }

  end(reason: StreamEndReason): void {
    const viewers = [...this.#viewers];
    this.#viewers.clear();
    // Each session closes its peer, which tells its shard to close it: one close per viewer.
    for (const v of viewers) v.streamEnded(reason);
    delete this.clocks.video;
    delete this.clocks.audio;
    this.#control.reset();
  }
}
