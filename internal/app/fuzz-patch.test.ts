/**
 * Fuzzed trickle PATCH bodies against one connected session of a real App, and the regressions
 * of the bugs the fuzzers found. Seeded: FUZZ_SEED=<n> FUZZ_PATCH_RUNS=<frags> npx tap internal/app/fuzz-patch.test.ts
 */
import t from 'tap';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { WhepClient, releaseWebRtc, startTestApp, waitLive } from '../testkit/index.js';
import { LAST_INPUT, PATCH_RUNS, SEED, assertClassified, candidateLine, errorLog, keepOnLoopback, okStatus, seeds } from '../testkit/fuzz.js';

t.teardown(releaseWebRtc);

// ---------------------------------------------------------------------------------------------
// Trickle PATCH bodies against one connected session.
const fragLine = fc.oneof(
  { weight: 6, arbitrary: candidateLine },
  { weight: 2, arbitrary: fc.oneof(fc.constantFrom('0', '1', '2', ''), fc.string({ maxLength: 6 })).map((m) => `a=mid:${m}`) },
  { weight: 1, arbitrary: fc.constantFrom('a=end-of-candidates', 'a=ice-options:trickle', 'a=group:BUNDLE 0 1', 'm=audio 9 UDP/TLS/RTP/SAVPF 0') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map((s) => `a=ice-ufrag:${s}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map((s) => `a=ice-pwd:${s}`) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => `a=candidate:${s}`) },
);
const fragInput = fc.record({
  lines: fc.array(fragLine, { maxLength: 80 }),
  eol: fc.constantFrom('\r\n', '\n', '\r'),
  ifMatch: fc.oneof({ weight: 8, arbitrary: fc.constant('etag') }, { weight: 1, arbitrary: fc.constantFrom('*', '', '"nope"', 'W/"x"') }),
  contentType: fc.oneof({ weight: 10, arbitrary: fc.constant('application/trickle-ice-sdpfrag') }, { weight: 1, arbitrary: fc.constantFrom('application/sdp', 'text/plain', '') }),
  bytes: fc.option(fc.uint8Array({ maxLength: 200 }), { freq: 8, nil: undefined }),
});

t.test(`PATCH trickle: ${PATCH_RUNS} fuzzed sdpfrags against one session, seed ${SEED}: never a 500, the session survives`, async (t) => {
  const errors = errorLog();
  const app = await startTestApp({ rateLimit: { perSecond: 0 }, webrtc: { handshakeTimeoutMs: 5000 }, log: errors.log });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => client.close());
  t.equal(client.post?.status, 201);
  await client.waitFor(() => client.state === 'connected' && client.video.length > 5, 8000, 'media');
  const location = new URL(client.resourceUrl!).pathname;
  const etag = client.post!.headers.get('etag')!;
  const session = app.registry.list('demo')[0]!;
  const statuses = new Map<number, number>();
  const bad: string[] = [];
  const started = Date.now();
  const result = await fc.check(
    fc.asyncProperty(fragInput, async (f) => {
      const text = f.lines.join(f.eol) + f.eol;
      const body = keepOnLoopback(f.bytes ? Buffer.concat([Buffer.from(text), Buffer.from(f.bytes)]) : Buffer.from(text));
      writeFileSync(LAST_INPUT, body);
      const headers: Record<string, string> = {};
      if (f.contentType) headers['Content-Type'] = f.contentType;
      if (f.ifMatch) headers['If-Match'] = f.ifMatch === 'etag' ? etag : f.ifMatch;
      const res = await app.http.request(location, { method: 'PATCH', headers, body });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (!okStatus(res.status)) bad.push(`${res.status} (server logged: ${errors.last()}) <- ${JSON.stringify(body.toString('latin1').slice(0, 300))}`);
      return true;
    }),
    { seed: SEED, numRuns: PATCH_RUNS },
  );
  t.comment(`${PATCH_RUNS} PATCHes in ${Date.now() - started} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  t.equal(result.failed, false, 'the property ran without throwing');
  assertClassified(t, bad, 'every answer is 2xx/4xx (never 500)');
  t.ok((statuses.get(204) ?? 0) > 0, 'some fuzzed fragments were accepted (candidates reached the peer)');
  t.notOk(session.closed, `the session is still open (${session.closeReason ?? 'open'})`);
  t.equal(app.registry.total, 1);
  const before = client.video.length;
  await client.waitFor(() => client.video.length > before + 20, 5000, 'more media after the fuzzing');
  t.equal(client.state, 'connected', 'the viewer is still connected and receiving');
});

t.test('POST of an offer libdatachannel rejects (no a=fingerprint) answers 400 with nothing left unhandled', async (t) => {
  const app = await startTestApp({ rateLimit: { perSecond: 0 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => void process.off('unhandledRejection', onUnhandled));
  // Reproduce on the binary: sed '/^a=fingerprint/d' fixtures/offers/chromium-recvonly.sdp | curl -X POST
  // -H 'Content-Type: application/sdp' --data-binary @- http://127.0.0.1:8889/whep/demo  -> 400, then whepd exits 1.
  const body = seeds.find((s) => s.includes('a=fingerprint'))!.replace(/^a=fingerprint:.*\r\n/gm, '');
  const res = await app.http.request('/whep/demo', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body });
  t.equal(res.status, 400);
  t.match(await res.text(), /fingerprint/);
  await new Promise((r) => setTimeout(r, 50));
  t.same(unhandled.map(String), [], 'no unhandled rejection');
  t.equal(app.registry.total, 0);
});

t.test('POST of an offer with an all-digit encoding name (a=rtpmap:127 1/90000) answers 400 or 406, not 500', async (t) => {
  const app = await startTestApp({ rateLimit: { perSecond: 0 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  // Reproduce on the binary: sed 's/^a=rtpmap:96 VP8/a=rtpmap:96 8/' fixtures/offers/chromium-recvonly.sdp | curl ... -> 500
  const body = seeds.find((s) => s.includes('a=rtpmap:96 VP8/90000'))!.replace('a=rtpmap:96 VP8/90000', 'a=rtpmap:96 8/90000');
  const res = await app.http.request('/whep/demo', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body });
  t.ok([201, 400, 406].includes(res.status), `answered ${res.status}`);
  if (res.status === 201) await app.http.request(res.headers.get('location')!, { method: 'DELETE' });
});

t.test('PATCH with a candidate libdatachannel refuses (priority 4294967296) answers 400, not 500', async (t) => {
  const app = await startTestApp({ rateLimit: { perSecond: 0 }, webrtc: { handshakeTimeoutMs: 5000 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const offer = seeds.find((s) => s.includes('a=candidate'))!;
  const post = await app.http.request('/whep/demo', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
  t.equal(post.status, 201);
  const frag = 'a=mid:0\r\na=candidate:1 1 udp 4294967296 127.0.0.1 40000 typ host\r\n';
  const res = await app.http.request(post.headers.get('location')!, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': post.headers.get('etag')! },
    body: frag,
  });
  t.equal(res.status, 400, `answered ${res.status}: ${(await res.text()).trim()}`);
  t.notOk(app.registry.list('demo')[0]?.closed, 'the session survives the refused PATCH');
  await app.http.request(post.headers.get('location')!, { method: 'DELETE' });
});
