/** Receiver reports and feedback read from crafted RTCP, malformed and hostile packets included. */
import t from 'tap';
import { buildNack } from './rtcp.js';
import { buildPli, buildReceiverReport, readReceiverFeedback } from './receiver-report.js';
import { senderReportBytes, writeSenderReport } from './sender-report.js';

const VIDEO = 0x11223344;
const block = { ssrc: VIDEO, fractionLost: 13 / 256, packetsLost: 42, highestSeq: 0x1_0005, jitter: 900, lsr: 0xabcd1234, dlsr: 65536 / 10 };

t.test('readReceiverFeedback() reads the report block about our SSRC', async (t) => {
  const fb = readReceiverFeedback(buildReceiverReport(1, block), VIDEO);
  t.same(fb, { block: { fractionLost: 13 / 256, packetsLost: 42, highestSeq: 0x1_0005, jitter: 900, lsr: 0xabcd1234, dlsr: 6553 }, nacks: 0, plis: 0 });
  t.equal(readReceiverFeedback(buildReceiverReport(1, block), 0x99).block, undefined, 'a block about another source is skipped');
});

t.test('readReceiverFeedback() keeps a negative cumulative loss (duplicates) and the 8-bit fraction', async (t) => {
  const fb = readReceiverFeedback(buildReceiverReport(1, { ...block, packetsLost: -3, fractionLost: 255 / 256 }), VIDEO);
  t.equal(fb.block?.packetsLost, -3);
  t.equal(fb.block?.fractionLost, 255 / 256);
});

t.test('readReceiverFeedback() walks a compound packet: SR with blocks, RR, NACK and PLI', async (t) => {
  // A viewer that also sends (sendrecv) reports in an SR: 20 bytes of sender info before its blocks.
  const sr = Buffer.alloc(senderReportBytes(4));
  const n = writeSenderReport(sr, { ssrc: 7, ntpMs: Date.now(), rtp: 1, packets: 1, octets: 1 }, Buffer.from('test'));
  const rr = buildReceiverReport(7, block);
  const srWithBlock = Buffer.concat([sr.subarray(0, 28), rr.subarray(8)]);
  srWithBlock[0] = 0x81;
  srWithBlock.writeUInt16BE(srWithBlock.length / 4 - 1, 2);
  const compound = Buffer.concat([srWithBlock, sr.subarray(28, n), buildNack(7, VIDEO, [1, 2, 40]), buildPli(7, VIDEO), buildPli(7, 0x99)]);
  const fb = readReceiverFeedback(compound, VIDEO);
  t.equal(fb.block?.jitter, 900, 'the block after the sender info');
  t.equal(fb.nacks, 1, 'one NACK message (with two FCIs)');
  t.equal(fb.plis, 1, 'the PLI about another source is not ours');
});

t.test('readReceiverFeedback() stops at malformed parts and never throws', async (t) => {
  const rr = buildReceiverReport(1, block);
  t.same(readReceiverFeedback(rr.subarray(0, 20), VIDEO), { block: undefined, nacks: 0, plis: 0 }, 'truncated');
  const lying = Buffer.from(rr);
  lying[0] = 0x80 | 31; // claims 31 blocks in a packet with room for one
  t.equal(readReceiverFeedback(lying, VIDEO).block?.jitter, 900, 'only the blocks that fit are read');
  t.same(readReceiverFeedback(Buffer.from([0x00, 201, 0, 1]), VIDEO).block, undefined, 'not version 2');
  t.same(readReceiverFeedback(Buffer.alloc(0), VIDEO).block, undefined);
  const many = Buffer.concat(Array.from({ length: 100 }, () => buildPli(1, VIDEO)));
  t.equal(readReceiverFeedback(many, VIDEO).plis, 16, 'at most 16 parts of a compound packet are read');
});
