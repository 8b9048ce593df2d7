/** The real whepd process with cluster.drainTimeoutS: SIGTERM drains, waits for the viewer, exits 0. */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WhepClient, WhepdProcess, freePort, releaseWebRtc } from '../../internal/testkit/index.js';

t.teardown(releaseWebRtc);

/** A start slower than this is logged (with whepd's output) so CI shows where the time went. */
const SLOW_START_MS = 5000;

function agent(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const s = connect({ host: '127.0.0.1', port });
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.once('end', () => resolve(text));
    s.once('error', reject);
  });
}

t.test('SIGTERM with cluster.drainTimeoutS: viewers keep playing, new POSTs 503, exit 0 once they left', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whepd-drain-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const [port, agentPort] = [await freePort(), await freePort()];
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({
    http: { listen: `127.0.0.1:${port}` },
    webrtc: { bindAddress: '127.0.0.1' },
    cluster: { agentPort, drainTimeoutS: 20 },
    streams: [{ id: 'demo', input: 'fixtures/media/demo.mp4', loop: true }],
  }));
  const base = `http://127.0.0.1:${port}`;
  const whepd = WhepdProcess.spawn(file, base);
  const proc = whepd.proc;
  t.teardown(() => whepd.kill());
  const readyAfterMs = await whepd.waitReady();
  if (readyAfterMs > SLOW_START_MS) t.comment(`ready only after ${readyAfterMs} ms; whepd's log:\n${whepd.log}`);
  const viewer = await WhepClient.connect({ endpoint: `${base}/whep/demo` });
  t.teardown(() => viewer.close());
  t.equal(viewer.post?.status, 201, `POST after /readyz 200 (${readyAfterMs} ms): ${viewer.post?.body ?? ''}`, { log: whepd.log });
  await viewer.waitFor(() => viewer.video.length > 10, 8000, 'video');
  t.equal(await agent(agentPort), 'up ready 96%\n', '1 of the default 32 slots held');

  proc.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(proc.exitCode, null, 'still running 1 s after SIGTERM: a viewer is left');
  t.equal(await agent(agentPort), 'drain\n');
  const refused = await fetch(`${base}/whep/demo`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: readFileSync('fixtures/offers/chromium-recvonly.sdp', 'utf8') });
  t.equal(refused.status, 503);
  const before = viewer.video.length;
  await viewer.waitFor(() => viewer.video.length > before + 20, 5000, 'video during the drain');
  t.pass('the viewer keeps receiving video');

  const leftAt = Date.now();
  await viewer.close();
  const result = await proc;
  const tookMs = Date.now() - leftAt;
  t.equal(result.exitCode, 0, 'exit 0');
  t.ok(tookMs < 3000, `exited ${tookMs} ms after the last viewer left, not at the 20 s timeout`);
  t.match(result.all, /waiting for viewers to leave before closing/);
  t.match(result.all, /every viewer left/);
});
