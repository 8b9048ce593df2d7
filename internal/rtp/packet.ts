/**
 * RTP packet inspection and in-place rewriting (RFC 3550 section 5.1). Pure functions over a
 * Buffer: nothing here allocates, so the ingest hot path can call them per packet.
 */

/** Smallest valid RTP packet: the fixed 12-byte header. */
export const RTP_HEADER_BYTES = 12;

/** Largest datagram whepd accepts from FFmpeg (it is told pkt_size=1200; leave headroom). */
export const MAX_RTP_BYTES = 1500;

/** Why a datagram was refused; `ok` means it is an RTP packet whepd forwards. */
export type RtpVerdict = 'ok' | 'rtcp' | 'short' | 'long' | 'version' | 'payloadType' | 'header' | 'padding';

/**
 * RTCP shares the port when FFmpeg is told rtcpport=<same port>; RFC 5761 section 4 tells them
 * apart by the second byte (RTCP packet types 192..223 read as marker+PT 64..95).
 */
export function isRtcp(buf: Buffer): boolean {
  const b = buf[1] as number;
  return buf.length >= 2 && b >= 192 && b <= 223;
}

/**
 * Validates one datagram as RTP v2 with the expected payload type and returns the verdict.
 * Checks the CSRC list, header extension and padding fit inside the datagram.
 */
export function checkRtp(buf: Buffer, expectedPt: number): RtpVerdict {
  const len = buf.length;
  // RTCP first: a receiver report or BYE can be 8 bytes, shorter than an RTP header.
  if (len >= 8 && (buf[0] as number) >> 6 === 2 && isRtcp(buf)) return 'rtcp';
  if (len < RTP_HEADER_BYTES) return 'short';
  if (len > MAX_RTP_BYTES) return 'long';
  const b0 = buf[0] as number;
  if (b0 >> 6 !== 2) return 'version';
  if (isRtcp(buf)) return 'rtcp';
  if (((buf[1] as number) & 0x7f) !== expectedPt) return 'payloadType';
  const offset = payloadOffset(buf);
  if (offset < 0 || offset > len) return 'header';
  if (b0 & 0x20) {
    const pad = buf[len - 1] as number;
    if (pad === 0 || offset + pad > len) return 'padding';
  }
  return 'ok';
}

/** Byte offset of the payload (after CSRCs and any header extension); -1 if the header overruns. */
export function payloadOffset(buf: Buffer): number {
  const b0 = buf[0] as number;
  let offset = RTP_HEADER_BYTES + (b0 & 0x0f) * 4;
  if (b0 & 0x10) {
    if (offset + 4 > buf.length) return -1;
    offset += 4 + buf.readUInt16BE(offset + 2) * 4;
  }
  return offset;
}

/** Payload length after removing padding (call only on packets checkRtp accepted). */
export function payloadEnd(buf: Buffer): number {
  return (buf[0] as number) & 0x20 ? buf.length - (buf[buf.length - 1] as number) : buf.length;
}

/** The 16-bit sequence number. */
export function sequenceNumber(buf: Buffer): number {
  return buf.readUInt16BE(2);
}

/** The 32-bit RTP timestamp. */
export function timestamp(buf: Buffer): number {
  return buf.readUInt32BE(4);
}

/** The 32-bit SSRC. */
export function ssrc(buf: Buffer): number {
  return buf.readUInt32BE(8);
}

/** The 7-bit payload type. */
export function payloadType(buf: Buffer): number {
  return (buf[1] as number) & 0x7f;
}

/** Rewrites the payload type in place, keeping the marker bit. */
export function setPayloadType(buf: Buffer, pt: number): void {
  buf[1] = ((buf[1] as number) & 0x80) | (pt & 0x7f);
}

/** Rewrites the SSRC in place. */
export function setSsrc(buf: Buffer, value: number): void {
  buf.writeUInt32BE(value >>> 0, 8);
}
