/**
 * The WHEP server-sent events extension in memory: whepRoutes() with SessionEvents, mounted as
 * app.ts mounts it, with fake streams and peers; SSE bodies are read off app.request().
 * internal/app/events.test.ts runs it against a real App with real peers.
 */
import t from 'tap';
import type { Test } from 'tap';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { UnauthorizedError } from '../errors/index.js';
import { silentLogger } from '../log/index.js';
import type { PeerState, PeerStats } from '../webrtc/index.js';
import type { StreamEndReason, StreamIdentity, StreamState, StreamViewer } from '../stream/index.js';
import { corsMiddleware } from './cors.js';
import { httpErrorHandler } from './http-errors.js';
import { SessionRegistry } from './registry.js';
import { whepRoutes } from './routes.js';
import type { WhepRoutesOptions } from './routes.js';
import { SessionEvents } from './session-events.js';
import type { SessionPeer, StreamSource } from './types.js';

const offer = readFileSync('fixtures/offers/chromium-recvonly-trickle.sdp', 'utf8');
const SDP = { 'Content-Type': 'application/sdp' };
const JSON_CT = { 'Content-Type': 'application/json' };

class FakeStream extends EventEmitter implements StreamSource {
  readonly id = 'demo';
  state: StreamState = 'live';
  lastError: string | undefined;
  readonly viewers = new Set<StreamViewer>();
  readonly identity: StreamIdentity = { videoSsrc: 1, audioSsrc: 2, cname: 'fake', mediaStreamId: 'fake' };
  get live(): boolean {
    return this.state === 'live';
  }
  get viewerCount(): number {
    return this.viewers.size;
  }
  setState(s: StreamState): void {
    this.state = s;
    this.emit('state', s);
  }
  attach(viewer: StreamViewer): () => void {
    this.viewers.add(viewer);
    this.emit('viewers', this.viewers.size);
    return () => {
      if (this.viewers.delete(viewer)) this.emit('viewers', this.viewers.size);
    };
  }
  /** What a hub does when its run ends without a grace window: end each viewer. */
  end(reason: StreamEndReason): void {
    for (const v of [...this.viewers]) v.streamEnded(reason);
  }
}

class FakePeer extends EventEmitter implements SessionPeer {
  readonly answerSdp = 'v=0\r\n';
  state: PeerState = 'new';
  closed = false;
  readonly videoReady = false;
  stats(): PeerStats {
    return { rtcpReceived: 0, bytesSent: 0, rttMs: undefined, videoReady: false, audioReady: false, remoteCandidateCount: 0 };
  }
  sendVideo(): void {}
  sendAudio(): void {}
  addRemoteCandidate(): void {}
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

interface Rig {
  request(path: string, init?: RequestInit): Promise<Response>;
  stream: FakeStream;
  registry: SessionRegistry;
  events: SessionEvents;
}

function rig(t: Test, o: Partial<WhepRoutesOptions> = {}, heartbeatMs = 15_000, reconnectDelayMs = 200): Rig {
  const stream = new FakeStream();
  const registry = new SessionRegistry({ viewersPerStream: 8, viewersTotal: 100 });
  const events = new SessionEvents({ registry, reconnectDelayMs: () => reconnectDelayMs, heartbeatMs });
  t.teardown(() => {
    registry.closeAll('test over');
    events.close();
  });
  const app = new Hono();
  app.onError(httpErrorHandler(silentLogger()));
  app.use('*', corsMiddleware(['*']));
  app.route(
    '/',
    whepRoutes({
      streams: { get: (id) => (id === 'demo' ? stream : undefined), list: () => [stream] },
      registry,
      createPeer: async () => new FakePeer(),
      iceServers: [],
      maxBodyBytes: 64 * 1024,
      timers: { handshakeTimeoutMs: 60_000, disconnectGraceMs: 60_000 },
      log: silentLogger(),
      events,
      ...o,
    }),
  );
  return { request: (path, init) => app.request(path, init), stream, registry, events };
}

/** POSTs an offer; returns the session URL and the events URL from its Link. */
async function join(r: Rig, headers: Record<string, string> = {}): Promise<{ session: string; events: string; link: string }> {
  const res = await r.request('/whep/demo', { method: 'POST', headers: { ...SDP, ...headers }, body: offer });
  if (res.status !== 201) throw new Error(`POST answered ${res.status}`);
  const link = res.headers.get('link') ?? '';
  const events = /<([^>]+)>; rel="urn:ietf:params:whep:ext:core:server-sent-events"/.exec(link)?.[1];
  if (!events) throw new Error(`no events Link in ${link}`);
  return { session: res.headers.get('location')!, events, link };
}

/** Reads an SSE body as it arrives; `until` waits for text matching `re`, bounded. */
function reader(res: Response): { text: () => string; until: (re: RegExp, ms?: number) => Promise<string>; ended: () => Promise<boolean>; cancel: () => Promise<void> } {
  const r = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let done = false;
  const pump = (async () => {
    for (;;) {
      const { value, done: d } = await r.read().catch(() => ({ value: undefined, done: true }));
      if (d) break;
      text += decoder.decode(value, { stream: true });
    }
    done = true;
  })();
  return {
    text: () => text,
    until: async (re, ms = 3000) => {
      const deadline = Date.now() + ms;
      while (!re.test(text)) {
        if (Date.now() > deadline) throw new Error(`no ${re} in ${JSON.stringify(text)}`);
        if (done) throw new Error(`stream ended without ${re}: ${JSON.stringify(text)}`);
        await new Promise((res) => setTimeout(res, 10));
      }
      return text;
    },
    ended: () => Promise.race([pump.then(() => true), new Promise<boolean>((res) => setTimeout(() => res(done), 2000))]),
    cancel: () => r.cancel().catch(() => {}),
  };
}

/** Subscribes and opens the event stream. */
async function subscribe(r: Rig, eventsUrl: string, names: string[] = ['active', 'inactive', 'viewercount', 'reconnect']) {
  const res = await r.request(eventsUrl, { method: 'POST', headers: JSON_CT, body: JSON.stringify(names) });
  if (res.status !== 201) throw new Error(`events POST answered ${res.status}: ${await res.text()}`);
  const location = res.headers.get('location')!;
  const get = await r.request(location);
  return { location, get, sse: reader(get) };
}

t.test('POST 201 offers the extension in a Link; subscribing gives 201 + Location; GET streams the current state first', async (t) => {
  const r = rig(t);
  const { link, events, session } = await join(r);
  t.match(link, /<\/whep\/demo\/[A-Za-z0-9_-]{22}\/events>; rel="urn:ietf:params:whep:ext:core:server-sent-events"; events="active,inactive,viewercount,reconnect"/);
  t.equal(events, `${session}/events`);
  const sub = await r.request(events, { method: 'POST', headers: JSON_CT, body: '["active","viewercount"]' });
  t.equal(sub.status, 201);
  t.match(sub.headers.get('location'), new RegExp(`^${session}/events/[A-Za-z0-9_-]{22}$`));
  t.same(await sub.json(), { events: ['active', 'viewercount'] });
  const get = await r.request(sub.headers.get('location')!, { headers: { Origin: 'https://player.example' } });
  t.equal(get.status, 200);
  t.equal(get.headers.get('content-type'), 'text/event-stream');
  t.equal(get.headers.get('cache-control'), 'no-cache');
  t.equal(get.headers.get('access-control-allow-origin'), '*', 'CORS on the event stream');
  const sse = reader(get);
  t.equal(await sse.until(/viewercount/), 'event: active\ndata: {}\n\nevent: viewercount\ndata: {"viewercount":1}\n\n');
  await sse.cancel();
});

t.test('subscribing refuses unknown or malformed event lists with 400 and creates nothing; 404 and 415 as elsewhere', async (t) => {
  const r = rig(t);
  const { events } = await join(r);
  const rows: [string, string, number, RegExp][] = [
    ['unknown event', '["active","layers"]', 400, /event "layers" is not offered/],
    ['not an array', '{"active":true}', 400, /JSON array of 1 to 16 event names/],
    ['empty array', '[]', 400, /JSON array of 1 to 16/],
    ['not JSON', 'active', 400, /not JSON/],
    ['a number', '[1]', 400, /event 1 is not offered/],
  ];
  for (const [what, body, status, re] of rows) {
    const res = await r.request(events, { method: 'POST', headers: JSON_CT, body });
    t.equal(res.status, status, what);
    t.match(await res.text(), re, what);
  }
  t.equal(r.events.size, 0, 'no event stream was created');
  t.equal((await r.request(events, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '["active"]' })).status, 415);
  t.equal((await r.request('/whep/demo/nope/events', { method: 'POST', headers: JSON_CT, body: '["active"]' })).status, 404);
  t.equal((await r.request(`${events}/nope`)).status, 404, 'GET of an unknown event stream');
  t.equal((await r.request(events, { method: 'POST', headers: JSON_CT, body: `["${'a'.repeat(2000)}"]` })).status, 413, 'subscriptions are small');
});

t.test('a session holds at most 4 event streams; the 5th is 429 until one is deleted', async (t) => {
  const r = rig(t);
  const { events } = await join(r);
  const locations: string[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await r.request(events, { method: 'POST', headers: JSON_CT, body: '["active"]' });
    t.equal(res.status, 201);
    locations.push(res.headers.get('location')!);
  }
  const fifth = await r.request(events, { method: 'POST', headers: JSON_CT, body: '["active"]' });
  t.equal(fifth.status, 429);
  t.match(await fifth.text(), /already has 4 event streams: DELETE one first/);
  t.equal((await r.request(locations[0]!, { method: 'DELETE' })).status, 200);
  t.equal((await r.request(locations[0]!, { method: 'DELETE' })).status, 404, 'gone after DELETE');
  t.equal((await r.request(events, { method: 'POST', headers: JSON_CT, body: '["active"]' })).status, 201, 'room again');
});

t.test('state changes become active/inactive once each; viewercount is throttled to one a second with the latest count', async (t) => {
  const r = rig(t);
  const { events } = await join(r);
  const { sse } = await subscribe(r, events);
  await sse.until(/viewercount":1/);
  r.stream.setState('failed');
  r.stream.setState('starting');
  await sse.until(/event: inactive/);
  r.stream.setState('live');
  await sse.until(/inactive\ndata: \{\}\n\nevent: active/);
  t.equal(sse.text().match(/event: inactive/g)?.length, 1, 'failed then starting is one inactive');
  const started = Date.now();
  await join(r);
  await sse.until(/viewercount":2/);
  await join(r);
  await join(r);
  await sse.until(/viewercount":4/, 2500);
  t.ok(Date.now() - started >= 900, 'the second count waited for the interval');
  t.notMatch(sse.text(), /viewercount":3/, 'intermediate counts coalesced');
  await sse.cancel();
});

t.test('the event stream ends with its session and then answers 404; a stream-ended session says inactive first', async (t) => {
  const r = rig(t);
  const a = await join(r);
  const sa = await subscribe(r, a.events, ['active', 'inactive']);
  await sa.sse.until(/active/);
  t.equal((await r.request(a.session, { method: 'DELETE' })).status, 200);
  t.equal(await sa.sse.ended(), true, 'the response ended with the session');
  t.equal((await r.request(sa.location)).status, 404);
  t.equal(r.events.size, 0);

  const b = await join(r);
  const sb = await subscribe(r, b.events, ['active', 'inactive']);
  await sb.sse.until(/active/);
  r.stream.end({ kind: 'ffmpeg-exited', message: 'killed' });
  t.equal(await sb.sse.ended(), true);
  t.equal(sb.sse.text(), 'event: active\ndata: {}\n\nevent: inactive\ndata: {}\n\n', 'inactive, then the end');
});

t.test('SessionEvents.endWithReconnect() tells subscribers to POST again, then ends their sessions after the delay', async (t) => {
  const r = rig(t, {}, 15_000, 300);
  const told = await join(r);
  const silent = await join(r);
  const { sse } = await subscribe(r, told.events);
  await sse.until(/viewercount/);
  const started = Date.now();
  const ending = r.events.endWithReconnect(() => true, 'whepd is shutting down');
  await sse.until(/event: reconnect\ndata: \{"url":"\/whep\/demo","reason":"whepd is shutting down"\}\n\n/);
  t.equal(r.registry.get('demo', silent.session.split('/').pop()!), undefined, 'a session with no one to tell closes at once');
  t.equal(r.registry.total, 1, 'the told session lives on for the delay');
  t.equal(await ending, 2);
  t.ok(Date.now() - started >= 280, 'closed after reconnectDelayMs');
  t.equal(r.registry.total, 0);
  t.equal(await sse.ended(), true);
  t.match(sse.text(), /event: reconnect\ndata: [^\n]*\n\n$/, 'nothing after reconnect, though the count changed twice');
});

t.test('a heartbeat comment keeps idle event streams open', async (t) => {
  const r = rig(t, {}, 50);
  const { events } = await join(r);
  const { sse } = await subscribe(r, events, ['active']);
  await sse.until(/: heartbeat\n\n: heartbeat\n\n/);
  t.match(sse.text(), /^event: active\ndata: \{\}\n\n: heartbeat\n\n/);
  await sse.cancel();
});

t.test('a client that went away is forgotten; a second GET replaces the first connection', async (t) => {
  const r = rig(t);
  const { events } = await join(r);
  const { location, sse } = await subscribe(r, events, ['active', 'inactive']);
  await sse.until(/active/);
  const again = reader(await r.request(location));
  await again.until(/active/);
  t.equal(await sse.ended(), true, 'the first connection was ended');
  r.stream.setState('failed');
  await again.until(/inactive/);
  await again.cancel();
});

t.test('the events routes are behind the same access control as the session', async (t) => {
  const token = 'Bearer s3cret';
  const r = rig(t, { authorize: async (_id, h) => (h === token ? undefined : Promise.reject(new UnauthorizedError('no token'))) });
  const { events } = await join(r, { Authorization: token });
  t.equal((await r.request(events, { method: 'POST', headers: JSON_CT, body: '["active"]' })).status, 401);
  const ok = await r.request(events, { method: 'POST', headers: { ...JSON_CT, Authorization: token }, body: '["active"]' });
  t.equal(ok.status, 201);
  const location = ok.headers.get('location')!;
  t.equal((await r.request(location)).status, 401, 'GET without the token');
  const get = await r.request(location, { headers: { Authorization: token } });
  t.equal(get.status, 200);
  await reader(get).cancel();
  t.equal((await r.request(location, { method: 'OPTIONS' })).status, 204, 'a preflight needs no token');
});
