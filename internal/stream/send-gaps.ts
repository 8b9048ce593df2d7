/**
 * One track's send gaps, counted where its packets are handed to the viewers: a packet handed
 * over more than 50, 100 or 250 ms after the track's previous one. Opus packets are 20 ms apart
 * and video frames 33-42 ms at 24-30 fps, so a gap over 50 ms is a packet that left late, and
 * over 250 ms a hole a player must conceal or freeze through.
 *
 * Why count them: when a player conceals audio or loses lip sync, this tells whose the hole was.
 * A gap here was made on whepd's side (FFmpeg, the track aligner, a blocked event loop); a hole
 * with no gap here came after whepd (its send, the network, the player).
 */
export class SendGaps {
  over50ms = 0;
  over100ms = 0;
  over250ms = 0;
  /** When the track's last packet was handed over (ms); NaN: none since forget(). */
  #last = NaN;

  /** Hot path: a packet of the track was handed over at `now` (ms). */
  sent(now: number): void {
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
