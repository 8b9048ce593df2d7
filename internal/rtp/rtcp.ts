/**
 * Reading what viewers send back: generic NACKs (RFC 4585 section 6.2.1) inside a compound RTCP
 * packet (RFC 3550 section 6.1). Pure and bounded: a viewer controls these bytes.
 */

const RTPFB = 205;
const GENERIC_NACK_FMT = 1;

/**
 * Appends to `out` the sequence numbers the packet NACKs for `mediaSsrc`, at most `limit` of them
 * (a hostile viewer could otherwise ask for thousands of retransmissions with one datagram), and
 * returns how many it appended. Malformed packets end the walk; nothing throws.
 */
export function nackedSequences(rtcp: Buffer, mediaSsrc: number, out: number[], limit: number): number {
  let found = 0;
  let off = 0;
  const len = rtcp.length;
  while (off + 4 <= len && found < limit) {
    const b0 = rtcp[off] as number;
    if (b0 >> 6 !== 2) break;
    const size = (rtcp.readUInt16BE(off + 2) + 1) * 4;
    if (off + size > len) break;
    if (rtcp[off + 1] === RTPFB && (b0 & 0x1f) === GENERIC_NACK_FMT && size >= 12 && rtcp.readUInt32BE(off + 8) === mediaSsrc >>> 0) {
      for (let fci = off + 12; fci + 4 <= off + size && found < limit; fci += 4) {
        const pid = rtcp.readUInt16BE(fci);
        const blp = rtcp.readUInt16BE(fci + 2);
        out.push(pid);
        found++;
        for (let bit = 0; bit < 16 && found < limit; bit++) {
          if (blp & (1 << bit)) {
            out.push((pid + bit + 1) & 0xffff);
            found++;
          }
        }
      }
    }
    off += size;
  }
  return found;
}

/** Builds a generic NACK for `seqs` (for tests and tools; whepd itself never sends one). */
export function buildNack(senderSsrc: number, mediaSsrc: number, seqs: readonly number[]): Buffer {
  const fcis: [number, number][] = [];
  for (const seq of seqs) {
    const last = fcis[fcis.length - 1];
    const d = last ? (seq - last[0]) & 0xffff : 0;
    if (last && d >= 1 && d <= 16) last[1] |= 1 << (d - 1);
    else fcis.push([seq & 0xffff, 0]);
  }
  const buf = Buffer.alloc(12 + fcis.length * 4);
  buf[0] = 0x80 | GENERIC_NACK_FMT;
  buf[1] = RTPFB;
  buf.writeUInt16BE(buf.length / 4 - 1, 2);
  buf.writeUInt32BE(senderSsrc >>> 0, 4);
  buf.writeUInt32BE(mediaSsrc >>> 0, 8);
  fcis.forEach(([pid, blp], i) => {
    buf.writeUInt16BE(pid, 12 + i * 4);
    buf.writeUInt16BE(blp, 14 + i * 4);
  });
  return buf;
}
