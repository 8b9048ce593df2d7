/** Reception figures from crafted RTCP: loss, jitter, and RTT from LSR/DLSR against our own SRs. */
import t from 'tap';
import { buildNack, buildPli, buildReceiverReport, senderReportBytes, writeSenderReport } from '../rtp/index.js';
import { ReceptionQuality } from './quality.js';

const VIDEO = 1111;
const AUDIO = 2222;
const rr = (ssrc: number, o: { fractionLost?: number; packetsLost?: number; jitter?: number; lsr?: number; dlsr?: number } = {}) =>
  buildReceiverReport(9, { ssrc, fractionLost: 0, packetsLost: 0, highestSeq: 100, jitter: 0, lsr: 0, dlsr: 0, ...o });

t.test('ReceptionQuality has no figures before the viewer reports', async (t) => {
  t.same(new ReceptionQuality(VIDEO, AUDIO).snapshot(), { nacks: 0, plis: 0, receiverReports: 0 });
});

t.test('ReceptionQuality keeps each track\'s loss and jitter (ms on its clock rate)', async (t) => {
  const q = new ReceptionQuality(VIDEO, AUDIO);
  q.rtcp('video', rr(VIDEO, { fractionLost: 13 / 256, packetsLost: 57, jitter: 900 }), 1000);
  q.rtcp('audio', rr(AUDIO, { packetsLost: 2, jitter: 480 }), 1000);
  q.rtcp('video', rr(AUDIO, { packetsLost: 999 }), 1000);
  const s = q.snapshot();
  t.same(s.video, { fractionLost: 13 / 256, packetsLost: 57, jitterMs: 10 }, '900 at 90 kHz is 10 ms');
  t.same(s.audio, { fractionLost: 0, packetsLost: 2, jitterMs: 10 }, '480 at 48 kHz is 10 ms');
  t.equal(s.receiverReports, 2, 'a block about the other track\'s SSRC on the video track is not counted');
  t.equal(s.rttMs, undefined, 'LSR 0: no SR received yet, no RTT');
});

t.test('ReceptionQuality RTT = arrival - our SR send time - DLSR, for an LSR we sent', async (t) => {
  const q = new ReceptionQuality(VIDEO, AUDIO);
  // The LSR is read back from the SR as written, the way sendSenderReport() does it.
  const sr = Buffer.alloc(senderReportBytes(4));
  writeSenderReport(sr, { ssrc: VIDEO, ntpMs: 1_700_000_000_123.456, rtp: 0, packets: 0, octets: 0 }, Buffer.from('cnam'));
  const lsr = sr.readUInt32BE(10);
  t.equal(lsr, ((sr.readUInt32BE(8) & 0xffff) << 16 | sr.readUInt32BE(12) >>> 16) >>> 0, 'byte 10 is the NTP middle 32 bits');
  q.senderReportSent(12345, 400);
  q.senderReportSent(lsr, 1000);
  // The viewer held the SR 100 ms; it arrives 180 ms after we sent it: 80 ms of network.
  q.rtcp('video', rr(VIDEO, { lsr, dlsr: (100 / 1000) * 65536 }), 1180);
  t.ok(Math.abs(q.snapshot().rttMs! - 80) < 0.01, `rtt ${q.snapshot().rttMs}`);
  q.rtcp('audio', rr(AUDIO, { lsr: 777, dlsr: 0 }), 1500);
  t.ok(Math.abs(q.snapshot().rttMs! - 80) < 0.01, 'an LSR we never sent leaves the RTT as it was');
  q.rtcp('video', rr(VIDEO, { lsr, dlsr: 65536 * 10 }), 1200);
  t.ok(Math.abs(q.snapshot().rttMs! - 80) < 0.01, 'a DLSR longer than the time since the SR is ignored');
});

t.test('ReceptionQuality forgets SRs older than the last eight', async (t) => {
  const q = new ReceptionQuality(VIDEO, AUDIO);
  for (let i = 1; i <= 9; i++) q.senderReportSent(i, i * 1000);
  q.rtcp('video', rr(VIDEO, { lsr: 1 }), 10_000);
  t.equal(q.snapshot().rttMs, undefined);
  q.rtcp('video', rr(VIDEO, { lsr: 9 }), 9_020);
  t.ok(Math.abs(q.snapshot().rttMs! - 20) < 0.01);
});

t.test('ReceptionQuality counts NACK and PLI messages about the video', async (t) => {
  const q = new ReceptionQuality(VIDEO, AUDIO);
  q.rtcp('video', Buffer.concat([buildNack(9, VIDEO, [5, 6]), buildPli(9, VIDEO)]), 0);
  q.rtcp('video', buildNack(9, VIDEO, [7]), 0);
  t.same(q.snapshot(), { nacks: 2, plis: 1, receiverReports: 0 });
});
