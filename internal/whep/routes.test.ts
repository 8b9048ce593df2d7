/**
 * The WHEP status matrix in memory: whepRoutes() in the rig of internal/testkit/whep-rig.ts (mounted
 * as app.ts mounts it, fakes of the interfaces whep/types.ts declares). No FFmpeg, no socket, no
 * real peer; internal/app/whep-matrix.test.ts runs the same rows against a real App.
 */
import t from 'tap';
import { createHmac } from 'node:crypto';
import { GatewayTimeoutError, RateLimitedError, UnauthorizedError } from '../errors/index.js';
import { ANSWER, FRAG, FakePeer, OWN, RESTART, SDP, cand, noH264, offer, post, rig, withSession } from '../testkit/index.js';
import type { Rig } from '../testkit/index.js';
import type { Caps, WhepRoutesOptions } from './index.js';

t.test('whepRoutes() counts every POST outcome, 401 and 429 included (defect 3)', async (t) => {
  const locked = rig(t, { authorize: async () => Promise.reject(new UnauthorizedError('no token')) });
  t.equal((await locked.request('/whep/demo', { method: 'POST', headers: SDP, body: offer })).status, 401);
  t.same(locked.posts, [{ stream: 'demo', status: 401 }], 'a 401 is counted');
  const limited = rig(t, { rateLimit: () => { throw new RateLimitedError('too many requests from this address'); } });
  t.equal((await limited.request('/whep/demo', { method: 'POST', headers: SDP, body: offer })).status, 429);
  t.same(limited.posts, [{ stream: 'demo', status: 429 }], 'a 429 is counted');
  const open = rig(t);
  t.equal((await open.request('/whep/demo', { method: 'POST', headers: SDP, body: offer })).status, 201);
  t.equal((await open.request('/whep/nope', { method: 'POST', headers: SDP, body: offer })).status, 404);
  t.same(open.posts, [{ stream: 'demo', status: 201 }, { stream: 'nope', status: 404 }]);
  t.equal(open.started.length, 1, 'the observer saw the one session');
});

t.test('POST 201: answer, Location, strong ETag, one Link per ICE server, CORS; the viewer is attached', async (t) => {
  const r = rig(t, { iceServers: ['stun:stun.example:3478', { urls: ['turn:turn.example:3478?transport=udp'], username: 'u', credential: 'p' }] });
  const res = await post(r);
  t.equal(res.status, 201);
  t.equal(res.headers.get('content-type'), 'application/sdp');
  t.match(res.headers.get('location'), /^\/whep\/demo\/[A-Za-z0-9_-]{22}$/, '128-bit resource id');
  t.match(res.headers.get('etag'), /^"[^"]+"$/, 'strong ETag');
  t.same((res.headers.get('link') ?? '').split(/,\s*(?=<)/), [
    '<stun:stun.example:3478>; rel="ice-server"',
    '<turn:turn.example:3478?transport=udp>; rel="ice-server"; username="u"; credential="p"; credential-type="password"',
  ]);
  t.equal(res.headers.get('access-control-allow-origin'), '*');
  t.match(res.headers.get('access-control-expose-headers'), /Location, ETag, Link/);
  t.equal(await res.text(), ANSWER);
  t.equal(r.streams.get('demo')?.viewerCount, 1, 'attached to the stream');
  t.equal(r.registry.total, 1, 'one slot held');
  t.equal(r.started[0]?.streamId, 'demo', 'the observer got the session');
});

t.test('POST error rows: status, text body, CORS, Retry-After', async (t) => {
  const bigBody = offer + 'a=x:'.padEnd(70 * 1024, 'x');
  const chunked = () => new Blob([bigBody]).stream();
  const badCandidate = offer.replace(/^(a=mid:0\r?\n)/m, '$1a=candidate:1 0 udp 1 127.0.0.1 9 typ host\r\n');
  const rows: [string, Partial<WhepRoutesOptions>, Partial<Caps>, (r: Rig) => Promise<Response>, number, RegExp, string?][] = [
    ['empty body', {}, {}, (r) => post(r, 'demo', ''), 400, /^empty body: POST an SDP offer\n$/],
    ['not SDP', {}, {}, (r) => post(r, 'demo', 'hello'), 400, /^body is not an SDP offer \(must start with v=0\)\n$/],
    ['malformed offer candidate', {}, {}, (r) => post(r, 'demo', badCandidate), 400, /^offer has a malformed ICE candidate: a=candidate:1 0 udp/],
    // A full stream answers 400, not 503: the candidate grammar runs before a slot is reserved.
    ['malformed offer candidate at a full stream', {}, { viewersPerStream: 0 }, (r) => post(r, 'demo', badCandidate), 400, /malformed ICE candidate/],
    ['no token', { authorize: () => Promise.reject(new UnauthorizedError('missing or wrong bearer token')) }, {}, (r) => post(r), 401, /bearer token/],
    ['unknown stream, whatever the body', {}, {}, (r) => post(r, 'nope', 'hello', { 'Content-Type': 'text/plain' }), 404, /^no stream named nope\n$/],
    ['no H264', {}, {}, (r) => post(r, 'demo', noH264), 406, /H264/],
    ['not live', {}, {}, (r) => post(r, 'idle'), 409, /^stream idle is not live yet\n$/, '2'],
    ['body over the limit (Content-Length)', {}, {}, (r) => post(r, 'demo', bigBody, { ...SDP, 'Content-Length': String(bigBody.length) }), 413, /^body is \d+ bytes; the limit is 65536\n$/],
    ['body over the limit (chunked)', {}, {}, (r) => r.request('/whep/demo', { method: 'POST', headers: SDP, body: chunked(), duplex: 'half' } as RequestInit), 413, /^body exceeds the limit of 65536 bytes\n$/],
    ['wrong Content-Type', {}, {}, (r) => post(r, 'demo', offer, { 'Content-Type': 'text/plain' }), 415, /^Content-Type must be application\/sdp, got text\/plain\n$/],
    ['no Content-Type', {}, {}, (r) => r.request('/whep/demo', { method: 'POST', body: new Uint8Array(Buffer.from(offer)) }), 415, /application\/sdp/],
    ['415 before 413', {}, {}, (r) => post(r, 'demo', bigBody, { 'Content-Type': 'text/plain' }), 415, /application\/sdp/],
    ['rate limited', { rateLimit: () => { throw new RateLimitedError('too many requests from this address'); } }, {}, (r) => post(r), 429, /^too many requests from this address\n$/, '1'],
    ['viewer cap', {}, { viewersPerStream: 0 }, (r) => post(r), 503, /viewersPerStream = 0/, '5'],
    ['total cap', {}, { viewersTotal: 0 }, (r) => post(r), 503, /viewersTotal = 0/, '5'],
    ['pending cap', {}, { pendingSessions: 0 }, (r) => post(r), 503, /limits.pendingSessions = 0/, '5'],
    ['draining', { isDraining: () => true }, {}, (r) => post(r), 503, /^whepd is draining \(shutting down or taken out of service\): no new sessions here\n$/, '5'],
    ['ICE gathering timeout', {}, {}, (r) => ((r.failNextPeer = new GatewayTimeoutError('ICE gathering did not complete within 100 ms')), post(r)), 504, /ICE gathering did not complete/],
  ];
  for (const [name, o, caps, send, status, body, retryAfter] of rows) {
    const r = rig(t, o, caps);
    const res = await send(r);
    t.equal(res.status, status, `${name}: ${status}`);
    t.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8', `${name}: text body`);
    t.match(await res.text(), body, `${name}: body`);
    t.equal(res.headers.get('access-control-allow-origin'), '*', `${name}: CORS on errors`);
    t.equal(res.headers.get('retry-after') ?? undefined, retryAfter, `${name}: Retry-After`);
    if (status === 401) t.equal(res.headers.get('www-authenticate'), 'Bearer realm="whepd"', `${name}: WWW-Authenticate`);
    t.equal(r.registry.total, 0, `${name}: no slot held`);
    t.equal(r.peers.length, 0, `${name}: no peer left`);
    t.same(r.posts.map((p) => p.status), [status], `${name}: counted once`);
  }
});

t.test('POST to an on-demand stream starts it and waits; 409 with its last error when it stays down', async (t) => {
  const r = rig(t);
  const idle = r.streams.get('idle')!;
  idle.onDemand = true;
  let demanded = 0;
  Object.assign(idle, { demand: async () => ((demanded++, (idle.live = demanded === 1)), idle.live) });
  t.equal((await post(r, 'idle')).status, 201, 'went live during the POST: 201');
  idle.live = false;
  idle.lastError = 'input has no audio stream';
  const res = await post(r, 'idle');
  t.equal(res.status, 409);
  t.equal(await res.text(), 'stream idle is not live yet: input has no audio stream\n');
  t.equal(demanded, 2);
});

t.test('POST whose stream goes down during negotiation: 409, the peer closed, the slot free', async (t) => {
  const r: Rig = rig(t, {
    createPeer: async () => {
      r.streams.get('demo')!.live = false;
      const p = new FakePeer();
      r.peers.push(p);
      return p;
    },
  });
  const res = await post(r);
  t.equal(res.status, 409);
  t.match(await res.text(), /^stream demo went down during negotiation\n$/);
  t.equal(r.peers[0]?.closed, true, 'the peer is closed');
  t.equal(r.registry.total, 0, 'the slot is free');
  t.equal(r.streams.get('demo')?.viewerCount, 0, 'never attached');
});

/** A rig with one session made by a POST, its URL and ETag. */

t.test('PATCH 204: a trickle with the ETag, *, or no If-Match; candidates reach the peer with their mid', async (t) => {
  const { patch, etag, peer } = await withSession(t);
  const frag = `a=mid:1\r\n${cand(9)}\r\na=end-of-candidates\r\n`;
  t.equal((await patch({ 'If-Match': etag }, frag)).status, 204, 'the ETag');
  t.equal((await patch({ 'If-Match': '*' }, OWN + frag)).status, 204, '* with the offer credentials');
  t.equal((await patch({}, `${cand(10)}\r\n`)).status, 204, 'no If-Match, no mid');
  t.equal((await patch({}, '')).status, 204, 'an empty fragment');
  t.same(peer.candidates.map((c) => c.mid), ['1', '1', '0'], 'a candidate without a=mid goes to the video mid');
  t.equal(peer.candidates[2]?.candidate, cand(10).slice(2));
});

t.test('PATCH error rows: 400/404/412/413/415/422/428, nothing added, the session kept', async (t) => {
  const { r, patch, etag, peer, location } = await withSession(t);
  const strict = await withSession(t, { requireIfMatch: () => true });
  const frag = `a=mid:0\r\n${cand(9)}\r\n`;
  const big = frag + 'a=x:'.padEnd(70 * 1024, 'x');
  const rows: [string, () => Promise<Response>, number, RegExp][] = [
    ['not a fragment', () => patch({ 'If-Match': etag }, 'hello'), 400, /^body is not an SDP fragment\n$/],
    ['malformed candidate', () => patch({ 'If-Match': etag }, 'a=candidate:garbage\r\n'), 400, /^malformed candidate line: a=candidate:garbage\n$/],
    ['the grammar the offer uses', () => patch({}, 'a=candidate:1 257 udp 1 127.0.0.1 9 typ host\r\n'), 400, /^malformed candidate line/],
    ['too many candidates', () => patch({}, [1, 2, 3, 4].map(cand).join('\r\n')), 400, /^too many candidates in one PATCH \(max 3\)\n$/],
    ['unknown session', () => patch({ 'If-Match': etag }, frag, '/whep/demo/unknown'), 404, /^no session unknown on stream demo\n$/],
    ['stale If-Match', () => patch({ 'If-Match': '"stale"' }, frag), 412, /^If-Match does not match the session ETag\n$/],
    ['weak If-Match', () => patch({ 'If-Match': `W/${etag}` }, frag), 412, /If-Match/],
    ['restart with a stale ETag', () => patch({ 'If-Match': '"stale"' }, RESTART + frag), 412, /If-Match/],
    ['body over the limit', () => patch({ 'Content-Length': String(big.length) }, big), 413, /limit is 65536/],
    ['wrong Content-Type', () => r.request(location, { method: 'PATCH', headers: { 'Content-Type': 'application/sdp' }, body: frag }), 415, /^Content-Type must be application\/trickle-ice-sdpfrag, got application\/sdp\n$/],
    ['ICE restart with *', () => patch({ 'If-Match': '*' }, RESTART + frag), 422, /^ICE restart is not supported; start a new session \(the current one keeps running\)\n$/],
    ['ICE restart with the ETag', () => patch({ 'If-Match': etag }, RESTART + frag), 422, /ICE restart/],
    ['requireIfMatch, none', () => strict.patch({}, frag), 428, /^PATCH needs If-Match with the session ETag\n$/],
    ['requireIfMatch, none, restart', () => strict.patch({}, RESTART + frag), 428, /If-Match/],
  ];
  for (const [name, send, status, body] of rows) {
    const res = await send();
    t.equal(res.status, status, `${name}: ${status}`);
    t.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8', `${name}: text body`);
    t.match(await res.text(), body, `${name}: body`);
    t.equal(res.headers.get('access-control-allow-origin'), '*', `${name}: CORS`);
  }
  t.equal(peer.candidates.length + strict.peer.candidates.length, 0, 'no candidate reached a peer');
  t.equal(r.registry.total, 1, 'a refused PATCH never ends the session');
  t.equal((await strict.patch({ 'If-Match': strict.etag }, OWN + frag)).status, 204, 'requireIfMatch with the ETag: 204');
  t.equal((await strict.patch({ 'If-Match': '*' }, frag)).status, 204, 'requireIfMatch with *: 204');
});

t.test('DELETE 200 closes the session and frees the slot; again or unknown: 204', async (t) => {
  const { r, location, peer } = await withSession(t);
  const res = await r.request(location, { method: 'DELETE' });
  t.equal(res.status, 200);
  t.equal(peer.closed, true, 'the peer is closed');
  t.equal(r.registry.total, 0, 'the slot is free at once');
  t.equal(r.streams.get('demo')?.viewerCount, 0, 'detached from the stream');
  t.equal((await r.request(location, { method: 'DELETE' })).status, 204, 'again: 204');
  t.equal((await r.request('/whep/nope/x', { method: 'DELETE' })).status, 204, 'any stream name: 204');
  t.equal((await r.request(location, { method: 'PATCH', headers: { 'Content-Type': FRAG }, body: '' })).status, 404, 'PATCH after DELETE: 404');
});

t.test('whepRoutes() counts PATCH and DELETE outcomes like POSTs (issue 13 item 5)', async (t) => {
  const { r, location, etag, patch } = await withSession(t);
  await patch({ 'If-Match': etag }, `${cand(9)}\r\n`);
  await patch({ 'If-Match': '"stale"' }, `${cand(9)}\r\n`);
  await r.request(location, { method: 'DELETE' });
  await r.request(location, { method: 'DELETE' });
  t.same(r.others, [
    { method: 'PATCH', stream: 'demo', status: 204 },
    { method: 'PATCH', stream: 'demo', status: 412 },
    { method: 'DELETE', stream: 'demo', status: 200 },
    { method: 'DELETE', stream: 'demo', status: 204 },
  ]);
  t.equal(r.posts.length, 1, 'the POST is counted apart');
});

t.test('OPTIONS 204 (no auth, no rate limit), HEAD 200, GET 204; 404 on an unknown stream', async (t) => {
  const r = rig(t, { authorize: () => Promise.reject(new UnauthorizedError('no token')), rateLimit: () => { throw new RateLimitedError('slow down'); } });
  const pre = await r.request('/whep/demo', { method: 'OPTIONS', headers: { Origin: 'https://player.example', 'Access-Control-Request-Method': 'POST' } });
  t.equal(pre.status, 204);
  t.equal(pre.headers.get('allow'), 'OPTIONS, GET, HEAD, POST');
  t.equal(pre.headers.get('accept-post'), 'application/sdp');
  t.equal(pre.headers.get('access-control-max-age'), '86400');
  t.equal(pre.headers.get('access-control-allow-methods'), 'OPTIONS, GET, HEAD, POST, PATCH, DELETE');
  t.equal(pre.headers.get('access-control-allow-headers'), 'Authorization, Content-Type, If-Match');
  t.equal(pre.headers.get('access-control-expose-headers'), 'Location, ETag, Link, Retry-After, Accept-Post, Allow');
  const res = await r.request('/whep/demo/any', { method: 'OPTIONS' });
  t.equal(res.status, 204, 'a session URL, existing or not');
  t.equal(res.headers.get('allow'), 'OPTIONS, PATCH, DELETE');
  t.equal((await r.request('/whep/nope', { method: 'OPTIONS' })).status, 404);

  const open = rig(t);
  const head = await open.request('/whep/demo', { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers.get('content-type'), 'application/sdp');
  t.equal(await head.text(), '', 'HEAD has no body');
  const get = await open.request('/whep/demo');
  t.equal(get.status, 204);
  t.equal(get.headers.get('accept-post'), 'application/sdp');
  t.equal((await open.request('/whep/nope')).status, 404);
  t.equal((await r.request('/whep/demo')).status, 401, 'GET needs the token; only OPTIONS is exempt');
});

t.test('webrtc.turn: each 201 and each plain OPTIONS carries a fresh expiring TURN credential, never the secret', async (t) => {
  const r = rig(t, { turn: { urls: ['turn:127.0.0.1:3478?transport=tcp'], secret: 'shared-with-coturn', ttlS: 600 } });
  const before = Math.floor(Date.now() / 1000);
  const res = await post(r);
  const link = res.headers.get('link') ?? '';
  const id = (res.headers.get('location') ?? '').split('/').pop();
  const m = /^<turn:127\.0\.0\.1:3478\?transport=tcp>; rel="ice-server"; username="(\d+):([^"]+)"; credential="([^"]+)"; credential-type="password"$/.exec(link);
  t.ok(m, link);
  t.ok(Number(m?.[1]) >= before + 600 && Number(m?.[1]) <= before + 601, 'expires ttlS from now');
  t.equal(m?.[2], id, 'the username names the session');
  t.equal(m?.[3], createHmac('sha1', 'shared-with-coturn').update(`${m?.[1]}:${m?.[2]}`).digest('base64'), 'HMAC-SHA1 of the username, base64');
  t.notMatch(link, /shared-with-coturn/);
  const a = (await r.request('/whep/demo', { method: 'OPTIONS' })).headers.get('link');
  const b = (await r.request('/whep/demo', { method: 'OPTIONS' })).headers.get('link');
  t.match(a, /rel="ice-server"; username="\d+:[A-Za-z0-9_-]{22}"/, 'a plain OPTIONS gets one too');
  t.not(a, b, 'each is minted afresh');
});

t.test('a plain OPTIONS lists the ICE servers (RFC 9725 section 4.6); a preflight never does; behind auth only with a valid token', async (t) => {
  const iceServers = ['stun:127.0.0.1:3478', { urls: 'turn:127.0.0.1:3478?transport=tcp', username: 'u', credential: 'p' }];
  const open = rig(t, { iceServers });
  const plain = await open.request('/whep/demo', { method: 'OPTIONS' });
  t.equal(plain.status, 204);
  t.same(plain.headers.get('link')?.split(', <').length, 2, 'one Link per ICE server URL');
  t.match(plain.headers.get('link'), /<turn:127\.0\.0\.1:3478\?transport=tcp>; rel="ice-server"; username="u"; credential="p"/);
  const pre = await open.request('/whep/demo', { method: 'OPTIONS', headers: { 'Access-Control-Request-Method': 'POST', Origin: 'https://player.example' } });
  t.equal(pre.status, 204);
  t.equal(pre.headers.get('link'), null, 'a CORS preflight carries no credentials');
  const guarded = rig(t, { iceServers, authorize: async (_id, header) => { if (header !== 'Bearer good') throw new UnauthorizedError('no token'); } });
  const without = await guarded.request('/whep/demo', { method: 'OPTIONS' });
  t.equal(without.status, 204, 'without a token the OPTIONS still answers');
  t.equal(without.headers.get('link'), null, '... but names no ICE server');
  t.equal((await guarded.request('/whep/demo', { method: 'OPTIONS', headers: { Authorization: 'Bearer bad' } })).headers.get('link'), null, 'a wrong token: none either');
  t.match((await guarded.request('/whep/demo', { method: 'OPTIONS', headers: { Authorization: 'Bearer good' } })).headers.get('link'), /rel="ice-server"/, 'a valid token: the servers');
});

t.test('CORS with an origin list: a listed Origin is echoed with Vary, another gets none', async (t) => {
  const app = rig(t, {}, {}, ['https://player.example']);
  const listed = await app.request('/whep/nope', { method: 'POST', headers: { ...SDP, Origin: 'https://player.example' }, body: offer });
  t.equal(listed.status, 404);
  t.equal(listed.headers.get('access-control-allow-origin'), 'https://player.example');
  t.match(listed.headers.get('vary'), /Origin/);
  const other = await app.request('/whep/demo', { method: 'OPTIONS', headers: { Origin: 'https://evil.example' } });
  t.equal(other.status, 204, 'answered anyway: CORS is not access control');
  t.equal(other.headers.get('access-control-allow-origin'), null);
});
