import t from 'tap';
import fc from 'fast-check';
import { buildNack, nackedSequences } from './rtcp.js';

const MEDIA = 0xdeadbeef;

function receiverReport(): Buffer {
  // RR with one report block (RFC 3550 section 6.4.2): 8 + 24 bytes.
  const rr = Buffer.alloc(32);
  rr[0] = 0x81;
  rr[1] = 201;
  rr.writeUInt16BE(7, 2);
  rr.writeUInt32BE(1, 4);
  rr.writeUInt32BE(MEDIA, 8);
  return rr;
}

t.test('reads the PID and every BLP bit of a generic NACK', async (t) => {
  const nack = Buffer.alloc(16);
  nack[0] = 0x81;
  nack[1] = 205;
  nack.writeUInt16BE(3, 2);
  nack.writeUInt32BE(1, 4);
  nack.writeUInt32BE(MEDIA, 8);
  nack.writeUInt16BE(100, 12);
  nack.writeUInt16BE(0b1000_0000_0000_0101, 14);
  const out: number[] = [];
  t.equal(nackedSequences(nack, MEDIA, out, 64), 4);
  t.same(out, [100, 101, 103, 116]);
});

t.test('finds the NACK after a receiver report in a compound packet, wraps at 65535', async (t) => {
  const out: number[] = [];
  const compound = Buffer.concat([receiverReport(), buildNack(1, MEDIA, [65535, 0, 1])]);
  t.equal(nackedSequences(compound, MEDIA, out, 64), 3);
  t.same(out, [65535, 0, 1]);
});

t.test('ignores NACKs for another SSRC, PLI and receiver reports', async (t) => {
  const pli = Buffer.alloc(12);
  pli[0] = 0x81;
  pli[1] = 206;
  pli.writeUInt16BE(2, 2);
  pli.writeUInt32BE(MEDIA, 8);
  const out: number[] = [];
  t.equal(nackedSequences(Buffer.concat([receiverReport(), pli, buildNack(1, 1234, [5])]), MEDIA, out, 64), 0);
  t.same(out, []);
});

t.test('bounds the count a single packet can ask for', async (t) => {
  const seqs = Array.from({ length: 1000 }, (_, i) => i);
  const out: number[] = [];
  t.equal(nackedSequences(buildNack(1, MEDIA, seqs), MEDIA, out, 64), 64);
  t.same(out, seqs.slice(0, 64));
});

t.test('buildNack round-trips through nackedSequences', async (t) => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 65535 }), { maxLength: 40 }), (raw) => {
      const seqs = [...raw].sort((a, b) => a - b);
      const out: number[] = [];
      nackedSequences(buildNack(7, MEDIA, seqs), MEDIA, out, 10000);
      return JSON.stringify(out) === JSON.stringify(seqs);
    }),
  );
  t.pass('round trip holds for sorted unique sequence lists');
});

t.test('never throws on arbitrary bytes, and never exceeds the limit', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 20 }), (bytes, limit) => {
      const out: number[] = [];
      const n = nackedSequences(Buffer.from(bytes), MEDIA, out, limit);
      return n === out.length && n <= limit;
    }),
  );
  t.pass('no throw over random input');
});
