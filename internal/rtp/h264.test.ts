import t from 'tap';
import { keyframePart } from './h264.js';

function rtp(payload: number[]): Buffer {
  return Buffer.from([0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, ...payload]);
}

t.test('keyframePart() finds SPS in a single NAL', async (t) => {
  t.equal(keyframePart(rtp([0x67, 0x42])), 'sps');
});
t.test('keyframePart() finds an IDR FU-A start but not its continuation', async (t) => {
  t.equal(keyframePart(rtp([0x7c, 0x85, 0])), 'idr');
  t.equal(keyframePart(rtp([0x7c, 0x05, 0])), 'none');
});

/** An RTP packet with the X and P bits set: one extension word, then payload, then `pad` padding bytes. */
function rtpWithExtAndPadding(payload: number[], pad: number): Buffer {
  const padding = [...new Array<number>(pad - 1).fill(0), pad];
  return Buffer.from([0xb0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0, ...payload, ...padding]);
}

const SPS = [0x67, 0x42, 0xc0, 0x1f];
const PPS = [0x68, 0xce, 0x3c, 0x80];
const IDR = [0x65, 0x88, 0x84];
const SLICE = [0x41, 0x9a, 0x00];

/** A STAP-A (RFC 6184 section 5.7.1): NAL header 24, then 16-bit size + NAL unit for each. */
function stapA(...nals: number[][]): number[] {
  return [0x78, ...nals.flatMap((n) => [n.length >> 8, n.length & 0xff, ...n])];
}

t.test('keyframePart() finds an IDR in a single NAL', async (t) => {
  t.equal(keyframePart(rtp(IDR)), 'idr');
  t.equal(keyframePart(rtp([0x25, 0xb8])), 'idr', 'nal_ref_idc does not matter');
  t.equal(keyframePart(rtp(SLICE)), 'none', 'non-IDR slice');
  t.equal(keyframePart(rtp(PPS)), 'none', 'PPS alone');
  t.equal(keyframePart(rtp([0x06, 0x05])), 'none', 'SEI');
});

t.test('keyframePart() says sps for a STAP-A holding SPS+PPS+IDR', async (t) => {
  t.equal(keyframePart(rtp(stapA(SPS, PPS, IDR))), 'sps');
  t.equal(keyframePart(rtp(stapA([0x09, 0xf0], SPS, PPS))), 'sps', 'SPS after an access unit delimiter');
});

t.test('keyframePart() says idr for a STAP-A holding only an IDR', async (t) => {
  t.equal(keyframePart(rtp(stapA(IDR))), 'idr');
  t.equal(keyframePart(rtp(stapA(PPS, IDR))), 'idr', 'PPS then IDR');
  t.equal(keyframePart(rtp(stapA(PPS, SLICE))), 'none', 'no SPS and no IDR');
  t.equal(keyframePart(rtp(stapA([0x65]))), 'idr', 'one-byte IDR NAL at the very end');
});

t.test('keyframePart() survives a STAP-A with truncated size fields', async (t) => {
  t.equal(keyframePart(rtp([0x78])), 'none', 'STAP-A header only');
  t.equal(keyframePart(rtp([0x78, 0x00])), 'none', 'half a size field');
  t.equal(keyframePart(rtp([0x78, 0x00, 0x02])), 'none', 'size with no NAL');
  t.equal(keyframePart(rtp([0x78, 0x00, 0x40, ...SPS])), 'none', 'size 64 overruns a 4-byte NAL');
  t.equal(keyframePart(rtp([0x78, 0x00, 0x00, ...SPS])), 'none', 'size 0 stops the walk');
  t.equal(keyframePart(rtp([0x78, 0xff, 0xff])), 'none', 'size 65535 on an empty STAP-A');
  t.equal(keyframePart(rtp([...stapA(IDR), 0x00, 0x40, 0x67])), 'idr', 'valid IDR then a truncated SPS entry: best effort');
  t.equal(keyframePart(rtp([...stapA(PPS), 0x00])), 'none', 'trailing half size after a PPS');
});

t.test('keyframePart() ignores FU-A starts of non-IDR slices and FU-A fragments without a header', async (t) => {
  t.equal(keyframePart(rtp([0x7c, 0x81, 0x9a])), 'none', 'FU-A S=1 type 1');
  t.equal(keyframePart(rtp([0x7c, 0x87, 0])), 'none', 'FU-A S=1 type 7 is not an IDR start');
  t.equal(keyframePart(rtp([0x7c, 0x45, 0])), 'none', 'FU-A end fragment of an IDR');
  t.equal(keyframePart(rtp([0x7c])), 'none', 'FU indicator with no FU header');
  t.equal(keyframePart(rtp([0x5c, 0x85])), 'idr', 'FU-A start of IDR with nal_ref_idc 2');
});

t.test('keyframePart() looks past the header extension and ignores padding', async (t) => {
  t.equal(keyframePart(rtpWithExtAndPadding(SPS, 3)), 'sps');
  t.equal(keyframePart(rtpWithExtAndPadding(stapA(PPS, IDR), 4)), 'idr');
  t.equal(keyframePart(rtpWithExtAndPadding([0x7c, 0x85, 0], 1)), 'idr');
  t.equal(keyframePart(rtpWithExtAndPadding(SLICE, 2)), 'none');
  // The padding bytes themselves look like an SPS header; they must not be read as payload.
  const padOnly = Buffer.from([0xb0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0, 0x67, 0x67, 3]);
  t.equal(keyframePart(padOnly), 'none', 'payload is all padding');
  // A STAP-A whose last entry would reach into the padding is cut at the payload end.
  const stap = stapA(IDR, SPS);
  stap[stap.length - SPS.length - 1] = SPS.length + 2; // SPS entry claims 2 bytes more than the payload has
  t.equal(keyframePart(rtpWithExtAndPadding(stap, 2)), 'idr', 'SPS entry overrunning into padding is not trusted');
});

t.test('keyframePart() returns none for packets whose header overruns', async (t) => {
  t.equal(keyframePart(Buffer.alloc(0)), 'none', 'empty buffer');
  t.equal(keyframePart(Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe])), 'none', 'X bit, extension header cut');
  t.equal(keyframePart(Buffer.from([0x8f, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x65])), 'none', 'CC=15 on 13 bytes');
  t.equal(keyframePart(rtp([])), 'none', 'no payload');
  const csrc = Buffer.from([0x81, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x67, 0, 0, 0, ...IDR]);
  t.equal(keyframePart(csrc), 'idr', 'CSRC that looks like an SPS header is skipped');
});
