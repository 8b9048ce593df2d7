/**
 * Delivery of one stream's packets to the viewers in this process: each new viewer's video waits
 * for the next keyframe (its SPS packet) once its track is open, audio flows at once, and packets
 * go out once per payload-type group. A LocalDelivery owns one, in the main process or in a shard.
 */
import { PacketGaps, sequenceNumber, setPayloadType } from '../rtp/index.js';
import type { PacketLookup } from '../rtp/index.js';
import { PayloadTypeGroups } from './fanout.js';
import { emptyOutCounters } from './types.js';
import type { OutCounters, StreamViewer } from './types.js';

/** Options for {@link ViewerFanout}. */
export interface ViewerFanoutOptions {
  /**
   * The stream's recent video packets. With it, a viewer whose track opens shortly after a
   * keyframe started gets that keyframe replayed from the history instead of waiting a GOP.
   */
  history?: PacketLookup;
  /** How recent the keyframe must be to replay it (ms); 0 disables replays. */
  replayWindowMs?: number;
  /** Clock in ms (tests pass their own). */
  now?: () => number;
}

/** Default replay window: a viewer starts at most this far behind live, and catches up. */
export const KEYFRAME_REPLAY_MS = 200;
// A replay never sends more than this many packets (a 1 s GOP at 2.5 Mbps is about 306).
const MAX_REPLAY_PACKETS = 400;

/** The viewers of one stream in this process and the packet walk to them. */
export class ViewerFanout<V extends StreamViewer = StreamViewer> {
  readonly #out: OutCounters = emptyOutCounters();
  /** Counted only while the track has viewers here: a gap with nobody watching is no hole. */
  readonly #videoGaps = new PacketGaps();
  readonly #audioGaps = new PacketGaps();
  readonly #video = new PayloadTypeGroups<V>((v, p) => v.sendVideo(p));
  readonly #audio = new PayloadTypeGroups<V>((v, p) => v.sendAudio(p));
  /** Viewers whose video waits for the next keyframe (SPS first). */
  readonly #awaitingKeyframe = new Set<V>();
  readonly #viewers = new Set<V>();
  readonly #history: PacketLookup | undefined;
  readonly #replayWindowMs: number;
  readonly #now: () => number;
  /** Sequence number and arrival time of the last SPS packet (-1: none this run). */
  #lastSps = -1;
  #lastSpsAt = 0;

  constructor(o: ViewerFanoutOptions = {}) {
    this.#history = o.history;
    this.#replayWindowMs = o.replayWindowMs ?? KEYFRAME_REPLAY_MS;
    this.#now = o.now ?? (() => performance.now());
  }

  /** What this fan-out handed over so far (one object, updated in place). */
  get out(): OutCounters {
    const o = this.#out;
    o.videoGapsOver50ms = this.#videoGaps.over50ms;
    o.videoGapsOver100ms = this.#videoGaps.over100ms;
    o.videoGapsOver250ms = this.#videoGaps.over250ms;
    o.audioGapsOver50ms = this.#audioGaps.over50ms;
    o.audioGapsOver100ms = this.#audioGaps.over100ms;
    o.audioGapsOver250ms = this.#audioGaps.over250ms;
    return o;
  }

  /** Number of viewers. */
  get size(): number {
    return this.#viewers.size;
  }

  /** Adds a viewer: audio at once, video from the next keyframe its open track can take. */
  add(viewer: V): void {
    if (this.#viewers.has(viewer)) return;
    this.#viewers.add(viewer);
    this.#awaitingKeyframe.add(viewer);
    this.#audio.add(viewer, viewer.audioPayloadType);
  }

  /** Removes a viewer; returns whether it was there. */
  delete(viewer: V): boolean {
    if (!this.#viewers.delete(viewer)) return false;
    this.#awaitingKeyframe.delete(viewer);
    this.#video.delete(viewer, viewer.videoPayloadType);
    this.#audio.delete(viewer, viewer.audioPayloadType);
    return true;
  }

  /** Every viewer, removed; the caller ends them. */
  clear(): V[] {
    const viewers = [...this.#viewers];
    this.#viewers.clear();
    this.#awaitingKeyframe.clear();
    this.#video.clear();
    this.#audio.clear();
    this.#lastSps = -1;
    this.#videoGaps.forget();
    this.#audioGaps.forget();
    return viewers;
  }

  /**
   * A run ended but its viewers stay (a restart grace): each waits for the next run's keyframe
   * again, as when it joined; audio goes on with the next run's first packet.
   */
  regate(): void {
    for (const v of this.#viewers) {
      this.#video.delete(v, v.videoPayloadType);
      this.#awaitingKeyframe.add(v);
    }
    this.#lastSps = -1;
    // The next run's first packets come a restart later: that wait is the restart, not a gap.
    this.#videoGaps.forget();
    this.#audioGaps.forget();
  }

  /**
   * Hot path: one video packet (SSRC already set, and already in the history if there is one);
   * `sps` when it starts a keyframe.
   */
  video(packet: Buffer, sps: boolean): void {
    if (sps) {
      this.#lastSps = sequenceNumber(packet);
      this.#lastSpsAt = this.#now();
    }
    if (this.#awaitingKeyframe.size > 0) this.#admit(packet, sps);
    const n = this.#video.size;
    if (n > 0) this.#videoGaps.passed(this.#now());
    else this.#videoGaps.forget();
    this.#out.videoPackets += n;
    this.#out.videoBytes += n * packet.length;
    this.#video.forward(packet);
  }

  // Only viewers whose track is open start: a keyframe sent into a track that is not open yet is
  // lost, and the viewer would then see a GOP of undecodable frames. A viewer whose track opened
  // just after a keyframe started gets it from the history (Janus calls this keyframe buffering).
  #admit(packet: Buffer, sps: boolean): void {
    const replay = !sps && this.#history !== undefined && this.#lastSps >= 0 && this.#replayWindowMs > 0 && this.#now() - this.#lastSpsAt <= this.#replayWindowMs;
    for (const v of this.#awaitingKeyframe) {
      if (!v.videoReady) continue;
      if (!sps && !(replay && this.#replay(v, sequenceNumber(packet)))) continue;
      this.#video.add(v, v.videoPayloadType);
      this.#awaitingKeyframe.delete(v);
      v.videoStarted();
    }
  }

  /** Sends the history from the last SPS up to (not including) `until`; false if any is missing. */
  #replay(v: V, until: number): boolean {
    const history = this.#history as PacketLookup;
    const count = (until - this.#lastSps) & 0xffff;
    if (count === 0 || count > MAX_REPLAY_PACKETS) return false;
    for (let i = 0; i < count; i++) if (!history.peek((this.#lastSps + i) & 0xffff)) return false;
    for (let i = 0; i < count; i++) {
      const p = history.peek((this.#lastSps + i) & 0xffff) as Buffer;
      setPayloadType(p, v.videoPayloadType);
      v.sendVideo(p);
      this.#out.videoPackets++;
      this.#out.videoBytes += p.length;
    }
    return true;
  }

  /** Hot path: one audio packet (SSRC already set). */
  audio(packet: Buffer): void {
    const n = this.#audio.size;
    if (n > 0) this.#audioGaps.passed(this.#now());
    else this.#audioGaps.forget();
    this.#out.audioPackets += n;
    this.#out.audioBytes += n * packet.length;
    this.#audio.forward(packet);
  }
}
