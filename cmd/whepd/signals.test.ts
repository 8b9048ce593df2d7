/** The real whepd process: SIGHUP reload (valid and invalid), SIGTERM drain, no FFmpeg left behind. */
import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventClient, WHEPD_READY_WAIT_MS, WhepdProcess, freePort, processRunning } from '../../internal/testkit/index.js';

/** FFmpeg processes whose parent is `pid` (ffprobe runs and exits around them, so filter by name). */
function ffmpegChildren(pid: number): number[] {
  return children(pid).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'ffmpeg';
    } catch {
      return false;
    }
  });
}

function children(pid: number): number[] {
  const out: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (text) out.push(...text.split(/\s+/).map(Number));
  }
  return out;
}

async function until(cond: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('whepd reloads on SIGHUP, rejects a bad config, and drains on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whepd-signals-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const file = join(dir, 'config.json');
  const config = (ids: string[]) => ({
    http: { listen: `127.0.0.1:${port}` },
    webrtc: { bindAddress: '127.0.0.1' },
    streams: ids.map((id) => ({ id, input: 'fixtures/media/demo.mp4', loop: true })),
  });
  writeFileSync(file, JSON.stringify(config(['one'])));
  const base = `http://127.0.0.1:${port}`;
  const whepd = WhepdProcess.spawn(file, base);
  const proc = whepd.proc;
  t.teardown(() => whepd.kill());
  const known = async (id: string) => (await fetch(`${base}/whep/${id}`).catch(() => undefined))?.status === 204;
  const ready = async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200;
  await whepd.waitReady();

  writeFileSync(file, JSON.stringify(config(['one', 'two'])));
  proc.kill('SIGHUP');
  await until(() => known('two'), 5000, 'stream two to appear after SIGHUP');
  // A stream's run start once took 12.7 s by hand (see WhepdProcess): the same generous bound.
  await until(ready, WHEPD_READY_WAIT_MS, 'both streams live');
  const pids = ffmpegChildren(proc.pid!);
  t.equal(pids.length, 2, 'one FFmpeg per stream');

  writeFileSync(file, '{"streams": [{"id": "bad id!", "input": 5}]}');
  proc.kill('SIGHUP');
  await new Promise((r) => setTimeout(r, 500));
  t.ok(await known('one'), 'the running config is kept after a bad reload');
  t.ok(await known('two'));
  t.same(ffmpegChildren(proc.pid!).sort(), pids.sort(), 'no stream was restarted by a bad reload');

  const stoppedAt = Date.now();
  proc.kill('SIGTERM');
  const result = await proc;
  const tookMs = Date.now() - stoppedAt;
  t.equal(result.exitCode, 0, 'exit 0 after SIGTERM');
  t.ok(tookMs < 5000, `exited in ${tookMs} ms (< 5 s)`);
  t.ok(pids.every((p) => !processRunning(p)), 'no FFmpeg of it remains');
  t.match(result.all, /config reload rejected/, 'the rejection is logged');
  t.match(result.all, /\/streams\/0\/id/, 'with the JSON path of the problem');
});

t.test('SIGTERM sends reconnect to every event stream before whepd ends the sessions and exits', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whepd-signals-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const file = join(dir, 'config.json');
  // The captured offer's session never connects: a long handshake timeout keeps it until SIGTERM.
  writeFileSync(file, JSON.stringify({
    http: { listen: `127.0.0.1:${port}` },
    webrtc: { bindAddress: '127.0.0.1', handshakeTimeoutMs: 60000, reconnectDelayMs: 500 },
    streams: [{ id: 'one', input: 'fixtures/media/demo.mp4', loop: true }],
  }));
  const base = `http://127.0.0.1:${port}`;
  const whepd = WhepdProcess.spawn(file, base);
  const proc = whepd.proc;
  t.teardown(() => whepd.kill());
  await whepd.waitReady();
  const offer = readFileSync('fixtures/offers/chromium-recvonly.sdp', 'utf8');
  const events: EventClient[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${base}/whep/one`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
    t.equal(res.status, 201);
    events.push(await EventClient.open(base, res.headers, ['reconnect']));
  }
  t.teardown(() => events.forEach((e) => e.close()));
  const stoppedAt = Date.now();
  proc.kill('SIGTERM');
  const result = await proc;
  t.equal(result.exitCode, 0);
  t.ok(Date.now() - stoppedAt < 5000, 'exited within 5 s');
  for (const e of events) {
    t.same(e.events.map((x) => [x.event, x.data]), [['reconnect', { url: '/whep/one', reason: 'whepd is shutting down' }]]);
    t.ok(e.ended, 'the event stream ended');
  }
});
