/**
 * Keeps one outgoing track's RTP sequence numbers and timestamps continuous across FFmpeg runs,
 * for viewers held through a restart (streams[].restartGraceS): a new run starts from random
 * bases, and a receiver would take the jump for a new source or a huge gap. The first packet of
 * the next run fixes per-stream offsets (not per viewer, so one rewritten buffer still serves a
 * whole payload-type group): the sequence continues at last + 1, the timestamp at last + the
 * wallclock time that passed, so the receiver's jitter buffer and A/V sync see real time go by.
 */

/** Sequence/timestamp rewriting for one track of a stream. Hot path: plain reads and writes. */
export class TrackContinuity {
  readonly #rate: number;
  #seqOffset = 0;
  #tsOffset = 0;
  #lastSeq = -1;
  #lastTs = 0;
  /** Wallclock (Unix ms) of the last packet's media time, set when a run ends; NaN while running. */
  #endedAtMs = Number.NaN;
  /** Set between a run's end and the next run's first packet. */
  #pending = false;

  constructor(clockRate: number) {
    this.#rate = clockRate;
  }

  /** Hot path: shifts the packet into the stream's continuous numbering and remembers it. */
  pass(packet: Buffer, nowMs: () => number): void {
    if (this.#pending) this.#anchor(packet, nowMs());
    const seq = (packet.readUInt16BE(2) + this.#seqOffset) & 0xffff;
    const ts = (packet.readUInt32BE(4) + this.#tsOffset) >>> 0;
    packet.writeUInt16BE(seq, 2);
    packet.writeUInt32BE(ts, 4);
    this.#lastSeq = seq;
    this.#lastTs = ts;
  }

  // The next run's first packet: continue right after the last one, real time later.
  #anchor(packet: Buffer, now: number): void {
    this.#pending = false;
    if (this.#lastSeq < 0) return;
    const gapMs = Number.isNaN(this.#endedAtMs) ? 0 : Math.max(0, now - this.#endedAtMs);
    const wantTs = (this.#lastTs + Math.max(1, Math.round((gapMs * this.#rate) / 1000))) >>> 0;
    this.#seqOffset = (this.#lastSeq + 1 - packet.readUInt16BE(2)) & 0xffff;
    this.#tsOffset = (wantTs - packet.readUInt32BE(4)) >>> 0;
  }

  /** The output timestamp a timestamp of the current run maps to (for its sender reports). */
  shifted(ts: number): number {
    return (ts + this.#tsOffset) >>> 0;
  }

  /** True once the current run's offsets are fixed (its first packet passed). */
  get anchored(): boolean {
    return !this.#pending;
  }

  /** A run ended at `endedAtMs` (the wallclock of its last media); the next packet re-anchors. */
  runEnded(endedAtMs: number): void {
    this.#endedAtMs = endedAtMs;
    this.#pending = true;
  }

  /** Forgets everything: the viewers are gone, the next run may start anywhere. */
  reset(): void {
    this.#seqOffset = 0;
    this.#tsOffset = 0;
    this.#lastSeq = -1;
    this.#pending = false;
    this.#endedAtMs = Number.NaN;
  }
}
