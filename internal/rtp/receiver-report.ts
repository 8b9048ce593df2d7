/**
 * Reading a viewer's reception from its RTCP (RFC 3550 section 6.4: the report blocks of RR and
 * SR packets; RFC 4585 section 6: generic NACK and PLI feedback) inside a compound packet. Pure
 * and bounded: a viewer controls these bytes. Called per RTCP datagram (about one a second per
 * viewer and track), never per RTP packet.
 */

const SR = 200;
const RR = 201;
const RTPFB = 205;
const PSFB = 206;
const GENERIC_NACK_FMT = 1;
const PLI_FMT = 1;
const REPORT_BLOCK_BYTES = 24;
// A compound packet has a handful of parts; the bound keeps a hostile one cheap.
const MAX_PARTS = 16;

/** One report block about a source whepd sends (RFC 3550 section 6.4.1). */
export interface ReportBlock {
  /** Fraction of packets lost since the previous report, 0..1 (the 8-bit field / 256). */
  fractionLost: number;
  /** Packets lost since reception began; negative when duplicates outnumber losses. */
  packetsLost: number;
  /** Extended highest sequence number received. */
  highestSeq: number;
  /** Interarrival jitter in RTP timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP time of the last SR the viewer got from us (0: none yet). */
  lsr: number;
  /** Delay since that SR, in 1/65536 s. */
  dlsr: number;
}

/** What one RTCP datagram says about one of our sources. */
export interface ReceiverFeedback {
  /** The last report block about `mediaSsrc`, if the datagram had one. */
  block: ReportBlock | undefined;
  /** Generic NACK feedback messages for `mediaSsrc`. */
  nacks: number;
  /** Picture loss indications for `mediaSsrc`. */
  plis: number;
}

/** Reads the report blocks and feedback about `mediaSsrc`; malformed parts end the walk; never throws. */
export function readReceiverFeedback(rtcp: Buffer, mediaSsrc: number): ReceiverFeedback {
  const out: ReceiverFeedback = { block: undefined, nacks: 0, plis: 0 };
  const want = mediaSsrc >>> 0;
  let off = 0;
  const len = rtcp.length;
  for (let part = 0; part < MAX_PARTS && off + 4 <= len; part++) {
    const b0 = rtcp[off] as number;
    if (b0 >> 6 !== 2) break;
    const size = (rtcp.readUInt16BE(off + 2) + 1) * 4;
    if (off + size > len) break;
    const pt = rtcp[off + 1] as number;
    const count = b0 & 0x1f;
    if (pt === SR || pt === RR) {
      // RR: header + sender SSRC (8 bytes); SR adds 20 bytes of sender info before the blocks.
      let blockAt = off + (pt === SR ? 28 : 8);
      for (let i = 0; i < count && blockAt + REPORT_BLOCK_BYTES <= off + size; i++, blockAt += REPORT_BLOCK_BYTES) {
        if (rtcp.readUInt32BE(blockAt) !== want) continue;
        out.block = {
          fractionLost: (rtcp[blockAt + 4] as number) / 256,
          packetsLost: rtcp.readIntBE(blockAt + 5, 3),
          highestSeq: rtcp.readUInt32BE(blockAt + 8),
          jitter: rtcp.readUInt32BE(blockAt + 12),
          lsr: rtcp.readUInt32BE(blockAt + 16),
          dlsr: rtcp.readUInt32BE(blockAt + 20),
        };
      }
    } else if ((pt === RTPFB || pt === PSFB) && size >= 12 && rtcp.readUInt32BE(off + 8) === want) {
      if (pt === RTPFB && count === GENERIC_NACK_FMT) out.nacks++;
      else if (pt === PSFB && count === PLI_FMT) out.plis++;
    }
    off += size;
  }
  return out;
}

/** Builds an RR with one report block (for tests and tools; whepd sends none). */
export function buildReceiverReport(senderSsrc: number, block: ReportBlock & { ssrc: number }): Buffer {
  const buf = Buffer.alloc(8 + REPORT_BLOCK_BYTES);
  buf[0] = 0x81;
  buf[1] = RR;
  buf.writeUInt16BE(buf.length / 4 - 1, 2);
  buf.writeUInt32BE(senderSsrc >>> 0, 4);
  buf.writeUInt32BE(block.ssrc >>> 0, 8);
  buf[12] = Math.min(255, Math.max(0, Math.floor(block.fractionLost * 256)));
  buf.writeIntBE(Math.max(-0x800000, Math.min(0x7fffff, block.packetsLost)), 13, 3);
  buf.writeUInt32BE(block.highestSeq >>> 0, 16);
  buf.writeUInt32BE(block.jitter >>> 0, 20);
  buf.writeUInt32BE(block.lsr >>> 0, 24);
  buf.writeUInt32BE(block.dlsr >>> 0, 28);
  return buf;
}

/** Builds a PLI (RFC 4585 section 6.3.1), for tests. */
export function buildPli(senderSsrc: number, mediaSsrc: number): Buffer {
  const buf = Buffer.alloc(12);
  buf[0] = 0x80 | PLI_FMT;
  buf[1] = PSFB;
  buf.writeUInt16BE(2, 2);
  buf.writeUInt32BE(senderSsrc >>> 0, 4);
  buf.writeUInt32BE(mediaSsrc >>> 0, 8);
  return buf;
}
