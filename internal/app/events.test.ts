/**
 * Integration: the WHEP server-sent events extension with real FFmpeg and real node-datachannel
 * viewers: state and viewer count as they change, and `reconnect` before a planned end.
 */
import t from 'tap';
import { EventClient, WhepClient, releaseWebRtc, startTestApp, waitLive } from '../testkit/index.js';

t.teardown(releaseWebRtc);

t.test('a viewer\'s event stream: active, viewercount 1 then 2, inactive when FFmpeg is killed; a new viewer sees active when it is back', async (t) => {
  const app = await startTestApp({ ffmpeg: { restartMinMs: 300 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const endpoint = `${app.url}/whep/demo`;
  const a = await WhepClient.connect({ endpoint });
  t.teardown(() => a.close());
  t.equal(a.post?.status, 201);
  const ev = await EventClient.open(app.url, a.post!.headers);
  t.teardown(() => ev.close());
  await ev.waitFor(() => ev.events.length >= 2, 3000, 'the greeting');
  t.same(ev.events.slice(0, 2).map((e) => [e.event, e.data]), [['active', {}], ['viewercount', { viewercount: 1 }]], 'current state first, then the count');

  const b = await WhepClient.connect({ endpoint });
  t.teardown(() => b.close());
  await ev.waitFor(() => ev.events.some((e) => e.event === 'viewercount' && (e.data as { viewercount: number }).viewercount === 2), 3000, 'viewercount 2');

  const stream = app.streams.get('demo')!;
  const killedAt = Date.now();
  process.kill(stream.pid!, 'SIGKILL');
  await ev.waitFor(() => ev.names().includes('inactive'), 5000, 'inactive');
  t.ok(ev.events.find((e) => e.event === 'inactive')!.at - killedAt < 2000, 'inactive within 2 s of the kill');
  // Without streams[].restartGraceS (issue 14 item 2) the session ends with its run, and so does its event stream.
  await ev.waitFor(() => ev.ended, 3000, 'the event stream to end with the session');

  await waitLive(app, 'demo', 10000);
  const c = await WhepClient.connect({ endpoint });
  t.teardown(() => c.close());
  const ev2 = await EventClient.open(app.url, c.post!.headers, ['active', 'inactive']);
  t.teardown(() => ev2.close());
  await ev2.waitFor(() => ev2.events.length >= 1, 3000, 'the greeting after the restart');
  t.equal(ev2.events[0]?.event, 'active');
});

t.test('app.close() sends reconnect to every event stream before it closes their sessions', async (t) => {
  const app = await startTestApp({ webrtc: { reconnectDelayMs: 300 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const viewers = await Promise.all([0, 1].map(() => WhepClient.connect({ endpoint: `${app.url}/whep/demo` })));
  for (const v of viewers) t.teardown(() => v.close());
  const evs = await Promise.all(viewers.map((v) => EventClient.open(app.url, v.post!.headers, ['reconnect'])));
  for (const e of evs) t.teardown(() => e.close());
  const closedAt: number[] = [];
  for (const s of app.registry.list()) s.once('close', () => closedAt.push(Date.now()));
  const closing = app.close();
  await Promise.all(evs.map((e) => e.waitFor(() => e.names().includes('reconnect'), 3000, 'reconnect')));
  await closing;
  t.equal(closedAt.length, 2, 'both sessions closed');
  for (const e of evs) {
    const r = e.events.find((x) => x.event === 'reconnect')!;
    t.same(r.data, { url: '/whep/demo', reason: 'whepd is shutting down' });
    t.ok(Math.min(...closedAt) - r.at >= 200, 'the session outlived its reconnect by about reconnectDelayMs');
  }
  t.ok(evs.every((e) => e.ended), 'the event streams ended with their sessions');
});

t.test('a reload that restarts a stream sends reconnect to its viewers; the kept stream\'s viewers hear nothing', async (t) => {
  const app = await startTestApp({
    webrtc: { reconnectDelayMs: 200 },
    streams: [
      { id: 'a', input: 'fixtures/media/demo.mp4', loop: true },
      { id: 'b', input: 'fixtures/media/demo.mp4', loop: true },
    ],
  });
  t.teardown(() => app.close());
  await waitLive(app, 'a');
  await waitLive(app, 'b');
  const va = await WhepClient.connect({ endpoint: `${app.url}/whep/a` });
  const vb = await WhepClient.connect({ endpoint: `${app.url}/whep/b` });
  t.teardown(() => va.close());
  t.teardown(() => vb.close());
  const ea = await EventClient.open(app.url, va.post!.headers, ['reconnect']);
  const eb = await EventClient.open(app.url, vb.post!.headers, ['reconnect']);
  t.teardown(() => ea.close());
  t.teardown(() => eb.close());
  const next = structuredClone(app.config) as { streams: { id: string; keyframeIntervalS: number }[] };
  next.streams[0]!.keyframeIntervalS = 2;
  const result = await app.reload(next as unknown as typeof app.config);
  t.same(result.restarted, ['a']);
  t.same(ea.names(), ['reconnect']);
  t.same(ea.events[0]?.data, { url: '/whep/a', reason: 'reload: the stream was replaced by a reload with new settings' });
  t.same(eb.names(), [], 'the kept stream\'s viewer was not told anything');
  t.equal(app.registry.countFor('a'), 0, 'the old stream\'s session ended');
  t.equal(app.registry.countFor('b'), 1);
});

t.test('an admin kick sends reconnect, then ends the session after reconnectDelayMs', async (t) => {
  const token = 'events-test-admin-token-0123';
  const app = await startTestApp({ admin: { token }, webrtc: { reconnectDelayMs: 300 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const v = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => v.close());
  const ev = await EventClient.open(app.url, v.post!.headers, ['reconnect']);
  t.teardown(() => ev.close());
  const [session] = app.registry.list();
  const kickedAt = Date.now();
  const res = await fetch(`${app.url}/api/sessions/${session!.id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
  t.equal(res.status, 204);
  await ev.waitFor(() => ev.ended, 3000, 'the event stream to end');
  t.same(ev.events.map((e) => [e.event, e.data]), [['reconnect', { url: '/whep/demo', reason: 'kicked by the admin API' }]]);
  t.equal(session!.closeReason, 'kicked by the admin API');
  t.ok(Date.now() - kickedAt >= 250, 'the session lived on for the delay');
});
