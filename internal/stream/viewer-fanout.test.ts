import t from 'tap';
import { PacketHistory } from '../rtp/index.js';
import { ViewerFanout } from './viewer-fanout.js';
import type { StreamViewer } from './types.js';

/** A viewer that records what reaches it; `videoReady` is set by the test. */
class Recorder implements StreamViewer {
  readonly videoPayloadType: number;
  readonly audioPayloadType = 111;
  videoReady = false;
  started = 0;
  readonly got: { seq: number; pt: number }[] = [];
  constructor(pt: number) {
    this.videoPayloadType = pt;
  }
  sendVideo(p: Buffer): void {
    this.got.push({ seq: p.readUInt16BE(2), pt: p[1]! & 0x7f });
  }
  sendAudio(): void {}
  videoStarted(): void {
    this.started++;
  }
  streamEnded(): void {}
}

function rtp(seq: number): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  return b;
}

/** A fan-out with a history and a hand-driven clock; `feed` puts then forwards like Stream. */
function setup(replayWindowMs?: number) {
  let now = 1000;
  const history = new PacketHistory(64);
  const fanout = new ViewerFanout<Recorder>({ history, now: () => now, ...(replayWindowMs === undefined ? {} : { replayWindowMs }) });
  const feed = (seq: number, sps = false) => {
    const p = rtp(seq);
    history.put(p);
    fanout.video(p, sps);
  };
  return { fanout, history, feed, advance: (ms: number) => (now += ms) };
}

t.test('a viewer whose track is open at the keyframe starts there, not before', async (t) => {
  const { fanout, feed } = setup();
  const v = new Recorder(108);
  v.videoReady = true;
  fanout.add(v);
  feed(1);
  feed(2);
  t.same(v.got, [], 'nothing before a keyframe');
  feed(3, true);
  feed(4);
  t.same(v.got.map((p) => p.seq), [3, 4]);
  t.ok(v.got.every((p) => p.pt === 108), 'rewritten to its payload type');
  t.equal(v.started, 1);
});

t.test('a track that opens just after a keyframe started gets it replayed, in order, then live', async (t) => {
  const { fanout, feed, advance } = setup();
  const v = new Recorder(102);
  fanout.add(v);
  feed(65534, true); // the keyframe starts just before the 16-bit wrap
  feed(65535);
  feed(0);
  advance(150);
  v.videoReady = true;
  feed(1);
  feed(2);
  t.same(v.got.map((p) => p.seq), [65534, 65535, 0, 1, 2], 'keyframe replayed, then live, without a gap');
  t.ok(v.got.every((p) => p.pt === 102));
  t.equal(v.started, 1);
  t.same(fanout.out.videoPackets, 5, 'replayed packets are counted as sent');
});

t.test('past the replay window, or with a hole in the history, the viewer waits for the next keyframe', async (t) => {
  const late = setup();
  const a = new Recorder(108);
  late.fanout.add(a);
  late.feed(10, true);
  late.advance(250);
  a.videoReady = true;
  late.feed(11);
  t.same(a.got, [], 'keyframe 250 ms old: no replay');
  late.feed(12, true);
  t.same(a.got.map((p) => p.seq), [12]);

  const holey = setup();
  const b = new Recorder(108);
  holey.fanout.add(b);
  holey.feed(20, true);
  holey.fanout.video(rtp(21), false); // forwarded but never stored
  b.videoReady = true;
  holey.feed(22);
  t.same(b.got, [], 'a missing packet would corrupt the keyframe: no replay');

  const off = setup(0);
  const c = new Recorder(108);
  off.fanout.add(c);
  off.feed(30, true);
  c.videoReady = true;
  off.feed(31);
  t.same(c.got, [], 'replayWindowMs 0 disables replays');
});

t.test('clear() forgets the last keyframe: a new run never replays the old one', async (t) => {
  const { fanout, feed } = setup();
  feed(5, true);
  t.equal(fanout.clear().length, 0);
  const v = new Recorder(108);
  fanout.add(v);
  v.videoReady = true;
  feed(6);
  t.same(v.got, []);
});

t.test('send gaps: a packet handed over late is counted once per fan-out, never across no viewers or a restart', async (t) => {
  const { fanout, advance } = setup();
  const audio = (gapMs: number) => {
    advance(gapMs);
    fanout.audio(rtp(0));
  };
  audio(20); // nobody watching: no gap is counted without viewers
  advance(500);
  const a = new Recorder(108);
  const b = new Recorder(108);
  fanout.add(a);
  fanout.add(b);
  audio(20); // the first packet with viewers opens no gap, however long nobody watched
  audio(20);
  audio(40);
  audio(60); // over 50 ms
  audio(120); // over 50 and 100 ms
  audio(300); // over 50, 100 and 250 ms
  t.same(
    [fanout.out.audioGapsOver50ms, fanout.out.audioGapsOver100ms, fanout.out.audioGapsOver250ms],
    [3, 2, 1],
    'counted once, with two viewers',
  );
  fanout.regate(); // a restart grace: the wait for the next run is the restart, not a gap
  audio(2000);
  t.equal(fanout.out.audioGapsOver50ms, 3, 'no gap across a restart');
  fanout.delete(a);
  fanout.delete(b);
  audio(20);
  fanout.add(a);
  audio(400);
  t.equal(fanout.out.audioGapsOver250ms, 1, 'no gap across a time without viewers');
  t.equal(fanout.out.videoGapsOver50ms, 0, 'video counts apart');
});
