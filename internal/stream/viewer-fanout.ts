/**
 * Delivery of one stream's packets to the viewers in this process: each new viewer's video waits
 * for the next keyframe (its SPS packet) once its track is open, audio flows at once, and packets
 * go out once per payload-type group. A Stream owns one for its in-process viewers; a shard
 * process (internal/shard) owns one per stream for the viewers it holds.
 */
import { PayloadTypeGroups } from './fanout.js';
import type { StreamViewer } from './types.js';

/** Packets and bytes handed to viewers, summed over viewers. */
export interface OutCounters {
  videoPackets: number;
  videoBytes: number;
  audioPackets: number;
  audioBytes: number;
}

export function emptyOutCounters(): OutCounters {
  return { videoPackets: 0, videoBytes: 0, audioPackets: 0, audioBytes: 0 };
}

/** The viewers of one stream in this process and the packet walk to them. */
export class ViewerFanout<V extends StreamViewer = StreamViewer> {
  readonly out: OutCounters = emptyOutCounters();
  readonly #video = new PayloadTypeGroups<V>((v, p) => v.sendVideo(p));
  readonly #audio = new PayloadTypeGroups<V>((v, p) => v.sendAudio(p));
  /** Viewers whose video waits for the next keyframe (SPS first). */
  readonly #awaitingKeyframe = new Set<V>();
  readonly #viewers = new Set<V>();

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
    return viewers;
  }

  /** Hot path: one video packet (SSRC already set); `sps` when it starts a keyframe. */
  video(packet: Buffer, sps: boolean): void {
    if (sps && this.#awaitingKeyframe.size > 0) {
      // Only viewers whose track is open start here: a keyframe sent into a track that is not
      // open yet is lost, and the viewer would then see a GOP of undecodable frames.
      for (const v of this.#awaitingKeyframe) {
        if (!v.videoReady) continue;
        this.#video.add(v, v.videoPayloadType);
        this.#awaitingKeyframe.delete(v);
        v.videoStarted();
      }
    }
    const n = this.#video.size;
    this.out.videoPackets += n;
    this.out.videoBytes += n * packet.length;
    this.#video.forward(packet);
  }

  /** Hot path: one audio packet (SSRC already set). */
  audio(packet: Buffer): void {
    const n = this.#audio.size;
    this.out.audioPackets += n;
    this.out.audioBytes += n * packet.length;
    this.#audio.forward(packet);
  }
}
