/** Access control on a real App: bearer tokens (401), per-client rate limits (429), the pending-session cap (503). */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { WhepClient, releaseWebRtc, startTestApp, waitLive } from '../testkit/index.js';

t.teardown(releaseWebRtc);

const offer = readFileSync('fixtures/offers/chromium-recvonly-trickle.sdp', 'utf8');
const TOKEN = 'viewer-token-0123456789';

t.test('bearer tokens: 401 with WWW-Authenticate without one, preflight open, media with one', async (t) => {
  const app = await startTestApp({ streams: [{ id: 'demo', input: 'fixtures/media/demo.mp4', loop: true, tokens: [TOKEN] }] });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const post = (headers: Record<string, string>) => fetch(`${app.url}/whep/demo`, { method: 'POST', headers: { 'Content-Type': 'application/sdp', ...headers }, body: offer });
  const none = await post({});
  t.equal(none.status, 401);
  t.equal(none.headers.get('www-authenticate'), 'Bearer realm="whepd"');
  t.equal(none.headers.get('access-control-allow-origin'), '*', 'CORS on 401');
  t.equal((await post({ Authorization: 'Bearer wrong-token-0123456789' })).status, 401);
  const pre = await fetch(`${app.url}/whep/demo`, { method: 'OPTIONS', headers: { Origin: 'https://x.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' } });
  t.equal(pre.status, 204, 'preflight needs no token');
  const ok = await post({ Authorization: `Bearer ${TOKEN}` });
  t.equal(ok.status, 201);
  const location = new URL(ok.headers.get('location')!, app.url).href;
  t.equal((await fetch(location, { method: 'DELETE' })).status, 401, 'DELETE needs the token too');
  t.equal((await fetch(location, { method: 'DELETE', headers: { Authorization: `Bearer ${TOKEN}` } })).status, 200);
  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  t.notMatch(metrics, new RegExp(TOKEN), 'tokens never appear in metrics');
  t.match(metrics, /^whepd_whep_posts_total\{stream="demo",status="401"\} 2$/m, 'the two refused POSTs are counted');
});

t.test('rate limit: a burst of POSTs from one address gets 429 with Retry-After', async (t) => {
  const app = await startTestApp({ rateLimit: { perSecond: 1, burst: 3 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${app.url}/whep/demo`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0\r\n' });
    statuses.push(res.status);
    if (res.status === 429) retryAfter = res.headers.get('retry-after');
  }
  t.same(statuses, [400, 400, 400, 429, 429], 'three allowed by the burst, then 429');
  t.ok(Number(retryAfter) >= 1, 'Retry-After on 429');
});

t.test('the pending-session cap refuses new offers while others are still negotiating', async (t) => {
  const app = await startTestApp({ limits: { pendingSessions: 2 }, webrtc: { handshakeTimeoutMs: 30000 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const post = () => fetch(`${app.url}/whep/demo`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
  // The captured offer's candidates point at closed ports: these sessions never connect.
  t.equal((await post()).status, 201);
  t.equal((await post()).status, 201);
  const third = await post();
  t.equal(third.status, 503);
  t.match(await third.text(), /pendingSessions = 2/);
  t.equal(app.registry.total, 2, 'the refused POST holds no slot');
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => client.close());
  t.equal(client.post?.status, 503, 'a real client is refused too while the cap is full');
});
