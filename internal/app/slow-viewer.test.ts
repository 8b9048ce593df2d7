/**
 * Integration (issue 7): a slow or stuck viewer never delays other viewers' packets.
 *
 * The stuck viewer is a real WHEP client in a separate process, frozen with SIGSTOP once it
 * receives video: its socket stops being read and its kernel receive buffer fills, while a healthy
 * in-process viewer of the same stream must keep its rate, its sequence and its pacing, and whepd's
 * event loop must keep answering. The stuck viewer's session must go away once its peer is gone.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WhepClient, releaseWebRtc, startTestApp, waitLive, waitUntil } from '../testkit/index.js';
import type { ReceivedPacket } from '../testkit/index.js';

t.teardown(releaseWebRtc);

const testkitUrl = pathToFileURL(fileURLToPath(new URL('../testkit/index.ts', import.meta.url))).href;

/** The stuck viewer: connects, prints its resource URL, then `connected` once video arrives. */
const childScript = `
import { WhepClient } from ${JSON.stringify(testkitUrl)};
const c = await WhepClient.connect({ endpoint: process.argv[1] });
console.log('location ' + (c.resourceUrl ?? ''));
if (c.post?.status !== 201) { console.log('status ' + c.post?.status); process.exit(2); }
await c.waitFor(() => c.video.length > 0, 10000, 'video');
console.log('connected');
setInterval(() => {}, 1000);
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();

function inWindow(ps: readonly ReceivedPacket[], from: number, to: number): ReceivedPacket[] {
  return ps.filter((p) => p.at >= from && p.at < to);
}

function maxGap(ps: readonly ReceivedPacket[]): number {
  let m = 0;
  for (let i = 1; i < ps.length; i++) m = Math.max(m, ps[i]!.at - ps[i - 1]!.at);
  return m;
}

function seqBreaks(ps: readonly ReceivedPacket[]): number {
  let n = 0;
  for (let i = 1; i < ps.length; i++) if (((ps[i]!.seq - ps[i - 1]!.seq) & 0xffff) !== 1) n++;
  return n;
}

t.test('a SIGSTOPped viewer in another process does not delay a healthy viewer, nor stall whepd', async (t) => {
  const started = now();
  // 8 s RTCP timeout: longer than the 6 s freeze (a stuck viewer is not dropped for that),
  // short enough that the killed one is reaped well within the test.
  const app = await startTestApp({ webrtc: { disconnectGraceMs: 1000, rtcpTimeoutMs: 8000 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const endpoint = `${app.url}/whep/demo`;

  // The stuck viewer, in its own process.
  const child: ChildProcess = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', childScript, endpoint], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid!;
  let exited = false;
  child.once('exit', () => (exited = true));
  const killChild = () => {
    if (exited) return;
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  t.teardown(killChild);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));

  // Healthy viewers, in this process.
  const healthy = await Promise.all([WhepClient.connect({ endpoint }), WhepClient.connect({ endpoint })]);
  for (const c of healthy) t.teardown(() => c.close());
  t.same(healthy.map((c) => c.post?.status), [201, 201]);

  await waitUntil(() => /^connected$/m.test(out) || exited, 15000, `the stuck viewer to receive video (stdout ${out}, stderr ${err})`);
  t.notOk(exited, `the stuck viewer runs (stderr: ${err.slice(0, 500)})`);
  const stuckUrl = /^location (\S+)$/m.exec(out)?.[1];
  t.ok(stuckUrl, 'the stuck viewer printed its resource URL');
  t.equal(app.registry.countFor('demo'), 3, 'three viewers');
  const stuckSession = app.registry.list('demo').find((s) => stuckUrl?.endsWith(`/${s.id}`));
  t.ok(stuckSession, 'the stuck viewer has a session');

  await Promise.all(healthy.map((c) => c.waitFor(() => c.video.length > 0, 5000, 'video')));
  // ~4 s of baseline.
  const baseFrom = now();
  await sleep(4000);
  const freezeAt = now();
  process.kill(pid, 'SIGSTOP');

  // ~6 s frozen: probe whepd's event loop meanwhile.
  const healthz: number[] = [];
  const probe = async () => {
    const t0 = performance.now();
    const res = await fetch(`${app.url}/healthz`, { signal: AbortSignal.timeout(2000) });
    await res.text();
    healthz.push(performance.now() - t0);
    t.equal(res.status, 200, 'healthz answers during the freeze');
  };
  for (let i = 0; i < 6; i++) {
    await sleep(i === 0 ? 500 : 1000);
    await probe();
  }
  await sleep(Math.max(0, freezeAt + 6000 - now()));
  const afterTo = now();
  t.ok(stuckSession && !stuckSession.closed, 'the stuck session is still open while merely stuck');

  t.ok(Math.max(...healthz) < 200, `healthz latency during the freeze < 200 ms (${healthz.map((x) => x.toFixed(1)).join(', ')})`);
  const figures: string[] = [];
  for (const [i, c] of healthy.entries()) {
    const before = inWindow(c.video, baseFrom, freezeAt);
    const after = inWindow(c.video, freezeAt, afterTo);
    const rateBefore = before.length / ((freezeAt - baseFrom) / 1000);
    const rateAfter = after.length / ((afterTo - freezeAt) / 1000);
    const gap = maxGap(inWindow(c.video, baseFrom, afterTo));
    const breaks = seqBreaks(inWindow(c.video, baseFrom, afterTo));
    const audioAfter = inWindow(c.audio, freezeAt, afterTo);
    figures.push(
      `viewer ${i}: video ${rateBefore.toFixed(1)} pkt/s before, ${rateAfter.toFixed(1)} pkt/s after, max gap ${gap.toFixed(1)} ms, seq breaks ${breaks}, audio after ${audioAfter.length}`,
    );
    t.ok(before.length > 30, `viewer ${i} had a baseline (${before.length} packets)`);
    t.ok(rateAfter >= 0.8 * rateBefore, `viewer ${i} keeps its rate: ${rateAfter.toFixed(1)} >= 80% of ${rateBefore.toFixed(1)} pkt/s`);
    t.ok(gap < 500, `viewer ${i} max video inter-arrival gap ${gap.toFixed(1)} ms < 500 ms`);
    t.equal(breaks, 0, `viewer ${i} sees no sequence gap`);
    t.ok(audioAfter.length > 200, `viewer ${i} keeps receiving audio (${audioAfter.length})`);
  }
  t.comment(figures.join('\n'));
  t.comment(`healthz ms: ${healthz.map((x) => x.toFixed(1)).join(', ')}`);

  // Let the stuck peer go away without a DELETE, and see its session reaped.
  killChild();
  await waitUntil(() => exited, 3000, 'the child to exit');
  const killedAt = now();
  // SIGCONT before the SIGKILL lets the child flush a few queued RTCP packets, so the silence
  // starts at the kill: the session must be gone 8 s later (+1 s check period, +2 s slack).
  await waitUntil(() => !!stuckSession?.closed, 11000, 'the stuck session to be reaped');
  t.comment(`stuck session reaped ${((now() - killedAt) / 1000).toFixed(1)} s after the kill: ${stuckSession?.closeReason}`);
  t.match(stuckSession?.closeReason, /no RTCP from the viewer|peer (failed|disconnected|closed)/, 'reaped because the viewer went silent');
  t.equal(app.registry.countFor('demo'), 2, 'only the healthy viewers remain');

  // The healthy viewers are still fine after all this.
  for (const c of healthy) {
    const n = c.video.length;
    await c.waitFor(() => c.video.length > n + 10, 2000, 'video after the stuck viewer left');
  }
  t.comment(`runtime ${((now() - started) / 1000).toFixed(1)} s`);
});
