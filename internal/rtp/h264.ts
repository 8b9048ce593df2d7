/**
 * H264 over RTP (RFC 6184): finds where a keyframe starts so a new viewer's video begins with
 * SPS/PPS and an IDR, never mid-GOP. Pure, no allocation.
 */
import { payloadEnd, payloadOffset } from './packet.js';

const NAL_IDR = 5;
const NAL_SPS = 7;
const STAP_A = 24; // RFC 6184 section 5.7.1
const FU_A = 28; // RFC 6184 section 5.8

/** What a packet contributes to a keyframe, if anything. */
export type KeyframePart = 'none' | 'sps' | 'idr';

/**
 * Classifies an H264 RTP packet: `sps` when it carries a sequence parameter set (single NAL or
 * inside a STAP-A), `idr` when it starts an IDR slice (single NAL, STAP-A, or FU-A with S=1).
 */
export function keyframePart(buf: Buffer): KeyframePart {
  const start = payloadOffset(buf);
  const end = payloadEnd(buf);
  if (start < 0 || start >= end) return 'none';
  const type = (buf[start] as number) & 0x1f;
  if (type === NAL_SPS) return 'sps';
  if (type === NAL_IDR) return 'idr';
  if (type === FU_A) {
    if (start + 1 >= end) return 'none';
    const fu = buf[start + 1] as number;
    return fu & 0x80 && (fu & 0x1f) === NAL_IDR ? 'idr' : 'none';
  }
  if (type === STAP_A) {
    let sawIdr = false;
    let off = start + 1;
    while (off + 2 < end) {
      const size = buf.readUInt16BE(off);
      off += 2;
      if (size === 0 || off + size > end) break;
      const t = (buf[off] as number) & 0x1f;
      if (t === NAL_SPS) return 'sps';
      if (t === NAL_IDR) sawIdr = true;
      off += size;
    }
    return sawIdr ? 'idr' : 'none';
  }
  return 'none';
}
