/** The WHEP status matrix, row by row, against a real App (real FFmpeg, real peers). */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'sdp-transform';
import { parseConfig } from '../config/index.js';
import { StunServer, releaseWebRtc, startTestApp, waitLive, waitUntil } from '../testkit/index.js';

t.teardown(releaseWebRtc);

const offer = readFileSync('fixtures/offers/chromium-recvonly-trickle.sdp', 'utf8');
// Neither H264 nor VP8 (the stream's fallback encoding): nothing whepd can send.
const noH264 = readFileSync('fixtures/offers/firefox-like-no-h264.sdp', 'utf8').replace(/VP8\/90000/g, 'VP9/90000');
const noOpus = readFileSync('fixtures/offers/no-opus.sdp', 'utf8');
const maxBundle = readFileSync('fixtures/offers/chromium-max-bundle.sdp', 'utf8');
const maxBundleAudioFirst = readFileSync('fixtures/offers/chromium-max-bundle-audio-first.sdp', 'utf8');
const SDP = { 'Content-Type': 'application/sdp' };
const FRAG = 'application/trickle-ice-sdpfrag';

const turn = { urls: 'turn:127.0.0.1:3478?transport=udp', username: 'u', credential: 'p' };

t.test('WHEP matrix', async (t) => {
  const app = await startTestApp({
    webrtc: { iceServers: ['stun:127.0.0.1:3478', turn], gatheringTimeoutMs: 100, handshakeTimeoutMs: 30000 },
    streams: [
      { id: 'demo', input: 'fixtures/media/demo.mp4', loop: true },
      { id: 'idle', input: 'fixtures/media/video-only.mp4', loop: true },
    ],
  });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const req = (path: string, init?: RequestInit) => app.http.request(path, init);

  await t.test('POST whose ICE gathering cannot complete in time -> 504', async (t) => {
    // ICE servers on loopback that never answer: gathering cannot complete within 100 ms.
    const res = await req('/whep/demo', { method: 'POST', headers: SDP, body: offer });
    t.equal(res.status, 504, 'POST with unanswered STUN/TURN servers times out gathering: 504');
    t.match(await res.text(), /ICE gathering did not complete/);
    t.equal(app.registry.total, 0, 'the slot is released');
  });

  const plain = await startTestApp({ webrtc: { handshakeTimeoutMs: 30000 } });
  t.teardown(() => plain.close());
  await waitLive(plain, 'demo');
  const preq = (path: string, init?: RequestInit) => plain.http.request(path, init);

  let location = '';
  let etag = '';
  await t.test('POST valid offer -> 201 answer, Location, ETag, Content-Type, CORS', async (t) => {
    const res = await preq('/whep/demo', { method: 'POST', headers: SDP, body: offer });
    t.equal(res.status, 201);
    t.equal(res.headers.get('content-type'), 'application/sdp');
    location = res.headers.get('location') ?? '';
    etag = res.headers.get('etag') ?? '';
    t.match(location, /^\/whep\/demo\/[A-Za-z0-9_-]{22}$/, '128-bit resource id');
    t.match(etag, /^"[^"]+"$/, 'strong ETag');
    t.equal(res.headers.get('access-control-allow-origin'), '*');
    t.match(res.headers.get('access-control-expose-headers'), /Location/);
    const body = await res.text();
    t.match(body, /a=sendonly/);
    t.match(body, /a=ssrc:\d+ cname:/);
    t.match(body, /a=group:BUNDLE/);
  });

  await t.test('Link headers: one per configured ICE server, then the server-sent events extension', async (t) => {
    const stun = await StunServer.start();
    t.teardown(() => stun.close());
    const linked = await startTestApp({ webrtc: { iceServers: [stun.url, { urls: [stun.url], username: 'u', credential: 'p' }] } });
    t.teardown(() => linked.close());
    await waitLive(linked, 'demo');
    const res = await linked.http.request('/whep/demo', { method: 'POST', headers: SDP, body: offer });
    t.equal(res.status, 201);
    const links = (res.headers.get('link') ?? '').split(/,\s*(?=<)/);
    t.equal(links.length, 3, 'three Link values');
    t.equal(links[0], `<${stun.url}>; rel="ice-server"`);
    t.equal(links[1], `<${stun.url}>; rel="ice-server"; username="u"; credential="p"; credential-type="password"`);
    t.match(links[2], /^<\/whep\/demo\/[A-Za-z0-9_-]{22}\/events>; rel="urn:ietf:params:whep:ext:core:server-sent-events"; events="active,inactive,viewercount,reconnect"$/);
    t.ok(stun.requests > 0, 'whepd asked the STUN server while gathering');
  });

  await t.test('POST error rows', async (t) => {
    const cases: [string, RequestInit, string, number, RegExp][] = [
      ['empty body', { method: 'POST', headers: SDP, body: '' }, '/whep/demo', 400, /empty body/],
      ['unparsable SDP', { method: 'POST', headers: SDP, body: 'hello' }, '/whep/demo', 400, /not an SDP offer/],
      ['wrong Content-Type', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: offer }, '/whep/demo', 415, /application\/sdp/],
      ['no Content-Type', { method: 'POST', body: new Uint8Array(Buffer.from(offer)) }, '/whep/demo', 415, /application\/sdp/],
      ['body over 64 KiB', { method: 'POST', headers: SDP, body: offer + 'a=x:'.padEnd(70 * 1024, 'x') }, '/whep/demo', 413, /limit/],
      ['unknown stream', { method: 'POST', headers: SDP, body: offer }, '/whep/nope', 404, /no stream named nope/],
      ['not live', { method: 'POST', headers: SDP, body: offer }, '/whep/idle', 409, /not live/],
      ['neither H264 nor VP8', { method: 'POST', headers: SDP, body: noH264 }, '/whep/demo', 406, /no H264.*and no VP8/],
      ['no Opus', { method: 'POST', headers: SDP, body: noOpus }, '/whep/demo', 406, /Opus/],
      [
        'audio m-line port 0 without bundle-only',
        { method: 'POST', headers: SDP, body: maxBundle.replace('a=bundle-only\r\n', '') },
        '/whep/demo',
        406,
        /^offer's audio m-line \(mid 1\) was rejected by the offerer \(port 0 without a=bundle-only\); whepd sends H264/,
      ],
    ];
    for (const [name, init, path, status, body] of cases) {
      const target = path === '/whep/idle' ? req : preq;
      const res = await target(path, init);
      t.equal(res.status, status, `${name}: ${status}`);
      t.match(res.headers.get('content-type'), /^text\/plain/, `${name}: text body`);
      t.match(await res.text(), body, `${name}: body`);
      t.equal(res.headers.get('access-control-allow-origin'), '*', `${name}: CORS on errors`);
      if (status === 409) t.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After on 409');
    }
  });

  await t.test('PATCH rows', async (t) => {
    // The trickle offer's own ufrag/pwd, as MediaMTX's reader repeats them on every PATCH.
    const own = 'a=ice-ufrag:2U8Q\r\na=ice-pwd:BhCItKYeHZONBzkCXBnmVaAM\r\n';
    const cand = (port: number) => `a=mid:0\r\na=candidate:${port} 1 udp 2130706431 127.0.0.1 ${port} typ host\r\n`;
    const frag = `${own}${cand(9)}a=end-of-candidates\r\n`;
    const patch = (headers: Record<string, string>, body = frag, path = location) => preq(path, { method: 'PATCH', headers, body });
    const session = plain.registry.list('demo')[0]!;
    t.equal(session.plan.iceUfrag, '2U8Q', 'the session runs the offer\'s ICE credentials');
    t.equal(session.plan.icePwd, 'BhCItKYeHZONBzkCXBnmVaAM');
    let port = 10;
    /** PATCHes `creds` and one new candidate; says the status and how many candidates the peer gained. */
    const trickle = async (headers: Record<string, string>, creds: string) => {
      const before = session.remoteCandidateCount;
      const res = await patch(headers, creds + cand(port++));
      return { status: res.status, added: session.remoteCandidateCount - before };
    };

    const before = session.remoteCandidateCount;
    t.equal((await patch({ 'Content-Type': FRAG, 'If-Match': etag })).status, 204, 'trickle with the ETag: 204');
    t.equal(session.remoteCandidateCount, before + 1, 'the candidate was added');
    t.same(await trickle({ 'Content-Type': FRAG, 'If-Match': '*' }, own), { status: 204, added: 1 }, 'If-Match * with the same ufrag/pwd is a trickle: 204');
    t.same(await trickle({ 'Content-Type': FRAG, 'If-Match': '*' }, ''), { status: 204, added: 1 }, 'If-Match * without a ufrag is a trickle: 204');
    t.same(await trickle({ 'Content-Type': FRAG }, ''), { status: 204, added: 1 }, 'no If-Match (not required by default): 204');
    t.same(await trickle({ 'Content-Type': FRAG }, own), { status: 204, added: 1 }, 'no If-Match, the same ufrag: 204');
    t.equal((await patch({ 'Content-Type': FRAG, 'If-Match': '"stale"' })).status, 412, 'stale If-Match: 412');
    const restartFrag = 'a=ice-ufrag:new1\r\na=ice-pwd:newpasswordnewpassword12\r\n';
    t.same(await trickle({ 'Content-Type': FRAG, 'If-Match': '*' }, restartFrag), { status: 422, added: 0 }, 'ICE restart with If-Match *: 422, nothing added');
    t.same(await trickle({ 'Content-Type': FRAG, 'If-Match': etag }, restartFrag), { status: 422, added: 0 }, 'ICE restart with the ETag: 422');
    t.equal((await patch({ 'Content-Type': FRAG, 'If-Match': '"stale"' }, restartFrag)).status, 412, 'ICE restart with a stale ETag: 412');
    t.equal((await patch({ 'Content-Type': 'application/sdp', 'If-Match': etag })).status, 415, 'wrong Content-Type: 415');
    t.equal((await patch({ 'Content-Type': FRAG, 'If-Match': etag }, frag, '/whep/demo/unknown')).status, 404, 'unknown resource: 404');
    t.equal((await patch({ 'Content-Type': FRAG, 'If-Match': etag }, 'a=candidate:garbage\r\n')).status, 400, 'malformed candidate: 400');
    t.equal(plain.registry.total, 1, 'a failed restart never ends the session');

    // whep.requireIfMatch: true restores the strict 428; a reload applies it to running sessions.
    await plain.reload(parseConfig({ ...plain.config, whep: { requireIfMatch: true } }));
    t.teardown(() => plain.reload(parseConfig({ ...plain.config, whep: { requireIfMatch: false } })));
    const strict = await patch({ 'Content-Type': FRAG });
    t.equal(strict.status, 428, 'requireIfMatch, no If-Match: 428');
    t.equal(await strict.text(), 'PATCH needs If-Match with the session ETag\n');
    t.same(await trickle({ 'Content-Type': FRAG }, restartFrag), { status: 428, added: 0 }, 'requireIfMatch, no If-Match on a restart: 428');
    t.same(await trickle({ 'Content-Type': FRAG, 'If-Match': etag }, own), { status: 204, added: 1 }, 'requireIfMatch, the ETag: 204');
    t.same(await trickle({ 'Content-Type': FRAG, 'If-Match': '*' }, own), { status: 204, added: 1 }, 'requireIfMatch, * with the same ufrag: 204');
    t.equal((await patch({ 'Content-Type': FRAG, 'If-Match': '"stale"' })).status, 412, 'requireIfMatch, stale If-Match: 412');
  });

  await t.test('OPTIONS, HEAD and GET', async (t) => {
    const pre = await preq('/whep/demo', { method: 'OPTIONS', headers: { Origin: 'https://player.example', 'Access-Control-Request-Method': 'POST' } });
    t.equal(pre.status, 204);
    t.match(pre.headers.get('allow'), /POST/);
    t.equal(pre.headers.get('accept-post'), 'application/sdp');
    t.match(pre.headers.get('access-control-allow-methods'), /PATCH/);
    t.match(pre.headers.get('access-control-allow-headers'), /If-Match/);
    const res = await preq(location, { method: 'OPTIONS' });
    t.equal(res.status, 204);
    t.match(res.headers.get('allow'), /DELETE/);
    const head = await preq('/whep/demo', { method: 'HEAD' });
    t.equal(head.status, 200);
    t.equal(head.headers.get('content-type'), 'application/sdp');
    t.equal((await head.text()).length, 0, 'HEAD has no body');
    t.equal((await preq('/whep/demo', { method: 'GET' })).status, 204);
  });

  await t.test('DELETE known then unknown', async (t) => {
    t.equal((await preq(location, { method: 'DELETE' })).status, 200);
    t.equal((await preq(location, { method: 'DELETE' })).status, 204);
    await waitUntil(() => plain.registry.total === 0, 1000, 'counter to drop');
    t.equal(plain.registry.total, 0);
  });

  await t.test('POST a max-bundle offer (bundle-only second m-line) -> 201, both m-lines answered in the bundle', async (t) => {
    for (const [name, sdp, kinds] of [
      ['video first', maxBundle, ['video', 'audio']],
      ['audio first', maxBundleAudioFirst, ['audio', 'video']],
    ] as const) {
      const res = await preq('/whep/demo', { method: 'POST', headers: SDP, body: sdp });
      t.equal(res.status, 201, `${name}: 201`);
      const answer = parse(await res.text());
      t.same(answer.media.map((m) => m.type), kinds, `${name}: m-lines in the offer's order`);
      t.same(answer.media.map((m) => String(m.mid)), ['0', '1'], `${name}: the offer's mids`);
      for (const m of answer.media) t.not(m.port, 0, `${name}: ${m.type} m-line (mid ${m.mid}) has a port`);
      t.equal(answer.media[1]?.port, answer.media[0]?.port, `${name}: the bundle-only m-line gets the bundle's port (RFC 9143 section 7.3)`);
      const bundle = (answer.groups ?? []).find((g) => g.type === 'BUNDLE');
      t.same(String(bundle?.mids).split(' ').sort(), ['0', '1'], `${name}: both mids in the answer's BUNDLE group`);
      const pts = Object.fromEntries(answer.media.map((m) => [m.type, m.rtp.map((r) => r.payload)]));
      t.same(pts, { video: [108], audio: [111] }, `${name}: H264 PT 108 and Opus PT 111`);
      t.equal((await preq(res.headers.get('location')!, { method: 'DELETE' })).status, 200, `${name}: DELETE`);
    }
    await waitUntil(() => plain.registry.total === 0, 1000, 'counter to drop');
  });
});
