/** FfmpegProcess against the real ffmpeg binary (lavfi sources, no network, null muxer). */
import t from 'tap';
import type { Test } from 'tap';
import { FfmpegProcess, explainStderr } from './process.js';
import type { FfmpegExit } from './process.js';


/** Resolves with the exit, or rejects after `ms` so a hung child fails the test instead of stalling it. */
function within(p: FfmpegProcess, ms: number): Promise<FfmpegExit> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`ffmpeg did not exit within ${ms} ms`)), ms);
  });
  return Promise.race([p.exited, deadline]).finally(() => clearTimeout(timer));
}

/** Polls until `cond` holds; rejects after `ms`. */
async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Spawns and makes sure the child is gone when the test ends, whatever happened. */
function spawn(t: Test, ffmpegPath: string, args: string[], tailLines?: number): FfmpegProcess {
  const p = FfmpegProcess.spawn({ ffmpegPath, args, ...(tailLines ? { tailLines } : {}) });
  t.teardown(() => p.stop(100));
  return p;
}

t.test('explainStderr() names a missing audio or video stream in one sentence', async (t) => {
  t.equal(
    explainStderr(["Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'video-only.mp4':", "Stream map '0:a:0' matches no streams.", "To ignore this, add a trailing '?' to the map."]),
    'the input has no audio stream (whepd needs one video and one audio stream)',
  );
  t.equal(
    explainStderr(["Stream map '0:v:0' matches no streams."]),
    'the input has no video stream (whepd needs one video and one audio stream)',
  );
});

t.test('explainStderr() names a sending port another process took before FFmpeg bound it', async (t) => {
  const url = 'rtp://127.0.0.1:47000?pkt_size=1200&rtcpport=47001&localrtpport=47010&localrtcpport=47020&localaddr=127.0.0.1';
  // FFmpeg 5.1's two lines when localrtpport is taken.
  t.match(explainStderr(['[udp @ 0x557846841140] bind failed: Address already in use', `${url}: Input/output error`]), /could not bind its RTP sending port.*retrying with new ports/);
  t.equal(explainStderr(['[udp @ 0x1] bind failed: Address already in use', 'udp://0.0.0.0:5000: Input/output error']), 'ffmpeg failed: udp://0.0.0.0:5000: Input/output error', 'an input port is not whepd\'s');
});

t.test('explainStderr() falls back to the last line, or undefined when there is none', async (t) => {
  t.equal(explainStderr(['first', 'rtmp://x: Connection refused']), 'ffmpeg failed: rtmp://x: Connection refused');
  t.equal(explainStderr([]), undefined);
});

t.test('FfmpegProcess.spawn() with a missing binary exits with a "not installed" reason', async (t) => {
  // Both ways of starting it: directly (spawn fails with ENOENT) and through setpriv (exit 127).
  for (const dieWithParent of [false, true]) {
    const p = FfmpegProcess.spawn({ ffmpegPath: '/nonexistent/bin/ffmpeg', args: ['-version'], dieWithParent });
    t.teardown(() => p.stop(100));
    let exits = 0;
    p.on('exit', () => exits++);
    const exit = await within(p, 5000);
    t.equal(exit.reason, 'ffmpeg is not installed (apt-get install ffmpeg)', `dieWithParent ${dieWithParent}`);
    t.equal(exit.signal, null);
    t.equal(exits, 1, 'exit emitted once');
  }
});

t.test('FfmpegProcess runs a short real ffmpeg to exit code 0 and keeps its stderr tail', async (t) => {
  const p = spawn(t, 'ffmpeg', ['-hide_banner', '-nostdin', '-f', 'lavfi', '-i', 'anullsrc', '-t', '0.2', '-f', 'null', '-']);
  t.type(p.pid, 'number');
  const emitted: FfmpegExit[] = [];
  p.on('exit', (e: FfmpegExit) => emitted.push(e));
  const exit = await within(p, 10_000);
  t.equal(exit.code, 0);
  t.equal(exit.signal, null);
  t.ok(exit.stderrTail.some((l) => l.includes("from 'anullsrc'")), 'stderr tail holds ffmpeg output');
  t.same(p.stderrTail, exit.stderrTail);
  t.ok(exit.uptimeMs > 0 && exit.uptimeMs < 10_000, `uptime ${exit.uptimeMs} ms`);
  t.equal(emitted.length, 1);
  t.equal(emitted[0], exit, 'exit event carries the same object exited resolves with');
});

t.test('FfmpegProcess with whepd\'s quiet flags reports a clean exit as the input ending', async (t) => {
  const p = spawn(t, 'ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'warning', '-nostats', '-f', 'lavfi', '-i', 'anullsrc', '-t', '0.2', '-f', 'null', '-']);
  const exit = await within(p, 10_000);
  t.equal(exit.code, 0);
  t.same(exit.stderrTail, []);
  t.equal(exit.reason, 'ffmpeg exited normally (the input ended)');
});

t.test(
  'FfmpegProcess does not call a clean exit (code 0) a failure when stderr has output',
  async (t) => {
    const p = spawn(t, 'ffmpeg', ['-hide_banner', '-nostdin', '-f', 'lavfi', '-i', 'anullsrc', '-t', '0.2', '-f', 'null', '-']);
    const exit = await within(p, 10_000);
    t.equal(exit.code, 0);
    t.notMatch(exit.reason, /failed/);
  },
);

t.test('FfmpegProcess explains a real "no audio stream" failure', async (t) => {
  const p = spawn(t, 'ffmpeg', ['-hide_banner', '-nostdin', '-i', 'fixtures/media/video-only.mp4', '-map', '0:a:0', '-f', 'null', '-']);
  const exit = await within(p, 10_000);
  t.not(exit.code, 0);
  t.equal(exit.reason, 'the input has no audio stream (whepd needs one video and one audio stream)');
});

t.test('FfmpegProcess.stop() ends a long-running real ffmpeg with SIGTERM within the grace', async (t) => {
  const p = spawn(t, 'ffmpeg', ['-hide_banner', '-nostdin', '-re', '-f', 'lavfi', '-i', 'testsrc', '-f', 'null', '-']);
  await waitFor(() => p.stderrTail.some((l) => l.startsWith('Output #0')), 10_000, 'ffmpeg to start writing output');
  const graceMs = 3000;
  const started = Date.now();
  p.stop(graceMs);
  p.stop(graceMs); // idempotent
  const exit = await within(p, graceMs + 2000);
  const took = Date.now() - started;
  t.ok(took < graceMs, `exited after ${took} ms, before the SIGKILL grace`);
  t.equal(exit.reason, 'stopped by whepd');
  // FFmpeg catches SIGTERM and exits by itself with status 255 ("Exiting normally, received signal 15.");
  // a child that did not catch it would report signal SIGTERM. Either proves SIGTERM, not SIGKILL, ended it.
  t.ok(exit.signal === 'SIGTERM' || exit.code === 255, `ended by SIGTERM (code ${exit.code}, signal ${exit.signal})`);
  t.not(exit.signal, 'SIGKILL');
  t.ok(exit.stderrTail.some((l) => l.includes("from 'testsrc'")), 'stderr tail kept after stop');
});

t.test('FfmpegProcess.stop() escalates to SIGKILL when the child ignores SIGTERM', async (t) => {
  // Not ffmpeg: a shell that ignores TERM and becomes `sleep`, which inherits the ignored signal.
  const p = spawn(t, '/bin/sh', ['-c', 'trap "" TERM; echo ready >&2; exec sleep 30']);
  await waitFor(() => p.stderrTail.includes('ready'), 5000, 'the child to start');
  const started = Date.now();
  p.stop(300);
  const exit = await within(p, 5000);
  const took = Date.now() - started;
  t.equal(exit.signal, 'SIGKILL');
  t.equal(exit.reason, 'stopped by whepd');
  t.ok(took >= 250 && took < 3000, `killed after the grace (${took} ms)`);
});

t.test('FfmpegProcess keeps only the last tailLines lines of stderr', async (t) => {
  const p = spawn(t, '/bin/sh', ['-c', 'for i in 1 2 3 4 5 6 7 8; do echo line$i >&2; done; exit 3'], 3);
  const exit = await within(p, 5000);
  t.same(exit.stderrTail, ['line6', 'line7', 'line8']);
  t.equal(exit.code, 3);
  t.equal(exit.reason, 'ffmpeg failed: line8');
});
