import t from 'tap';
import { MediaClock, readSenderReport, senderReportBytes, writeSenderReport } from './sender-report.js';

t.test('an SR written with a CNAME reads back the same, as a valid compound RTCP packet', async (t) => {
  const cname = Buffer.from('whepd-demo');
  const out = Buffer.alloc(senderReportBytes(cname.length));
  const sr = { ssrc: 0xdeadbeef, ntpMs: 1796051857554.25, rtp: 4294967000, packets: 1234, octets: 987654 };
  const n = writeSenderReport(out, sr, cname);
  t.equal(n, out.length, 'fills exactly senderReportBytes()');
  t.equal(n % 4, 0, '32-bit aligned');
  t.equal(out.readUInt16BE(2), 6, 'SR length field: 6 words after the first');
  t.equal(out[29], 202, 'SDES follows');
  t.equal((out.readUInt16BE(30) + 1) * 4 + 28, n, 'SDES length covers the rest');
  t.equal(out.subarray(38, 38 + cname.length).toString(), 'whepd-demo', 'CNAME text');
  t.equal(out[38 + cname.length], 0, 'item list ends with a null octet');
  const back = readSenderReport(out);
  t.ok(back, 'reads back');
  t.equal(back?.ssrc, sr.ssrc);
  t.equal(back?.rtp, sr.rtp);
  t.equal(back?.packets, 1234);
  t.equal(back?.octets, 987654);
  t.ok(Math.abs((back?.ntpMs ?? 0) - sr.ntpMs) < 0.001, `NTP within 1 us (${back?.ntpMs})`);
});

t.test('an SR is found behind an RR in a compound packet; malformed input reads as none', async (t) => {
  const sr = Buffer.alloc(28);
  const full = Buffer.alloc(senderReportBytes(1));
  writeSenderReport(full, { ssrc: 7, ntpMs: 1e12, rtp: 90000, packets: 1, octets: 2 }, Buffer.from('x'));
  full.copy(sr, 0, 0, 28);
  const rr = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 9]);
  t.equal(readSenderReport(Buffer.concat([rr, sr]))?.ssrc, 7, 'SR after an empty RR');
  t.equal(readSenderReport(rr), undefined, 'an RR alone is no SR');
  t.equal(readSenderReport(sr.subarray(0, 27)), undefined, 'truncated SR');
  t.equal(readSenderReport(Buffer.alloc(0)), undefined, 'empty');
  const badVersion = Buffer.from(sr);
  badVersion[0] = 0x40;
  t.equal(readSenderReport(badVersion), undefined, 'version 1');
  const huge = Buffer.from(sr);
  huge.writeUInt16BE(0xffff, 2);
  t.equal(readSenderReport(huge), undefined, 'length past the end');
  // A chain of 1000 empty RRs is walked at most 8 parts deep.
  const chain = Buffer.concat([...Array.from({ length: 1000 }, () => rr), sr]);
  t.equal(readSenderReport(chain), undefined, 'bounded walk');
});

t.test('the media clock maps wallclock to each track on its own line, wraps at 2^32 and resets', async (t) => {
  const clock = new MediaClock(90000, 48000);
  t.equal(clock.ready, false);
  t.equal(clock.videoRtpAt(0), undefined, 'no mapping yet');
  clock.setVideo({ ntpMs: 1000, rtp: 2 ** 32 - 45000 });
  t.equal(clock.ready, false, 'one track is not enough');
  clock.setAudio({ ntpMs: 1000, rtp: 100 });
  t.equal(clock.ready, true);
  t.equal(clock.videoRtpAt(1000), 2 ** 32 - 45000);
  t.equal(clock.videoRtpAt(2000), 45000, 'one second later, past the wrap');
  t.equal(clock.videoRtpAt(0), 2 ** 32 - 135000, 'before the point');
  t.equal(clock.audioRtpAt(1020), 100 + 960, '20 ms of Opus');
  clock.reset();
  t.equal(clock.ready, false);
  t.equal(clock.audioRtpAt(1020), undefined, 'a reset forgets the run');
});
