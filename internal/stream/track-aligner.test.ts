import t from 'tap';
import { MediaClock } from '../rtp/index.js';
import { ENGAGE_SPREAD_MS, START_HOLD_MAX_MS, TrackAligner } from './track-aligner.js';

/** An RTP packet with just the timestamp set (the aligner reads nothing else). */
function packet(ts: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(ts >>> 0, 4);
  return b;
}

/** An aligner on a fake clock and fake timers; media time 0 = wallclock 1,000,000 ms. */
function rig(maxHoldMs = 1000) {
  const clock = new MediaClock(90000, 48000);
  clock.setVideo({ ntpMs: 1_000_000, rtp: 0 });
  clock.setAudio({ ntpMs: 1_000_000, rtp: 0 });
  let now = 1_000_000;
  const timers: { at: number; fn: () => void }[] = [];
  const sent: string[] = [];
  /** Per sent packet: wallclock minus media time (ms), i.e. how late it left. */
  const leftLate: { what: string; late: number }[] = [];
  const aligner = new TrackAligner({
    clock,
    maxHoldMs,
    onVideo: (p) => {
      sent.push(`v${p.readUInt32BE(4) / 90}`);
      leftLate.push({ what: 'v', late: now - 1_000_000 - p.readUInt32BE(4) / 90 });
    },
    onAudio: (p) => {
      sent.push(`a${p.readUInt32BE(4) / 48}`);
      leftLate.push({ what: 'a', late: now - 1_000_000 - p.readUInt32BE(4) / 48 });
    },
    now: () => now,
    setTimer: (fn, ms) => {
      const timer = { at: now + ms, fn };
      timers.push(timer);
      return timer;
    },
    clearTimer: (x) => timers.splice(timers.indexOf(x as (typeof timers)[number]), 1),
  });
  /** Moves the clock to `to` (ms after media time 0), firing due timers in order. */
  const advance = (to: number) => {
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const next = timers[0];
      if (!next || next.at > 1_000_000 + to) break;
      timers.shift();
      now = next.at;
      next.fn();
    }
    now = 1_000_000 + to;
  };
  return { aligner, clock, sent, leftLate, advance, video: (ms: number) => aligner.video(packet(ms * 90)), audio: (ms: number) => aligner.audio(packet(ms * 48)) };
}

/**
 * Feeds `r` an MPEG-TS-like input for `untilMs` of media, in arrival order: video every 33 ms,
 * arriving at `videoAt(ms)` (10 ms late unless told); audio every 20 ms, in bursts at each 300 ms
 * boundary (5 ms after it), as FFmpeg sends audio PES packets.
 */
function feedBursty(r: ReturnType<typeof rig>, untilMs: number, videoAt = (ms: number) => ms + 10): number {
  const arrivals: { at: number; send: () => void }[] = [];
  for (let ms = 0; ms < untilMs; ms += 33) arrivals.push({ at: videoAt(ms), send: () => r.video(ms) });
  for (let ms = 0; ms < untilMs; ms += 20) arrivals.push({ at: (Math.floor(ms / 300) + 1) * 300 + 5, send: () => r.audio(ms) });
  arrivals.sort((a, b) => a.at - b.at);
  for (const a of arrivals) {
    r.advance(a.at);
    a.send();
  }
  return arrivals.length;
}

t.test('a smooth input passes at once, in arrival order', async (t) => {
  const r = rig();
  for (let ms = 0; ms < 2000; ms += 20) {
    r.advance(ms + 15 + (ms % 60) / 6); // 15-25 ms late, evenly jittered
    r.audio(ms);
    r.video(ms);
  }
  t.equal(r.aligner.engaged, false, 'spread 10 ms: not engaged');
  t.equal(r.aligner.held, 2, 'nothing held but the run\'s first packet of each track, until both had come (the same ms)');
  t.equal(r.sent.length, 200);
  // The run's first two (the same media time) leave together when both have come; then as they came.
  t.same(r.sent.slice(0, 4), ['v0', 'a0', 'a20', 'v20']);
});

t.test('audio in 300 ms bursts: both tracks leave evenly on the media clock', async (t) => {
  const r = rig();
  const before = r.sent.length;
  const arrived = feedBursty(r, 6000); // 6 s
  r.advance(7000);
  t.ok(r.aligner.engaged, `engaged (spread > ${ENGAGE_SPREAD_MS} ms)`);
  t.ok(r.aligner.held > 0, `${r.aligner.held} packets held`);
  t.equal(r.sent.length - before, arrived, 'every packet sent once');
  t.ok(r.aligner.delayMs >= 300 && r.aligner.delayMs <= 306, `common delay ${r.aligner.delayMs} ms: the bursts' worst lateness`);
  t.ok(r.aligner.maxHeldMs <= 1000, 'no hold over maxHoldMs');
  // After the first bursts (the window has seen the worst lateness), every packet of both tracks
  // leaves the same time after its media time: evenly paced, and in step with the other track.
  const steady = r.leftLate.slice(Math.floor(r.leftLate.length / 3));
  const lates = steady.map((x) => x.late);
  const spread = Math.max(...lates) - Math.min(...lates);
  t.ok(spread <= 1, `both tracks leave 300-306 ms after their media time, spread ${spread.toFixed(1)} ms (arrivals spread 295 ms)`);
  t.ok(steady.some((x) => x.what === 'v') && steady.some((x) => x.what === 'a'), 'both tracks in the steady part');
});

t.test('the order within a track is kept, holds are capped, and reset() drops what is held', async (t) => {
  const r = rig(100);
  // Make it engage: one audio packet 500 ms late.
  r.advance(500);
  r.audio(0);
  r.advance(510);
  r.video(500);
  r.video(533);
  t.ok(r.aligner.engaged);
  t.ok(r.aligner.maxHeldMs <= 100, `hold capped at 100 ms (${r.aligner.maxHeldMs})`);
  r.advance(560);
  r.video(566);
  const held = r.aligner.held;
  t.ok(held >= 2, 'later packets are held');
  r.aligner.reset();
  r.advance(2000);
  t.notOk(r.sent.includes('v566'), 'a reset packet is never sent');
  t.equal(r.aligner.engaged, false, 'a reset forgets the lateness');
  const order = r.sent.filter((s) => s.startsWith('v'));
  t.same(order, [...order].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))), 'video in order');
});

t.test('without a media clock, or with maxHoldMs 0, packets pass at once', async (t) => {
  const r = rig(0);
  r.advance(400);
  r.audio(0);
  r.video(0);
  t.same(r.sent, ['a0', 'v0']);
  const r2 = rig();
  r2.clock.reset();
  r2.advance(400);
  r2.audio(0);
  t.same(r2.sent, ['a0']);
  t.equal(r2.aligner.held, 0);
});

t.test('a one-off stall (FFmpeg reopening a looping input) does not hold what follows', async (t) => {
  const r = rig();
  // 12 s, both tracks 15-25 ms late; at 5.0 s the video stalls 800 ms and then comes at once, as
  // FFmpeg's -stream_loop does at a loop point (0.6-1.4 s measured).
  const arrivals: { at: number; send: () => void }[] = [];
  for (let ms = 0; ms < 12000; ms += 33) {
    const at = ms >= 5000 && ms < 5800 ? 5810 : ms + 15 + (ms % 60) / 6;
    arrivals.push({ at, send: () => r.video(ms) });
  }
  for (let ms = 0; ms < 12000; ms += 20) arrivals.push({ at: ms + 15 + (ms % 60) / 6, send: () => r.audio(ms) });
  arrivals.sort((a, b) => a.at - b.at);
  for (const a of arrivals) {
    r.advance(a.at);
    a.send();
  }
  r.advance(13000);
  // From one second after the stall, packets leave as they came: the stall was one bucket of the
  // window, not a lateness the input keeps showing. (With the window's maximum as the delay every
  // packet for the next 8 s left about 800 ms late, and the hold then fell at 20 ms/s.)
  const after = r.leftLate.filter((_, i) => Number(r.sent[i]!.slice(1)) >= 7000);
  const worst = Math.max(...after.map((x) => x.late));
  t.ok(after.length > 350, `${after.length} packets after the stall`);
  t.ok(worst <= 30, `packets after the stall leave at most 30 ms after their media time (worst ${worst.toFixed(0)} ms)`);
  t.ok(r.aligner.delayMs < 100, `common delay ${r.aligner.delayMs.toFixed(0)} ms after the stall`);
});

t.test('a lateness seen in most of the window still sets the delay, even after a one-off stall', async (t) => {
  const r = rig();
  // Video every 33 ms arriving 10 ms late; audio in 300 ms bursts (as the first test), plus one
  // 900 ms video stall at 4.0 s. The common delay is the bursts' 300 ms, not the stall's 900 ms.
  feedBursty(r, 12000, (ms) => (ms >= 4000 && ms < 4900 ? 4910 : ms + 10));
  r.advance(13000);
  t.ok(r.aligner.engaged, 'engaged by the bursts');
  t.ok(r.aligner.delayMs >= 300 && r.aligner.delayMs <= 306, `common delay ${r.aligner.delayMs.toFixed(0)} ms: the bursts' lateness`);
  const tail = r.leftLate.filter((_, i) => Number(r.sent[i]!.slice(1)) >= 8000).map((x) => x.late);
  const spread = Math.max(...tail) - Math.min(...tail);
  t.ok(Math.max(...tail) <= 310, `after the stall both tracks leave 300-310 ms after their media time (worst ${Math.max(...tail).toFixed(0)})`);
  t.ok(spread <= 6, `evenly (spread ${spread.toFixed(1)} ms)`);
});

t.test('a run starts held until both tracks have come: an MPEG-TS start leaves no hole in the video', async (t) => {
  const r = rig();
  // Video every 33 ms arriving 10 ms late from 0 ms; audio in 300 ms bursts, the first at 305 ms
  // (as FFmpeg sends an MPEG-TS input: video first, the first audio PES later). Before the start
  // hold the first 300 ms of video left at once, then nothing until the delay had risen to the
  // burst's lateness: a 300 ms hole.
  feedBursty(r, 3000);
  r.advance(4000);
  t.ok((r.leftLate[0]?.late ?? 0) >= 300, `the first packet left with the common delay (${r.leftLate[0]?.late.toFixed(0)} ms late), not before the first audio came`);
  const video = r.leftLate.filter((x) => x.what === 'v').map((x) => x.late);
  t.ok(video.length > 60, `${video.length} video packets sent`);
  const spread = Math.max(...video) - Math.min(...video);
  t.ok(spread <= 6, `every video packet left 300-306 ms after its media time (spread ${spread.toFixed(1)} ms): no hole`);
});

t.test(`a run whose second track does not come starts after ${START_HOLD_MAX_MS} ms`, async (t) => {
  const r = rig();
  r.advance(10);
  r.video(0);
  r.advance(500);
  r.video(490);
  t.same(r.sent, [], 'held while only video has come');
  r.advance(10 + START_HOLD_MAX_MS);
  t.same(r.sent, ['v0', 'v490'], 'released by the timer');
  r.advance(1100);
  r.video(1090);
  t.same(r.sent.at(-1), 'v1090', 'then passed at once (smooth)');
  r.aligner.reset();
  r.advance(2000);
  r.audio(1990);
  t.same(r.sent.at(-1), 'v1090', 'a reset starts the next run held again');
  r.advance(2005);
  r.video(1995);
  t.same(r.sent.slice(-2), ['a1990', 'v1995'], 'in media-time order once both came');
});

t.test('a packet without a media clock ends the start hold: what was held leaves first, in media-time order', async (t) => {
  const r = rig();
  r.clock.reset();
  r.clock.setVideo({ ntpMs: 1_000_000, rtp: 0 });
  r.advance(10);
  r.video(0);
  r.advance(43);
  r.video(33);
  t.same(r.sent, [], 'video held, waiting for audio');
  r.audio(0); // no audio clock yet
  t.same(r.sent, ['v0', 'v33', 'a0'], 'the held video, then the audio');
  r.advance(76);
  r.video(66);
  t.same(r.sent.at(-1), 'v66', 'the start is over: a smooth video passes at once');
});
