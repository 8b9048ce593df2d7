/**
 * Sends a stream's audio and video on its media clock: each packet leaves whepd at its media time
 * (from FFmpeg's sender reports, see MediaClock) plus one delay common to both tracks, the
 * lateness either track keeps showing (see RECUR_BUCKETS). Both tracks then reach every viewer as
 * if captured and sent together, evenly paced, whatever FFmpeg did to one of them on the way:
 *
 * - an MPEG-TS input (SRT, HLS, UDP) carries audio in PES packets of up to half a second, so FFmpeg
 *   emits audio in bursts that lag the video by 0-500 ms; a receiver then sizes its audio jitter
 *   buffer for the bursts and its A/V sync, which reads the arrival of the latest packet of each
 *   track, misjudges the skew (Chromium played such a stream 150 ms out of sync, audio late);
 * - an x264 re-encode makes the video leave FFmpeg tens of ms after the audio of the same instant.
 *
 * The cost is latency: the earlier track waits for the later one (about the x264 delay, or the
 * TS burst length), and both wait out FFmpeg's own send jitter. The hold is capped (maxHoldMs);
 * a packet never waits longer than that. Without a media clock (before FFmpeg's first sender
 * reports) packets pass at once.
 *
 * A run starts held: nothing leaves until both tracks have come (at most START_HOLD_MAX_MS), so
 * the common delay is known before the first packet goes. An MPEG-TS input sends video first and
 * its first audio burst 200-400 ms later; passed at once, the video left on a small delay that then
 * jumped to the burst's lateness, a 350 ms hole in the video a viewer's first second (measured at a
 * node-datachannel viewer: video at 0-162 ms, then nothing for 346 ms). Chromium's video jitter
 * estimate grows on such a hole and shrinks slowly, so the A/V sync of an on-demand TS stream was
 * still 120 ms audio-early 20 s after the join, converging in display-frame steps. A smooth input's
 * tracks come within a few ms of each other, so its start waits that long.
 */
import type { MediaClock } from '../rtp/index.js';

/** Options for {@link TrackAligner}. */
export interface TrackAlignerOptions {
  clock: MediaClock;
  /** Receives released video / audio packets, in order. */
  onVideo: (packet: Buffer) => void;
  onAudio: (packet: Buffer) => void;
  /** No packet is held longer than this (ms); 0 turns alignment off. */
  maxHoldMs: number;

  /** Wallclock in Unix ms, fractional (tests pass their own). */
  now?: () => number;
  /** Timer hooks (tests pass their own). */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

/** How far back lateness is remembered: several TS bursts, a few GOPs. */
export const LATENESS_WINDOW_MS = 8000;
const BUCKETS = 8;
const BUCKET_MS = LATENESS_WINDOW_MS / BUCKETS;
/**
 * The common delay is the lateness reached in at least this many of the window's one-second
 * buckets (the third-largest bucket maximum), and the spread that engages holding is taken the
 * same way. A lateness the input keeps showing (TS bursts every 0.5 s, an x264 delay) is in every
 * bucket; a one-off stall is in one or two. FFmpeg's `-stream_loop` stalls the video 0.6-1.4 s at
 * each loop point: with the plain maximum every packet of the next 8 s was held that long, and the
 * hold then fell at DELAY_DECAY_PER_S only (measured: 221 ms growing to 314 ms over 60 s for H264,
 * 476 to 901 ms for VP8, against 275 and 383 ms flat with no aligner). Until the window has that
 * many whole buckets, k is how many it has: the bucket being filled has seen only part of a burst
 * cycle, so it never makes the count on its own.
 */
const RECUR_BUCKETS = 3;

/**
 * The k-th largest (dir 1) or smallest (dir -1) of the buckets seen (those not -Infinity or
 * Infinity), k = RECUR_BUCKETS, or one less than how many were seen (at least 1) while fewer: one
 * of them is the bucket being filled.
 */
function recurring(xs: Float64Array, dir: 1 | -1): number {
  let a = -Infinity; // a >= b >= c: the three largest of dir * x
  let b = -Infinity;
  let c = -Infinity;
  let seen = 0;
  for (let k = 0; k < xs.length; k++) {
    const y = dir * (xs[k] as number);
    if (y === -Infinity) continue;
    seen++;
    // Plain moves, no destructuring: this runs twice per packet.
    if (y > a) {
      c = b;
      b = a;
      a = y;
    } else if (y > b) {
      c = b;
      b = y;
    } else if (y > c) c = y;
  }
  return dir * (seen > RECUR_BUCKETS ? c : seen === RECUR_BUCKETS ? b : a);
}

/**
 * When the window's lateness falls (the input got smoother), the common delay follows at this
 * rate only, so packets are never bunched up by a sudden shorter hold.
 */
const DELAY_DECAY_PER_S = 20;
/**
 * Holding starts when the packets of the last window arrived more than this far apart from the
 * media clock (recurring largest minus recurring smallest lateness, both tracks): an MPEG-TS
 * input's audio bursts (200-500 ms), or one track lagging the other. FFmpeg's own send jitter on
 * a file or RTMP input stays well under it (about 30 ms here, measured on a busy 2-core box).
 */
export const ENGAGE_SPREAD_MS = 80;
/**
 * A run's first packets wait at most this long for the other track (ms; maxHoldMs if less). Both tracks always come
 * (whepd maps one of each); an MPEG-TS input's first audio comes up to a PES length (0.5 s) after
 * its first video, and the bound keeps a run whose other track is late from starting later still.
 */
export const START_HOLD_MAX_MS = 1000;

/**
 * A FIFO of packets with their release times; grows by doubling, never shrinks. Each packet also
 * keeps its media time and the latest it may leave, so a run's start can set the release times
 * once the common delay is known.
 */
class HeldPackets {
  #packets: (Buffer | undefined)[] = new Array(64);
  #release = new Float64Array(64);
  #media = new Float64Array(64);
  #latest = new Float64Array(64);
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Release time of the oldest packet (Infinity when empty). */
  get nextRelease(): number {
    return this.#size === 0 ? Infinity : (this.#release[this.#head] as number);
  }

  push(packet: Buffer, release: number, mediaMs: number, latest: number): void {
    if (this.#size === this.#packets.length) this.#grow();
    const i = (this.#head + this.#size) % this.#packets.length;
    this.#packets[i] = packet;
    this.#release[i] = release;
    this.#media[i] = mediaMs;
    this.#latest[i] = latest;
    this.#size++;
  }

  /**
   * Sets every held packet's release to its media time plus `delay`, none past its latest (which
   * is its arrival plus `maxHoldMs`). Returns the longest hold that makes (ms).
   */
  retime(delay: number, maxHoldMs: number): number {
    const n = this.#packets.length;
    let longest = 0;
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#head + k) % n;
      const latest = this.#latest[i] as number;
      const release = Math.min((this.#media[i] as number) + delay, latest);
      this.#release[i] = release;
      if (release - latest + maxHoldMs > longest) longest = release - latest + maxHoldMs;
    }
    return longest;
  }

  shift(): Buffer {
    const p = this.#packets[this.#head] as Buffer;
    this.#packets[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#packets.length;
    this.#size--;
    return p;
  }

  clear(): void {
    this.#packets.fill(undefined);
    this.#head = 0;
    this.#size = 0;
  }

  #grow(): void {
    const n = this.#packets.length;
    const packets: (Buffer | undefined)[] = new Array(n * 2);
    const release = new Float64Array(n * 2);
    const media = new Float64Array(n * 2);
    const latest = new Float64Array(n * 2);
    for (let k = 0; k < n; k++) {
      const i = (this.#head + k) % n;
      packets[k] = this.#packets[i];
      release[k] = this.#release[i] as number;
      media[k] = this.#media[i] as number;
      latest[k] = this.#latest[i] as number;
    }
    this.#packets = packets;
    this.#release = release;
    this.#media = media;
    this.#latest = latest;
    this.#head = 0;
  }
}

/** Paces one stream's two tracks onto its media clock. */
export class TrackAligner {
  readonly #o: TrackAlignerOptions;
  readonly #now: () => number;
  readonly #setTimer: (fn: () => void, ms: number) => unknown;
  readonly #clearTimer: (t: unknown) => void;
  readonly #video = new HeldPackets();
  readonly #audio = new HeldPackets();
  /** Largest lateness (arrival minus media time, ms) per bucket of the window. */
  readonly #lateness = new Float64Array(BUCKETS).fill(-Infinity);
  /** Smallest lateness per bucket: max minus min over the window is how uneven the input is. */
  readonly #earliness = new Float64Array(BUCKETS).fill(Infinity);
  /** Holding packets: the window's lateness spread exceeded ENGAGE_SPREAD_MS. */
  #engaged = false;
  #bucket = -1;
  /** The common delay: release = media time + delay. NaN until the first packet with a clock. */
  #delay = NaN;
  #delaySetAt = 0;
  #timer: unknown;
  #timerAt = Infinity;
  /**
   * The run's start hold: NaN until the first packet with a clock, then when it came, until both
   * tracks have come (or START_HOLD_MAX_MS); Infinity once over.
   */
  #startedAt = NaN;
  #startSeen = 0; // bit 1 video, bit 2 audio
  /** Packets held so far, and the longest hold (ms), for status. */
  held = 0;
  maxHeldMs = 0;

  constructor(o: TrackAlignerOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => performance.timeOrigin + performance.now());
    this.#setTimer = o.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref());
    this.#clearTimer = o.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout));
  }

  /** The current common delay over the media clock (ms), NaN before it is known. */
  get delayMs(): number {
    return this.#delay;
  }

  /** Hot path: one video packet from the ingest. */
  video(packet: Buffer): void {
    this.#take(this.#video, packet, this.#o.clock.videoNtpOf(packet.readUInt32BE(4)), this.#o.onVideo, 1);
  }

  /** Hot path: one audio packet from the ingest. */
  audio(packet: Buffer): void {
    this.#take(this.#audio, packet, this.#o.clock.audioNtpOf(packet.readUInt32BE(4)), this.#o.onAudio, 2);
  }

  #take(queue: HeldPackets, packet: Buffer, mediaMs: number, send: (p: Buffer) => void, track: number): void {
    if (this.#o.maxHoldMs <= 0 || Number.isNaN(mediaMs)) {
      // No clock yet (or alignment off): what is held goes first, then this one, in order. A start
      // hold ends here, so what it held leaves in media-time order, not as two unordered queues.
      if (this.#starting) this.#endStart(this.#now());
      this.#flush(Infinity);
      send(packet);
      return;
    }
    const now = this.#now();
    const delay = this.#updateDelay(now, now - mediaMs);
    if (this.#startedAt !== Infinity) {
      // The run's start: hold until both tracks have come, then release on the delay known by then.
      if (Number.isNaN(this.#startedAt)) {
        this.#startedAt = now;
        this.#setStartTimer();
      }
      queue.push(packet, Infinity, mediaMs, now + this.#o.maxHoldMs);
      this.held++;
      this.#startSeen |= track;
      if (this.#startSeen === 3 || now - this.#startedAt >= this.#startHoldMs()) this.#endStart(now);
      return;
    }
    if (!this.#engaged) {
      // A smooth input: forward as it came, since any hold would only add latency (and a receiver
      // whose A/V sync ignores small skews, as webrtc.org's ignores < 30 ms, would keep it).
      this.#flush(Infinity);
      send(packet);
      return;
    }
    const release = Math.min(mediaMs + delay, now + this.#o.maxHoldMs);
    if (release <= now && queue.size === 0) {
      send(packet);
      return;
    }
    queue.push(packet, release, mediaMs, release);
    this.held++;
    if (release - now > this.maxHeldMs) this.maxHeldMs = release - now;
    this.#flush(now);
    this.#schedule(now);
  }

  /** Records one lateness and returns the common delay: the recurring maximum, falling slowly. */
  #updateDelay(now: number, lateness: number): number {
    const bucket = Math.floor(now / BUCKET_MS);
    if (bucket !== this.#bucket) {
      // Buckets skipped while no packet came are stale too.
      const steps = this.#bucket < 0 ? BUCKETS : Math.min(BUCKETS, bucket - this.#bucket);
      for (let k = 1; k <= steps; k++) {
        this.#lateness[(bucket - steps + k) % BUCKETS] = -Infinity;
        this.#earliness[(bucket - steps + k) % BUCKETS] = Infinity;
      }
      this.#bucket = bucket;
      this.#updateEngaged();
    }
    const i = bucket % BUCKETS;
    if (lateness > (this.#lateness[i] as number)) this.#lateness[i] = lateness;
    if (lateness < (this.#earliness[i] as number)) this.#earliness[i] = lateness;
    const max = recurring(this.#lateness, 1);
    if (!this.#engaged && max - recurring(this.#earliness, -1) > ENGAGE_SPREAD_MS) this.#engaged = true;
    if (Number.isNaN(this.#delay) || max >= this.#delay) {
      this.#delay = max;
    } else {
      this.#delay = Math.max(max, this.#delay - ((now - this.#delaySetAt) * DELAY_DECAY_PER_S) / 1000);
    }
    this.#delaySetAt = now;
    return this.#delay;
  }

  // Once a bucket: holds stop when the whole window's spread is back under half the threshold.
  #updateEngaged(): void {
    if (this.#engaged && recurring(this.#lateness, 1) - recurring(this.#earliness, -1) < ENGAGE_SPREAD_MS / 2) this.#engaged = false;
  }

  /** True while packets are held onto the media clock (the input is uneven). */
  get engaged(): boolean {
    return this.#engaged;
  }

  /** True while a run's first packets are held (see #startedAt). */
  get #starting(): boolean {
    return this.#startedAt !== Infinity && !Number.isNaN(this.#startedAt);
  }

  /** The start hold's bound: START_HOLD_MAX_MS, or maxHoldMs if less (no packet waits longer). */
  #startHoldMs(): number {
    return Math.min(START_HOLD_MAX_MS, this.#o.maxHoldMs);
  }

  #setStartTimer(): void {
    this.#timerAt = this.#startedAt + this.#startHoldMs();
    this.#timer = this.#setTimer(() => this.#fire(), this.#startHoldMs());
  }

  /** Ends the start hold: what came is released on the common delay (at once if not engaged). */
  #endStart(now: number): void {
    this.#startedAt = Infinity;
    if (this.#timer !== undefined) this.#clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (!this.#engaged) {
      // A smooth start: all of it now, the two tracks merged in media-time order.
      this.#video.retime(0, this.#o.maxHoldMs);
      this.#audio.retime(0, this.#o.maxHoldMs);
      this.#flush(Infinity);
      return;
    }
    const longest = Math.max(this.#video.retime(this.#delay, this.#o.maxHoldMs), this.#audio.retime(this.#delay, this.#o.maxHoldMs));
    if (longest > this.maxHeldMs) this.maxHeldMs = longest;
    this.#flush(now);
    this.#schedule(now);
  }

  #schedule(now: number): void {
    const next = Math.min(this.#video.nextRelease, this.#audio.nextRelease);
    if (next === Infinity || next >= this.#timerAt) return;
    if (this.#timer !== undefined) this.#clearTimer(this.#timer);
    this.#timerAt = next;
    this.#timer = this.#setTimer(() => this.#fire(), Math.max(0, next - now));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#now();
    if (this.#starting) {
      // Only one track came within START_HOLD_MAX_MS.
      this.#endStart(now);
      return;
    }
    this.#flush(now);
    this.#schedule(now);
  }

  /** Sends every packet due by `until`, both tracks merged in release order. */
  #flush(until: number): void {
    const v = this.#video;
    const a = this.#audio;
    for (;;) {
      const nv = v.nextRelease;
      const na = a.nextRelease;
      if (nv <= na && nv <= until && v.size > 0) this.#o.onVideo(v.shift());
      else if (na <= until && a.size > 0) this.#o.onAudio(a.shift());
      else break;
    }
  }

  /** Drops every held packet and forgets the lateness (a run ended: its clock is gone). */
  reset(): void {
    if (this.#timer !== undefined) this.#clearTimer(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#video.clear();
    this.#audio.clear();
    this.#lateness.fill(-Infinity);
    this.#earliness.fill(Infinity);
    this.#engaged = false;
    this.#bucket = -1;
    this.#delay = NaN;
    this.#startedAt = NaN;
    this.#startSeen = 0;
  }
}
