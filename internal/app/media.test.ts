/**
 * Integration: real FFmpeg plays a fixture, whepd forwards, and node-datachannel clients that
 * POST their offers over HTTP receive both tracks.
 */
import t from 'tap';
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WhepClient, answerTrack, releaseWebRtc, spsSizeFromPayload, startTestApp, waitLive } from '../testkit/index.js';


function seqGaps(seqs: number[]): number {
  let gaps = 0;
  for (let i = 1; i < seqs.length; i++) {
    if (((seqs[i] as number) - (seqs[i - 1] as number) + 65536) % 65536 !== 1) gaps++;
  }
  return gaps;
}

t.teardown(releaseWebRtc);

t.test('copied H264 fixture: a viewer receives both tracks from a keyframe, with its own PT and SSRC', async (t) => {
  const app = await startTestApp();
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  t.equal(app.streams.get('demo')?.status().transcoding, false, 'constrained baseline input is copied');

  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/demo`, videoPayloadType: 108, audioPayloadType: 111 });
  t.teardown(() => client.close());
  t.equal(client.post?.status, 201);
  t.match(client.post?.headers.get('location'), /^\/whep\/demo\/[A-Za-z0-9_-]{22}$/);
  t.equal(client.post?.headers.get('content-type'), 'application/sdp');

  await client.waitFor(() => client.video.length >= 60 && client.audio.length >= 50, 8000, 'media on both tracks');
  const video = answerTrack(client.post?.body ?? '', 'video');
  const audio = answerTrack(client.post?.body ?? '', 'audio');
  t.ok(video && audio, 'answer has both m-lines');

  const first = client.video[0]!;
  t.same(spsSizeFromPayload(first.payload), { width: 640, height: 360 }, 'SPS says 640x360');
  // The SPS may follow an SEI inside the STAP-A (x264 writes one into a file's first keyframe).
  t.ok(spsSizeFromPayload(first.payload), `first video packet carries SPS (NAL type ${(first.payload[0] as number) & 0x1f})`);

  t.ok(client.video.every((p) => p.pt === 108 && p.ssrc === video?.ssrc), 'every video packet has PT 108 and the answered SSRC');
  t.ok(client.audio.every((p) => p.pt === 111 && p.ssrc === audio?.ssrc), 'every audio packet has PT 111 and the answered SSRC');
  t.equal(seqGaps(client.video.map((p) => p.seq)), 0, 'no video sequence gaps');
  t.equal(seqGaps(client.audio.map((p) => p.seq)), 0, 'no audio sequence gaps');
});

t.test('High profile with B-frames is re-encoded and still reaches the viewer from a keyframe', async (t) => {
  const app = await startTestApp({ streams: [{ id: 'hi', input: 'fixtures/media/high-bframes.mp4', loop: true }] });
  t.teardown(() => app.close());
  await waitLive(app, 'hi', 20000);
  t.equal(app.streams.get('hi')?.status().transcoding, true, 'High/B-frames input is re-encoded');
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/hi`, videoPayloadType: 102 });
  t.teardown(() => client.close());
  t.equal(client.post?.status, 201);
  await client.waitFor(() => client.video.length >= 30 && client.audio.length >= 25, 10000, 'media on both tracks');
  const first = client.video[0]!;
  t.ok(spsSizeFromPayload(first.payload), `first video packet carries SPS (NAL ${(first.payload[0] as number) & 0x1f})`);
  t.ok(client.video.every((p) => p.pt === 102), 'video rewritten to the client PT 102');
});

t.test('audio-first file with extra streams: the first video and first audio are mapped', async (t) => {
  const app = await startTestApp({ streams: [{ id: 'multi', input: 'fixtures/media/audio-first-multi.mkv', loop: true }] });
  t.teardown(() => app.close());
  await waitLive(app, 'multi');
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/multi` });
  t.teardown(() => client.close());
  t.equal(client.post?.status, 201);
  await client.waitFor(() => client.video.length >= 20 && client.audio.length >= 20, 8000, 'media on both tracks');
  // The fixture's second video stream is 320x180; only the first is 640x360.
  t.same(spsSizeFromPayload(client.video[0]!.payload), { width: 640, height: 360 }, 'SPS of the first video stream');
});

t.test('an input without audio never goes live and says why in one sentence', async (t) => {
  const app = await startTestApp({ streams: [{ id: 'silent', input: 'fixtures/media/video-only.mp4', loop: true }] });
  t.teardown(() => app.close());
  const s = app.streams.get('silent')!;
  const deadline = Date.now() + 5000;
  while (!s.lastError && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.match(s.lastError, /has no audio stream/);
  t.not(s.state, 'live');
  const res = await app.http.request('/whep/silent', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42e01f\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=rtpmap:111 opus/48000/2\r\n' });
  t.equal(res.status, 409);
  t.ok(res.headers.get('retry-after'), 'Retry-After set');
  t.match(await res.text(), /no audio stream/);
});

t.test('trickle ICE: an offer without candidates connects once its candidates are PATCHed', async (t) => {
  const app = await startTestApp();
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/demo`, trickle: true });
  t.teardown(() => client.close());
  t.equal(client.post?.status, 201);
  t.notMatch(client.offer, /a=candidate/, 'the offer carried no candidates');
  t.ok(client.trickledCandidates > 0, 'candidates were trickled');
  t.same(client.patchStatuses, [204], 'PATCH accepted');
  const session = app.registry.list('demo')[0]!;
  t.equal(session.remoteCandidateCount, client.trickledCandidates, 'whepd added every trickled candidate');
  await client.waitFor(() => client.video.length > 10 && client.audio.length > 10, 8000, 'media after trickle');
  t.equal(client.state, 'connected');
});

t.test('a looping copied file keeps sending video after the loop point', async (t) => {
  // audio-first-multi.mkv lasts 5 s and is copied; FFmpeg 5.1 used to drop all video after the
  // first loop when a bitstream filter was in the chain.
  const app = await startTestApp({ streams: [{ id: 'multi', input: 'fixtures/media/audio-first-multi.mkv', loop: true }] });
  t.teardown(() => app.close());
  await waitLive(app, 'multi');
  t.equal(app.streams.get('multi')?.status().transcoding, false, 'copied');
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/multi` });
  t.teardown(() => client.close());
  const started = Date.now();
  await client.waitFor(() => client.video.length > 0, 5000, 'first video');
  await client.waitFor(() => Date.now() - started > 7000, 8000, '7 s of playback');
  const recent = client.video.filter((p) => p.at > performance.timeOrigin + performance.now() - 1000).length;
  t.ok(recent > 20, `video still flowing 7 s in, past the 5 s loop point (${recent} packets in the last second)`);
});

t.test('a looping file with SPS/PPS only out of band is re-encoded rather than copied', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whepd-oob-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'oob.mp4');
  // x264 into mp4 with a global header: parameter sets live only in the avcC box.
  await execa('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-f', 'lavfi', '-i', 'sine', '-t', '2', '-c:v', 'libx264', '-profile:v', 'baseline', '-bf', '0', '-c:a', 'aac', file]);
  const app = await startTestApp({ streams: [{ id: 'oob', input: file, loop: true }] });
  t.teardown(() => app.close());
  await waitLive(app, 'oob', 20000);
  t.equal(app.streams.get('oob')?.status().transcoding, true, 're-encoded');
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/oob` });
  t.teardown(() => client.close());
  await client.waitFor(() => client.video.length > 10, 8000, 'video');
  t.same(spsSizeFromPayload(client.video[0]!.payload), { width: 320, height: 180 });
});
