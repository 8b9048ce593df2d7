/**
 * VP8 over RTP (RFC 7741): finds where a key frame starts, so a VP8 viewer's video begins at a
 * key frame as an H264 viewer's begins at SPS/PPS. Pure, no allocation.
 */
import { payloadEnd, payloadOffset } from './packet.js';

/**
 * True when the packet starts a VP8 key frame: the payload descriptor (RFC 7741 section 4.2) has
 * S=1 and partition index 0, and the VP8 payload header that follows has P=0 (section 4.3: the
 * inverse key frame flag, bit 0 of its first byte).
 */
export function vp8KeyframeStart(buf: Buffer): boolean {
  const start = payloadOffset(buf);
  const end = payloadEnd(buf);
  if (start < 0 || start >= end) return false;
  const d = buf[start] as number;
  // S (0x10) set and PID (0x07) zero: the first packet of the frame's first partition.
  if ((d & 0x17) !== 0x10) return false;
  let off = start + 1;
  if (d & 0x80) {
    // X: an extension byte with I, L, T, K, then the fields they announce.
    if (off >= end) return false;
    const x = buf[off++] as number;
    if (x & 0x80) {
      // I: PictureID, 7 bits, or 15 bits when its first byte has M set.
      if (off >= end) return false;
      off += (buf[off] as number) & 0x80 ? 2 : 1;
    }
    if (x & 0x40) off++; // L: TL0PICIDX
    if (x & 0x30) off++; // T or K: TID/Y/KEYIDX
  }
  if (off >= end) return false;
  return ((buf[off] as number) & 0x01) === 0;
}
