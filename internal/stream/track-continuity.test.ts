import t from 'tap';
import { TrackContinuity } from './track-continuity.js';

const rtp = (seq: number, ts: number) => {
  const p = Buffer.alloc(12);
  p[0] = 0x80;
  p.writeUInt16BE(seq, 2);
  p.writeUInt32BE(ts >>> 0, 4);
  return p;
};

t.test('TrackContinuity.pass() leaves the first run alone and continues the next one at last + 1, real time later', async (t) => {
  const c = new TrackContinuity(48000);
  const first = [rtp(65534, 4294966000), rtp(65535, 4294966960), rtp(0, 624)];
  for (const p of first) c.pass(p, () => 0);
  t.same(first.map((p) => p.readUInt16BE(2)), [65534, 65535, 0], 'untouched, wrap included');
  c.runEnded(10_000);
  t.notOk(c.anchored, 'waiting for the next run');
  const next = rtp(1234, 999_999);
  c.pass(next, () => 10_500);
  t.ok(c.anchored);
  t.equal(next.readUInt16BE(2), 1, 'sequence goes on at last + 1');
  t.equal(next.readUInt32BE(4), 624 + 24000, 'timestamp goes on by the 500 ms that passed, at 48 kHz');
  const after = rtp(1235, 999_999 + 960);
  c.pass(after, () => 10_520);
  t.same([after.readUInt16BE(2), after.readUInt32BE(4)], [2, 624 + 24000 + 960], 'the same offsets for the rest of the run');
  t.equal(c.shifted(999_999), 624 + 24000, 'an SR timestamp of the run maps like its packets');
  c.reset();
  const fresh = rtp(7, 7);
  c.pass(fresh, () => 0);
  t.same([fresh.readUInt16BE(2), fresh.readUInt32BE(4)], [7, 7], 'after reset() nothing is shifted');
});
