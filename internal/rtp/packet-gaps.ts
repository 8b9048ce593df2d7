/**
 * One track's packet gaps at one point of whepd: a packet that came (ingest, from FFmpeg) or was
 * handed to the viewers (fan-out) more than 50, 100 or 250 ms after the track's previous one.
 * Opus packets are 20 ms apart and video frames 33-42 ms at 24-30 fps, so a gap over 50 ms is a
 * late packet, and over 250 ms a hole a player must conceal or freeze through.
 *
 * Why count them: when a player conceals audio or loses lip sync, the two points tell whose the
 * hole was. A gap on the way in came from FFmpeg (or the input); a gap on the way out with none
 * on the way in was made inside whepd (the track aligner, a blocked event loop, a shard); a hole
 * at the player with neither came after whepd (its send, the network, the player).
 */
export class PacketGaps {
  over50ms = 0;
  over100ms = 0;
  over250ms = 0;
  /** When the track's last packet passed (ms); NaN: none since forget(). */
  #last = NaN;

  /** Hot path: a packet of the track passed at `now` (ms). */
  passed(now: number): void {
    const gap = now - this.#last;
    this.#last = now;
    if (!(gap > 50)) return;
    this.over50ms++;
    if (gap > 100) this.over100ms++;
    if (gap > 250) this.over250ms++;
  }

  /** The track has no viewers, or its run starts over: the next packet opens no gap. */
  forget(): void {
    this.#last = NaN;
  }
}
