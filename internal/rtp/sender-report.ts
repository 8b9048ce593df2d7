/**
 * RTCP sender reports (RFC 3550 section 6.4.1) and the media clock they carry. Pure and bounded:
 * the reports read here come from a UDP port that anything on the host can send to.
 *
 * Why whepd sends its own: a receiver lines audio up with video only through each track's SR,
 * which maps that track's RTP timestamps to one wallclock (NTP) timeline. libdatachannel's
 * RtcpSrReporter maps the last RTP timestamp it sent to the time it sent it, so whatever delays
 * one track more than the other on its way out of FFmpeg (the Opus encoder, an MPEG-TS input's
 * interleaving, an x264 encode of the video) reads as A/V skew. FFmpeg's own SRs instead map
 * both outputs' timestamps to one origin (`-start_time_realtime`, the same for both outputs):
 * media time, not send time. whepd keeps the latest mapping per track (a {@link MediaClock})
 * and sends viewers SRs on that line.
 */

const RTCP_SR = 200;
const RTCP_SDES = 202;
const SDES_CNAME = 1;
/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch). */
const NTP_UNIX_OFFSET_S = 2208988800;
const TWO_POW_32 = 2 ** 32;

/** One point of a track's media clock: RTP timestamp `rtp` is wallclock `ntpMs` (Unix ms). */
export interface ClockPoint {
  ntpMs: number;
  rtp: number;
}

/** What a sender report says about its sender. */
export interface SenderReport extends ClockPoint {
  ssrc: number;
  packets: number;
  octets: number;
}

/**
 * Finds the SR in a (compound) RTCP packet. Returns undefined for anything else, malformed
 * packets included; never throws.
 */
export function readSenderReport(rtcp: Buffer): SenderReport | undefined {
  let off = 0;
  const len = rtcp.length;
  // A compound packet has a handful of parts; the bound keeps a hostile one cheap.
  for (let part = 0; part < 8 && off + 4 <= len; part++) {
    const b0 = rtcp[off] as number;
    if (b0 >> 6 !== 2) return undefined;
    const size = (rtcp.readUInt16BE(off + 2) + 1) * 4;
    if (off + size > len) return undefined;
    if (rtcp[off + 1] === RTCP_SR && size >= 28) {
      const sec = rtcp.readUInt32BE(off + 8);
      const frac = rtcp.readUInt32BE(off + 12);
      return {
        ssrc: rtcp.readUInt32BE(off + 4),
        ntpMs: (sec - NTP_UNIX_OFFSET_S) * 1000 + (frac / TWO_POW_32) * 1000,
        rtp: rtcp.readUInt32BE(off + 16),
        packets: rtcp.readUInt32BE(off + 20),
        octets: rtcp.readUInt32BE(off + 24),
      };
    }
    off += size;
  }
  return undefined;
}

/** Bytes of an SR without report blocks followed by an SDES with one CNAME of `cnameBytes`. */
export function senderReportBytes(cnameBytes: number): number {
  // SDES: header 4 + SSRC 4 + type 1 + length 1 + text + at least one null octet, to 32 bits.
  return 28 + 4 + Math.ceil((4 + 2 + cnameBytes + 1) / 4) * 4;
}

/**
 * Writes a compound RTCP packet (SR, no report blocks, + SDES CNAME, RFC 3550 section 6.1) into
 * `out` and returns its length. `out` must hold senderReportBytes(cname length); the caller reuses
 * one buffer, as the packet is copied when sent.
 */
export function writeSenderReport(out: Buffer, sr: SenderReport, cname: Buffer): number {
  const ntpS = sr.ntpMs / 1000 + NTP_UNIX_OFFSET_S;
  const sec = Math.floor(ntpS);
  const frac = Math.min(TWO_POW_32 - 1, Math.round((ntpS - sec) * TWO_POW_32));
  out[0] = 0x80;
  out[1] = RTCP_SR;
  out.writeUInt16BE(6, 2);
  out.writeUInt32BE(sr.ssrc >>> 0, 4);
  out.writeUInt32BE(sec >>> 0, 8);
  out.writeUInt32BE(frac >>> 0, 12);
  out.writeUInt32BE(sr.rtp >>> 0, 16);
  out.writeUInt32BE(sr.packets >>> 0, 20);
  out.writeUInt32BE(sr.octets >>> 0, 24);
  const sdesLen = senderReportBytes(cname.length) - 28;
  const s = 28;
  out[s] = 0x81; // one chunk
  out[s + 1] = RTCP_SDES;
  out.writeUInt16BE(sdesLen / 4 - 1, s + 2);
  out.writeUInt32BE(sr.ssrc >>> 0, s + 4);
  out[s + 8] = SDES_CNAME;
  out[s + 9] = cname.length;
  cname.copy(out, s + 10);
  out.fill(0, s + 10 + cname.length, s + sdesLen);
  return 28 + sdesLen;
}

/** The media clock of one stream run: per track, the mapping FFmpeg's last SR gave. */
export class MediaClock {
  readonly videoRate: number;
  readonly audioRate: number;
  #video: ClockPoint | undefined;
  #audio: ClockPoint | undefined;

  constructor(videoRate: number, audioRate: number) {
    this.videoRate = videoRate;
    this.audioRate = audioRate;
  }

  /** Takes a track's latest SR point from FFmpeg (a later one of the same run lies on the same line). */
  setVideo(point: ClockPoint): void {
    this.#video = { ntpMs: point.ntpMs, rtp: point.rtp >>> 0 };
  }

  setAudio(point: ClockPoint): void {
    this.#audio = { ntpMs: point.ntpMs, rtp: point.rtp >>> 0 };
  }

  /** Forgets both mappings: a new FFmpeg run has new random timestamp bases. */
  reset(): void {
    this.#video = undefined;
    this.#audio = undefined;
  }

  get video(): ClockPoint | undefined {
    return this.#video;
  }

  get audio(): ClockPoint | undefined {
    return this.#audio;
  }

  /** True once both tracks have a mapping, so SRs can go out for both (never one alone). */
  get ready(): boolean {
    return this.#video !== undefined && this.#audio !== undefined;
  }

  /** The wallclock (Unix ms) of video RTP timestamp `ts`, or NaN without a mapping. Hot path. */
  videoNtpOf(ts: number): number {
    return ntpOf(this.#video, this.videoRate, ts);
  }

  /** The wallclock (Unix ms) of audio RTP timestamp `ts`, or NaN without a mapping. Hot path. */
  audioNtpOf(ts: number): number {
    return ntpOf(this.#audio, this.audioRate, ts);
  }

  /** The video RTP timestamp at wallclock `nowMs`, or undefined without a mapping. */
  videoRtpAt(nowMs: number): number | undefined {
    return rtpAt(this.#video, this.videoRate, nowMs);
  }

  /** The audio RTP timestamp at wallclock `nowMs`, or undefined without a mapping. */
  audioRtpAt(nowMs: number): number | undefined {
    return rtpAt(this.#audio, this.audioRate, nowMs);
  }
}

function ntpOf(point: ClockPoint | undefined, rate: number, ts: number): number {
  if (!point) return NaN;
  // Signed 32-bit distance: a timestamp a little before the SR's is before it, across the wrap too.
  return point.ntpMs + (((ts - point.rtp) | 0) * 1000) / rate;
}

function rtpAt(point: ClockPoint | undefined, rate: number, nowMs: number): number | undefined {
  if (!point) return undefined;
  const ticks = Math.round(((nowMs - point.ntpMs) * rate) / 1000);
  // RTP timestamps wrap at 2^32 (RFC 3550 section 5.1); keep the result in range either way.
  return (((point.rtp + ticks) % TWO_POW_32) + TWO_POW_32) % TWO_POW_32;
}
