/**
 * Chaos: FFmpeg is killed with SIGKILL again and again while two real viewers watch. Every time,
 * every viewer must be torn down (registry back to 0), the stream must come back after its
 * backoff on a new FFmpeg, the restart counter (status and /metrics) must count each kill once,
 * and whepd's memory must stay flat. CHAOS_KILLS (default 10; the full run is 50) scales it.
 */
import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WhepClient, releaseWebRtc, startTestApp, waitLive, waitUntil } from '../testkit/index.js';

t.teardown(releaseWebRtc);

const KILLS = Number(process.env.CHAOS_KILLS ?? 10);
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 500;
const RSS_BUDGET = 20 * 1024 * 1024;

// A forced collection before each RSS reading makes the figure about leaks, not GC timing.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
async function settledRss(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().rss;
}

t.test(`FFmpeg SIGKILLed ${KILLS} times under two viewers: torn down, restarted with backoff, counted, memory flat`, async (t) => {
  const app = await startTestApp({ rateLimit: { perSecond: 0 }, ffmpeg: { restartMinMs: RESTART_MIN_MS, restartMaxMs: RESTART_MAX_MS } });
  t.teardown(() => app.close());
  const stream = app.streams.get('demo')!;
  const restartDelays: number[] = [];
  let rssBefore = 0;
  const started = Date.now();

  // Cycle 0 warms up (first peers, JIT, native pools) and is not counted in the memory figure.
  for (let cycle = 0; cycle <= KILLS; cycle++) {
    await waitLive(app, 'demo', 15000);
    const clients = await Promise.all([0, 1].map(() => WhepClient.connect({ endpoint: `${app.url}/whep/demo` })));
    try {
      t.same(clients.map((c) => c.post?.status), [201, 201], `cycle ${cycle}: both viewers admitted`);
      await Promise.all(clients.map((c) => c.waitFor(() => c.audio.length > 5 && c.video.length > 5, 10000, `cycle ${cycle}: media`)));
      t.equal(app.registry.total, 2);
      if (cycle === 0) rssBefore = await settledRss();
      const restarts = stream.status().restarts;
      const pid = stream.pid!;
      const sessions = app.registry.list();
      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      await waitUntil(() => app.registry.total === 0, 5000, `cycle ${cycle}: viewers torn down`);
      t.ok(sessions.every((s) => s.closed && /SIGKILL/.test(s.closeReason ?? '')), `cycle ${cycle}: every session closed naming the kill`);
      t.equal(stream.viewerCount, 0, `cycle ${cycle}: no viewer attached`);
      await waitUntil(() => stream.status().restarts === restarts + 1, 5000, `cycle ${cycle}: restart counted`);
      await waitUntil(() => stream.pid !== undefined && stream.pid !== pid, 10000, `cycle ${cycle}: a new FFmpeg`);
      restartDelays.push(Date.now() - killedAt);
      const counts = clients.map((c) => c.video.length + c.audio.length);
      await new Promise((r) => setTimeout(r, 100));
      t.same(clients.map((c) => c.video.length + c.audio.length), counts, `cycle ${cycle}: no packet after teardown`);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }
  await waitLive(app, 'demo', 15000);
  const rssAfter = await settledRss();
  const status = stream.status();
  t.equal(status.restarts, KILLS + 1, 'status().restarts counts every kill exactly once');
  const metrics = await (await app.http.request('/metrics')).text();
  t.match(metrics, new RegExp(`^whepd_ffmpeg_restarts_total\\{stream="demo"\\} ${KILLS + 1}$`, 'm'), '/metrics agrees');
  // Backoff (1 s doubling to the max in production; here 100 ms doubling to 500 ms): never faster than the minimum.
  t.ok(restartDelays.every((d) => d >= RESTART_MIN_MS), `every restart waited at least ${RESTART_MIN_MS} ms`);
  t.ok(restartDelays.slice(3).every((d) => d >= RESTART_MAX_MS), `from the fourth kill on, the backoff reached ${RESTART_MAX_MS} ms`);
  const growth = rssAfter - rssBefore;
  t.comment(`${KILLS} kills (+1 warm-up) in ${Date.now() - started} ms; kill-to-new-FFmpeg ms: ${restartDelays.join(' ')}`);
  t.comment(`RSS before ${(rssBefore / 1048576).toFixed(1)} MiB, after ${(rssAfter / 1048576).toFixed(1)} MiB, growth ${(growth / 1048576).toFixed(1)} MiB`);
  t.ok(growth < RSS_BUDGET, `RSS grew ${(growth / 1048576).toFixed(1)} MiB (< 20 MiB)`);
  t.equal(app.registry.total, 0, 'no session left');
});
