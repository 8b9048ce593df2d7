import t from 'tap';
import {
  MAX_RTP_BYTES,
  RTP_HEADER_BYTES,
  checkRtp,
  isRtcp,
  payloadEnd,
  payloadOffset,
  payloadType,
  sequenceNumber,
  setPayloadType,
  setSsrc,
  ssrc,
  timestamp,
} from './packet.js';


interface PacketSpec {
  version?: number;
  padding?: number;
  csrcs?: number[];
  /** Extension words (each 4 bytes); the header declares `extLength` words (defaults to the real count). */
  extension?: number[];
  extLength?: number;
  marker?: boolean;
  pt?: number;
  seq?: number;
  ts?: number;
  ssrc?: number;
  payload?: number[];
}

/** Builds an RTP packet byte by byte (RFC 3550 section 5.1). */
function rtp(s: PacketSpec = {}): Buffer {
  const csrcs = s.csrcs ?? [];
  const payload = s.payload ?? [0xaa, 0xbb, 0xcc];
  const bytes: number[] = [];
  const b0 = ((s.version ?? 2) << 6) | (s.padding ? 0x20 : 0) | (s.extension ? 0x10 : 0) | csrcs.length;
  bytes.push(b0, (s.marker ? 0x80 : 0) | (s.pt ?? 96));
  const head = Buffer.alloc(10);
  head.writeUInt16BE(s.seq ?? 1, 0);
  head.writeUInt32BE(s.ts ?? 0, 2);
  head.writeUInt32BE(s.ssrc ?? 0x01020304, 6);
  bytes.push(...head);
  for (const c of csrcs) {
    const w = Buffer.alloc(4);
    w.writeUInt32BE(c, 0);
    bytes.push(...w);
  }
  if (s.extension) {
    const len = s.extLength ?? s.extension.length;
    bytes.push(0xbe, 0xde, (len >> 8) & 0xff, len & 0xff);
    for (const word of s.extension) {
      const w = Buffer.alloc(4);
      w.writeUInt32BE(word, 0);
      bytes.push(...w);
    }
  }
  bytes.push(...payload);
  if (s.padding) {
    for (let i = 1; i < s.padding; i++) bytes.push(0);
    bytes.push(s.padding);
  }
  return Buffer.from(bytes);
}

t.test('checkRtp() accepts a plain RTP v2 packet with the expected PT', async (t) => {
  t.equal(checkRtp(rtp(), 96), 'ok');
  t.equal(checkRtp(rtp({ marker: true }), 96), 'ok', 'marker bit is not part of the PT');
  t.equal(checkRtp(rtp({ payload: [] }), 96), 'ok', 'a bare 12-byte header is acceptable');
  t.equal(checkRtp(rtp({ pt: 97 }), 97), 'ok');
});

t.test('checkRtp() refuses short and long datagrams', async (t) => {
  t.equal(checkRtp(Buffer.alloc(0), 96), 'short');
  t.equal(checkRtp(rtp().subarray(0, RTP_HEADER_BYTES - 1), 96), 'short');
  const exact = rtp({ payload: new Array(MAX_RTP_BYTES - RTP_HEADER_BYTES).fill(1) });
  t.equal(exact.length, MAX_RTP_BYTES);
  t.equal(checkRtp(exact, 96), 'ok', '1500 bytes is the limit, inclusive');
  const long = rtp({ payload: new Array(MAX_RTP_BYTES - RTP_HEADER_BYTES + 1).fill(1) });
  t.equal(long.length, 1501);
  t.equal(checkRtp(long, 96), 'long');
});

t.test('checkRtp() refuses versions other than 2', async (t) => {
  for (const version of [0, 1, 3]) t.equal(checkRtp(rtp({ version }), 96), 'version', `version ${version}`);
});

t.test('checkRtp() refuses an unexpected payload type', async (t) => {
  t.equal(checkRtp(rtp({ pt: 97 }), 96), 'payloadType');
  t.equal(checkRtp(rtp({ pt: 0 }), 96), 'payloadType');
  t.equal(checkRtp(rtp({ pt: 97, marker: true }), 96), 'payloadType', 'PT 97 with marker (second byte 225)');
});

t.test('checkRtp() classifies RTCP by its second byte (RFC 5761)', async (t) => {
  // A sender report: V=2, RC=0, PT=200, length 6 words.
  const sr = Buffer.alloc(28);
  sr[0] = 0x80;
  sr[1] = 200;
  sr.writeUInt16BE(6, 2);
  t.equal(checkRtp(sr, 96), 'rtcp');
  t.equal(isRtcp(sr), true);
  for (const b1 of [192, 201, 223]) {
    const p = Buffer.from(sr);
    p[1] = b1;
    t.equal(checkRtp(p, 96), 'rtcp', `second byte ${b1}`);
  }
  for (const b1 of [191, 224, 96, 127]) {
    const p = Buffer.from(sr);
    p[1] = b1;
    t.equal(isRtcp(p), false, `second byte ${b1} is not RTCP`);
  }
  t.equal(isRtcp(Buffer.from([0x80])), false, 'one byte is not RTCP');
});

t.test(
  'checkRtp() classifies RTCP packets shorter than an RTP header as rtcp',
  async (t) => {
    // Receiver report with no report blocks: V=2 RC=0, PT=201, length 1 word, sender SSRC.
    const rr = Buffer.from([0x80, 201, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44]);
    t.equal(checkRtp(rr, 96), 'rtcp');
    // BYE for one SSRC: V=2 SC=1, PT=203, length 1 word.
    const bye = Buffer.from([0x81, 203, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44]);
    t.equal(checkRtp(bye, 96), 'rtcp');
  },
);

t.test('checkRtp() refuses a CSRC list that overruns the datagram', async (t) => {
  const p = rtp({ payload: [0xff] });
  p[0] = 0x80 | 15; // CC=15 claims 60 bytes of CSRCs on a 13-byte packet
  t.equal(p.length, 13);
  t.equal(checkRtp(p, 96), 'header');
  const fits = rtp({ csrcs: [1, 2, 3], payload: [] });
  t.equal(checkRtp(fits, 96), 'ok', 'CSRCs that exactly fill the packet are fine');
  const over = fits.subarray(0, fits.length - 1);
  t.equal(checkRtp(over, 96), 'header', 'one byte short of the CSRC list');
});

t.test('checkRtp() refuses a header extension that overruns the datagram', async (t) => {
  t.equal(checkRtp(rtp({ extension: [0x10ff0000] }), 96), 'ok');
  t.equal(checkRtp(rtp({ extension: [1], extLength: 200, payload: [1, 2, 3] }), 96), 'header', 'length field says 200 words');
  const noExtHeader = rtp({ payload: [1, 2] });
  noExtHeader[0] = (noExtHeader[0] as number) | 0x10; // X=1 but only 2 bytes follow the fixed header
  t.equal(checkRtp(noExtHeader, 96), 'header', 'X bit set with no room for the extension header');
});

t.test('checkRtp() refuses bad padding', async (t) => {
  t.equal(checkRtp(rtp({ padding: 4 }), 96), 'ok');
  const zero = rtp({ padding: 4 });
  zero[zero.length - 1] = 0;
  t.equal(checkRtp(zero, 96), 'padding', 'padding count 0');
  const tooMuch = rtp({ payload: [1, 2], padding: 2 });
  tooMuch[tooMuch.length - 1] = 255;
  t.equal(checkRtp(tooMuch, 96), 'padding', 'padding count larger than the packet');
  const eatsHeader = rtp({ csrcs: [7], payload: [], padding: 1 });
  eatsHeader[eatsHeader.length - 1] = 2; // would eat into the CSRC list
  t.equal(checkRtp(eatsHeader, 96), 'padding', 'padding reaching into the CSRC list');
});

t.test('payloadOffset() skips CSRCs and the header extension', async (t) => {
  t.equal(payloadOffset(rtp()), 12);
  t.equal(payloadOffset(rtp({ csrcs: [1, 2] })), 20);
  t.equal(payloadOffset(rtp({ extension: [1, 2, 3] })), 12 + 4 + 12);
  const both = rtp({ csrcs: [9], extension: [5], payload: [0x65, 0x88] });
  t.equal(payloadOffset(both), 12 + 4 + 4 + 4);
  t.equal(both[payloadOffset(both)], 0x65, 'offset points at the first payload byte');
  const x = rtp({ payload: [1] });
  x[0] = (x[0] as number) | 0x10;
  t.equal(payloadOffset(x), -1, 'extension header itself does not fit');
});

t.test('payloadEnd() removes padding', async (t) => {
  const plain = rtp({ payload: [1, 2, 3] });
  t.equal(payloadEnd(plain), plain.length);
  const padded = rtp({ payload: [1, 2, 3], padding: 5 });
  t.equal(padded.length, 12 + 3 + 5);
  t.equal(payloadEnd(padded), 15);
  t.same([...padded.subarray(payloadOffset(padded), payloadEnd(padded))], [1, 2, 3]);
});

t.test('sequenceNumber() / timestamp() / ssrc() / payloadType() read the header', async (t) => {
  const p = rtp({ seq: 0xfffe, ts: 0xdeadbeef, ssrc: 0xcafebabe, pt: 111, marker: true });
  t.equal(sequenceNumber(p), 0xfffe);
  t.equal(timestamp(p), 0xdeadbeef);
  t.equal(ssrc(p), 0xcafebabe);
  t.equal(payloadType(p), 111);
});

t.test('setPayloadType() rewrites the PT in place and keeps the marker bit', async (t) => {
  const marked = rtp({ pt: 96, marker: true });
  setPayloadType(marked, 108);
  t.equal(marked[1], 0x80 | 108);
  t.equal(payloadType(marked), 108);
  const unmarked = rtp({ pt: 96 });
  setPayloadType(unmarked, 111);
  t.equal(unmarked[1], 111);
  setPayloadType(unmarked, 0x80 | 5);
  t.equal(unmarked[1], 5, 'a PT above 127 cannot set the marker');
  t.equal(unmarked[0], 0x80, 'first byte untouched');
  t.equal(sequenceNumber(unmarked), 1, 'rest of header untouched');
});

t.test('setSsrc() rewrites the SSRC in place and leaves the rest', async (t) => {
  const p = rtp({ seq: 7, ts: 1234, ssrc: 1, payload: [9, 8] });
  const before = Buffer.from(p);
  setSsrc(p, 0xffffffff);
  t.equal(ssrc(p), 0xffffffff);
  setSsrc(p, -1);
  t.equal(ssrc(p), 0xffffffff, 'negative numbers wrap to uint32');
  setSsrc(p, 0x11223344);
  t.same([...p.subarray(8, 12)], [0x11, 0x22, 0x33, 0x44]);
  t.same(p.subarray(0, 8), before.subarray(0, 8), 'bytes before the SSRC unchanged');
  t.same(p.subarray(12), before.subarray(12), 'payload unchanged');
});
