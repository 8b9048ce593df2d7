/** Cluster behaviour of a real App: the HAProxy agent line, /api/drain, and SIGTERM's drain wait. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { parseConfig } from '../config/index.js';
import { WhepClient, releaseWebRtc, startTestApp, waitLive } from '../testkit/index.js';

t.teardown(releaseWebRtc);

const TOKEN = 'test-token-0123456789abcdef';
const auth = { Authorization: `Bearer ${TOKEN}` };

function agent(addr: { host: string; port: number } | undefined): Promise<string> {
  if (!addr) return Promise.reject(new Error('no agent listener'));
  return new Promise((resolve, reject) => {
    let text = '';
    const s = connect(addr);
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.once('end', () => resolve(text));
    s.once('error', reject);
  });
}

async function metric(url: string, name: string): Promise<string | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1];
}

t.test('App drain: agent line, 503 + Retry-After for new POSTs, viewers keep media, DELETE undoes', async (t) => {
  const app = await startTestApp({ admin: { token: TOKEN }, limits: { viewersPerStream: 4, viewersTotal: 4 }, cluster: { agentPort: 0 } });
  t.teardown(() => app.close());
  t.equal(app.agentAddress?.host, '127.0.0.1', 'the agent binds http.listen\'s host');
  t.equal(await agent(app.agentAddress), 'up ready 100%\n');
  await waitLive(app, 'demo');
  const viewer = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => viewer.close());
  t.equal(viewer.post?.status, 201);
  t.equal(await agent(app.agentAddress), 'up ready 75%\n', 'one of four slots held');
  t.equal(await metric(app.url, 'whepd_draining'), '0');

  const on = await fetch(`${app.url}/api/drain`, { method: 'POST', headers: auth });
  t.same(await on.json(), { draining: true, sessions: 1 });
  t.equal(await agent(app.agentAddress), 'drain\n', 'the agent says drain at once');
  t.equal(await metric(app.url, 'whepd_draining'), '1');
  const refused = await fetch(`${app.url}/whep/demo`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: readFileSync('fixtures/offers/chromium-recvonly.sdp', 'utf8') });
  t.equal(refused.status, 503, 'a new POST that still arrives is refused');
  t.ok(Number(refused.headers.get('retry-after')) > 0, 'with Retry-After');
  t.match(await refused.text(), /draining/);
  const before = viewer.video.length;
  await viewer.waitFor(() => viewer.video.length > before + 20, 5000, 'video while draining');
  t.pass('the existing viewer keeps receiving video while draining');

  const off = await fetch(`${app.url}/api/drain`, { method: 'DELETE', headers: auth });
  t.same(await off.json(), { draining: false, sessions: 1 });
  t.equal(await agent(app.agentAddress), 'up ready 75%\n', 'ready again: the word that cancels HAProxy\'s DRAIN');
  t.equal(await metric(app.url, 'whepd_draining'), '0');
  const again = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => again.close());
  t.equal(again.post?.status, 201, 'new sessions are taken again');
});

t.test('App.shutdown() waits for viewers to leave, bounded by the drain timeout', async (t) => {
  const app = await startTestApp({ cluster: { agentPort: 0, drainTimeoutS: 30 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const viewer = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => viewer.close());
  await viewer.waitFor(() => viewer.video.length > 10, 8000, 'video');
  const started = Date.now();
  const done = app.shutdown();
  t.equal(app.draining, true);
  t.equal(app.closed, false, 'not closed while a viewer stays');
  t.equal(await agent(app.agentAddress), 'drain\n');
  const before = viewer.video.length;
  await viewer.waitFor(() => viewer.video.length > before + 20, 5000, 'video during the drain wait');
  t.equal(app.undrain(), false, 'DELETE /api/drain cannot undo a SIGTERM');
  t.equal(app.draining, true);
  setTimeout(() => void viewer.close(), 300);
  await done;
  const took = Date.now() - started;
  t.ok(took < 10000, `closed once the viewer left (${took} ms), not at the 30 s timeout`);
  t.equal(app.closed, true);
  t.equal(app.undrain(), false, 'no undrain once closing');
});

t.test('App.shutdown(timeout) closes the remaining viewers when the drain timeout passes', async (t) => {
  const app = await startTestApp({});
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const viewer = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => viewer.close());
  t.equal(app.agentAddress, undefined, 'no agent without cluster.agentPort');
  const started = Date.now();
  await app.shutdown(600);
  const took = Date.now() - started;
  t.ok(took >= 550 && took < 5000, `closed after the timeout (${took} ms)`);
  t.equal(app.registry.total, 0);
});

t.test('App.reload(): drainTimeoutS applies at once, a new agentPort needs a restart, the agent weighs the new viewersTotal', async (t) => {
  const app = await startTestApp({ limits: { viewersPerStream: 4, viewersTotal: 4 }, cluster: { agentPort: 0 } });
  t.teardown(() => app.close());
  const base = { http: { listen: '127.0.0.1:0' }, webrtc: { bindAddress: '127.0.0.1' }, ffmpeg: { restartMinMs: 200, restartMaxMs: 2000 }, log: { level: 'silent' }, streams: [{ id: 'demo', input: 'fixtures/media/demo.mp4', loop: true }] };
  // Hold one slot without a peer: the agent line counts slots, negotiating or connected.
  const slot = app.registry.reserve('demo');
  t.teardown(() => slot.release());
  const same = await app.reload(parseConfig({ ...base, limits: { viewersPerStream: 4, viewersTotal: 8 }, cluster: { agentPort: 0, drainTimeoutS: 60 } }));
  t.same(same.needsRestart, [], 'drainTimeoutS and limits apply at once');
  t.equal(app.config.cluster.drainTimeoutS, 60);
  t.equal(await agent(app.agentAddress), 'up ready 87%\n', '7 of 8 free after the reload (was 75% of 4)');
  const moved = await app.reload(parseConfig({ ...base, limits: { viewersPerStream: 4, viewersTotal: 8 }, cluster: { agentPort: 1 } }));
  t.same(moved.needsRestart, ['cluster'], 'the listener stays where it is until a restart');
});
