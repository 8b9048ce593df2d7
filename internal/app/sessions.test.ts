/**
 * Integration: many viewers on one stream, admission caps under concurrency, and the teardown
 * cascade when FFmpeg exits (sessions close before the stream's ingest sockets are released).
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { WhepClient, releaseWebRtc, startTestApp, waitLive, waitUntil } from '../testkit/index.js';

t.teardown(releaseWebRtc);

const browserOffer = readFileSync('fixtures/offers/chromium-recvonly-trickle.sdp', 'utf8');

t.test('five viewers receive both tracks and are all reaped, before the sockets go, when FFmpeg is killed', async (t) => {
  const app = await startTestApp({ ffmpeg: { restartMinMs: 300 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const stream = app.streams.get('demo')!;
  const clients = await Promise.all(Array.from({ length: 5 }, () => WhepClient.connect({ endpoint: `${app.url}/whep/demo` })));
  for (const c of clients) t.teardown(() => c.close());
  t.same(clients.map((c) => c.post?.status), [201, 201, 201, 201, 201]);
  await Promise.all(clients.map((c) => c.waitFor(() => c.video.length > 20 && c.audio.length > 20, 8000, 'media')));
  t.equal(app.registry.countFor('demo'), 5);

  const order: string[] = [];
  for (const s of app.registry.list('demo')) s.once('close', () => order.push('session'));
  stream.once('ingestReleased', () => order.push('sockets'));
  const oldPorts = stream.ingestPorts;
  const pid = stream.pid!;
  t.ok(pid > 0, 'ffmpeg runs');
  process.kill(pid, 'SIGKILL');

  await waitUntil(() => order.includes('sockets'), 5000, 'teardown');
  t.same(order, ['session', 'session', 'session', 'session', 'session', 'sockets'], 'every session closes before the sockets are released');
  t.equal(app.registry.countFor('demo'), 0, 'per-stream counter back to 0');
  t.equal(app.registry.total, 0, 'total counter back to 0');
  t.equal(stream.viewerCount, 0);
  t.not(stream.live, true, 'stream is not live after FFmpeg died');
  t.match(stream.lastError, /SIGKILL/);

  const counts = clients.map((c) => c.video.length);
  await new Promise((r) => setTimeout(r, 300));
  t.same(clients.map((c) => c.video.length), counts, 'no packet reaches a torn-down viewer');

  await waitLive(app, 'demo', 10000);
  t.not(stream.pid, pid, 'a new FFmpeg runs after the backoff');
  t.notSame(stream.ingestPorts, oldPorts, 'the new run has fresh sockets');
  const again = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => again.close());
  t.equal(again.post?.status, 201, 'viewers can join again');
  await again.waitFor(() => again.video.length > 5, 5000, 'media after restart');
});

t.test('40 concurrent POSTs against caps 8/32 give exactly 8 201s; the rest are 503 naming the per-stream cap', async (t) => {
  const app = await startTestApp({ limits: { viewersPerStream: 8, viewersTotal: 32 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const responses = await Promise.all(
    Array.from({ length: 40 }, () => fetch(`${app.url}/whep/demo`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: browserOffer })),
  );
  const statuses = responses.map((r) => r.status);
  t.equal(statuses.filter((s) => s === 201).length, 8, 'exactly 8 created');
  t.equal(statuses.filter((s) => s === 503).length, 32, 'the other 32 refused');
  const refused = responses.find((r) => r.status === 503)!;
  t.ok(Number(refused.headers.get('retry-after')) > 0, 'Retry-After on 503');
  t.match(await refused.text(), /viewersPerStream/);
  t.equal(app.registry.countFor('demo'), 8);
  for (const r of responses.filter((r) => r.status === 201)) {
    const del = await fetch(new URL(r.headers.get('location')!, app.url), { method: 'DELETE' });
    t.equal(del.status, 200);
  }
  t.equal(app.registry.total, 0, 'counters back to zero after all leave');
});

t.test('the total cap is separate from the per-stream cap and says so', async (t) => {
  const app = await startTestApp({
    limits: { viewersPerStream: 2, viewersTotal: 3 },
    streams: [
      { id: 'a', input: 'fixtures/media/demo.mp4', loop: true },
      { id: 'b', input: 'fixtures/media/demo.mp4', loop: true },
    ],
  });
  t.teardown(() => app.close());
  await Promise.all([waitLive(app, 'a'), waitLive(app, 'b')]);
  const post = (id: string) => fetch(`${app.url}/whep/${id}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: browserOffer });
  t.equal((await post('a')).status, 201);
  t.equal((await post('a')).status, 201);
  const perStream = await post('a');
  t.equal(perStream.status, 503);
  const perStreamBody = await perStream.text();
  t.match(perStreamBody, /viewersPerStream = 2/);
  t.equal((await post('b')).status, 201);
  const total = await post('b');
  t.equal(total.status, 503);
  const totalBody = await total.text();
  t.match(totalBody, /viewersTotal = 3/);
  t.not(totalBody, perStreamBody, 'distinct bodies');
});

t.test('a session whose peer never connects is reaped after the handshake timeout', async (t) => {
  const app = await startTestApp({ webrtc: { handshakeTimeoutMs: 600 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  // The captured browser offer's candidates point at closed ports: ICE can never succeed.
  const res = await fetch(`${app.url}/whep/demo`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: browserOffer });
  t.equal(res.status, 201);
  t.equal(app.registry.total, 1);
  const session = app.registry.list('demo')[0]!;
  await waitUntil(() => app.registry.total === 0, 3000, 'the session to be reaped');
  t.match(session.closeReason, /handshake timed out/);
});

t.test('closing the server drains every peer', async (t) => {
  const app = await startTestApp();
  await waitLive(app, 'demo');
  const clients = await Promise.all(Array.from({ length: 3 }, () => WhepClient.connect({ endpoint: `${app.url}/whep/demo` })));
  for (const c of clients) t.teardown(() => c.close());
  await Promise.all(clients.map((c) => c.waitFor(() => c.state === 'connected', 5000, 'connected')));
  const sessions = app.registry.list();
  t.equal(sessions.length, 3);
  const pid = app.streams.get('demo')!.pid!;
  await app.close();
  t.ok(sessions.every((s) => s.closed), 'every session closed');
  t.equal(app.registry.total, 0);
  t.throws(() => process.kill(pid, 0), 'ffmpeg is gone');
  const counts = clients.map((c) => c.video.length + c.audio.length);
  await new Promise((r) => setTimeout(r, 300));
  t.same(clients.map((c) => c.video.length + c.audio.length), counts, 'no media after close');
});

t.test('while closing, new POSTs get 503 with Retry-After before the streams stop', async (t) => {
  const app = await startTestApp();
  await waitLive(app, 'demo');
  const closing = app.close();
  // app.http.request needs no socket, so the request lands inside the drain window for sure.
  const res = await app.http.request('/whep/demo', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: browserOffer });
  t.equal(res.status, 503);
  t.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
  t.match(await res.text(), /shutting down/);
  await closing;
  t.equal(app.registry.total, 0);
});
