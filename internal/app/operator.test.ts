/** Operator surface against a real App: health, readiness, metrics, and the admin API. */
import t from 'tap';
import { createSocket } from 'node:dgram';
import { WhepClient, releaseWebRtc, startTestApp, waitLive, waitUntil } from '../testkit/index.js';

t.teardown(releaseWebRtc);

const TOKEN = 'test-token-0123456789abcdef';

function metric(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

t.test('health, readiness, metrics and admin API', async (t) => {
  const app = await startTestApp({
    admin: { token: TOKEN },
    streams: [
      { id: 'demo', input: 'fixtures/media/demo.mp4', loop: true },
      { id: 'broken', input: 'fixtures/media/video-only.mp4', loop: true },
    ],
  });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const get = (path: string, init?: RequestInit) => fetch(`${app.url}${path}`, init);

  t.equal((await get('/healthz')).status, 200, '/healthz is 200 while the process runs');
  const notReady = await get('/readyz');
  t.equal(notReady.status, 503, '/readyz is 503 while a stream is not live');
  t.match(await notReady.text(), /broken: .*no audio stream/);

  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => client.close());
  await client.waitFor(() => client.video.length > 10, 8000, 'video');
  await fetch(`${app.url}/whep/nope`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0\r\n' });

  // Junk from another process on the live video ingest port never reaches whepd: the ingest
  // socket is connect()ed to FFmpeg's sending port, so the kernel drops it.
  const ports = app.streams.get('demo')!.ingestPorts!;
  const sock = createSocket('udp4');
  t.teardown(() => sock.close());
  const videoBeforeJunk = client.video.length;
  for (let i = 0; i < 50; i++) sock.send(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]), ports.video, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 200));

  const text = await (await get('/metrics')).text();
  t.equal(metric(text, 'whepd_viewers', '{stream="demo"}'), 1, 'viewers per stream');
  t.equal(metric(text, 'whepd_viewers_total'), 1, 'viewers total');
  t.equal(metric(text, 'whepd_stream_up', '{stream="demo"}'), 1);
  t.equal(metric(text, 'whepd_stream_up', '{stream="broken"}'), 0);
  t.equal(metric(text, 'whepd_whep_posts_total', '{stream="demo",status="201"}'), 1, 'POSTs by status');
  t.equal(metric(text, 'whepd_whep_posts_total', '{stream="_unknown",status="404"}'), 1, 'unknown streams share one label');
  t.ok((metric(text, 'whepd_rtp_in_packets_total', '{stream="demo",kind="video"}') ?? 0) > 10, 'packets in');
  t.ok((metric(text, 'whepd_rtp_out_packets_total', '{stream="demo",kind="video"}') ?? 0) > 10, 'packets out');
  t.equal(metric(text, 'whepd_rtp_junk_packets_total', '{stream="demo",kind="video"}'), 0, 'junk metric exported; the kernel dropped the junk');
  for (const kind of ['video', 'audio']) {
    for (const over of ['0.05', '0.1', '0.25']) {
      t.type(metric(text, 'whepd_rtp_out_gaps_total', `{stream="demo",kind="${kind}",over="${over}"}`), 'number', `send gaps over ${over} s exported (${kind})`);
      t.type(metric(text, 'whepd_rtp_in_gaps_total', `{stream="demo",kind="${kind}",over="${over}"}`), 'number', `arrival gaps over ${over} s exported (${kind})`);
    }
  }
  t.equal(metric(text, 'whepd_first_keyframe_seconds_count', '{stream="demo"}'), 1, 'first keyframe observed');
  t.ok((metric(text, 'whepd_ffmpeg_restarts_total', '{stream="broken"}') ?? 0) >= 1, 'restarts counted');
  t.match(text, /whepd_process_nodejs_eventloop_lag_p99_seconds/, 'event-loop delay exported');
  await client.waitFor(() => client.video.length > videoBeforeJunk + 30, 3000, 'video after the junk');
  t.pass(`media still flowing to the viewer after the junk (${client.video.length - videoBeforeJunk} more video packets)`);

  t.equal((await get('/api/streams')).status, 401, 'no token: 401');
  const wrong = await get('/api/streams', { headers: { Authorization: 'Bearer nope' } });
  t.equal(wrong.status, 401, 'wrong token: 401');
  t.match(wrong.headers.get('www-authenticate'), /Bearer/);
  const auth = { headers: { Authorization: `Bearer ${TOKEN}` } };
  const streams = (await (await get('/api/streams', auth)).json()) as { id: string; state: string; pid: number; viewers: number }[];
  const demo = streams.find((s) => s.id === 'demo')!;
  t.equal(demo.state, 'live');
  t.equal(demo.viewers, 1);
  t.ok(demo.pid > 0);
  const sessions = (await (await get('/api/sessions', auth)).json()) as { id: string; stream: string; remoteAddress: string; state: string }[];
  t.equal(sessions.length, 1);
  t.equal(sessions[0]!.stream, 'demo');
  t.equal(sessions[0]!.remoteAddress, '127.0.0.1');
  t.equal(sessions[0]!.state, 'connected');

  const kick = await get(`/api/sessions/${sessions[0]!.id}`, { method: 'DELETE', ...auth });
  t.equal(kick.status, 204, 'kick');
  t.equal(app.registry.total, 0, 'kicked session is gone');
  t.equal((await get('/api/sessions/none', { method: 'DELETE', ...auth })).status, 404);

  const restart = await get('/api/streams/demo/restart', { method: 'POST', ...auth });
  t.equal(restart.status, 202);
  await waitUntil(() => app.streams.get('demo')!.pid !== undefined && app.streams.get('demo')!.pid !== demo.pid, 5000, 'a new ffmpeg');
  await waitLive(app, 'demo');
  t.equal((await get('/api/streams/nope/restart', { method: 'POST', ...auth })).status, 404);
});

t.test('the admin API is refused without a configured token', async (t) => {
  const app = await startTestApp();
  t.teardown(() => app.close());
  const res = await fetch(`${app.url}/api/streams`, { headers: { Authorization: 'Bearer anything-at-all-long' } });
  t.equal(res.status, 401);
  t.match(await res.text(), /admin\.token/);
});
