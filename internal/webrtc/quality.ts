/**
 * One viewer's reception as its RTCP tells it: loss and jitter per track from its report blocks,
 * NACK and PLI counts, and the round trip from LSR/DLSR against the sender reports whepd sent
 * (RFC 3550 section 6.4.1: RTT = arrival - LSR - DLSR). Fed at RTCP time, about once a second per
 * track; read by status pages and metrics.
 */
import { readReceiverFeedback } from '../rtp/index.js';
import type { TrackReception, ViewerQuality } from './types.js';

// SRs go out once a second; a viewer answers the latest, so a few remembered are plenty.
const REMEMBERED_SRS = 8;
const VIDEO_CLOCK_RATE = 90000;
const AUDIO_CLOCK_RATE = 48000;

/** Keeps the latest reception figures of one viewer. */
export class ReceptionQuality {
  readonly #videoSsrc: number;
  readonly #audioSsrc: number;
  // Ring of (LSR value, performance.now() at send) for the SRs we sent.
  readonly #srMid = new Array<number>(REMEMBERED_SRS).fill(0);
  readonly #srAt = new Array<number>(REMEMBERED_SRS).fill(0);
  #srNext = 0;
  #video: TrackReception | undefined;
  #audio: TrackReception | undefined;
  #rttMs: number | undefined;
  #nacks = 0;
  #plis = 0;
  #reports = 0;

  constructor(videoSsrc: number, audioSsrc: number) {
    this.#videoSsrc = videoSsrc;
    this.#audioSsrc = audioSsrc;
  }

  /** An SR left with `lsr` as its NTP middle 32 bits, at performance.now() `atMs`. */
  senderReportSent(lsr: number, atMs: number): void {
    this.#srMid[this.#srNext] = lsr >>> 0;
    this.#srAt[this.#srNext] = atMs;
    this.#srNext = (this.#srNext + 1) % REMEMBERED_SRS;
  }

  /** One RTCP datagram from the viewer on the `kind` track, arrived at performance.now() `nowMs`. */
  rtcp(kind: 'video' | 'audio', packet: Buffer, nowMs: number): void {
    const ssrc = kind === 'video' ? this.#videoSsrc : this.#audioSsrc;
    const fb = readReceiverFeedback(packet, ssrc);
    this.#nacks += fb.nacks;
    this.#plis += fb.plis;
    const b = fb.block;
    if (!b) return;
    this.#reports++;
    const rate = kind === 'video' ? VIDEO_CLOCK_RATE : AUDIO_CLOCK_RATE;
    const reception: TrackReception = { fractionLost: b.fractionLost, packetsLost: b.packetsLost, jitterMs: (b.jitter / rate) * 1000 };
    if (kind === 'video') this.#video = reception;
    else this.#audio = reception;
    if (b.lsr === 0) return;
    // Look the LSR up among our own SRs, so the RTT needs no NTP clock agreement with the viewer.
    for (let i = 0; i < REMEMBERED_SRS; i++) {
      if (this.#srMid[i] !== b.lsr || this.#srAt[i] === 0) continue;
      const rtt = nowMs - (this.#srAt[i] as number) - (b.dlsr / 65536) * 1000;
      // A DLSR larger than the time since the SR is a lying or confused viewer: no figure.
      if (rtt >= 0) this.#rttMs = rtt;
      return;
    }
  }

  /** The figures now. */
  snapshot(): ViewerQuality {
    return {
      ...(this.#video ? { video: { ...this.#video } } : {}),
      ...(this.#audio ? { audio: { ...this.#audio } } : {}),
      ...(this.#rttMs !== undefined ? { rttMs: this.#rttMs } : {}),
      nacks: this.#nacks,
      plis: this.#plis,
      receiverReports: this.#reports,
    };
  }
}
