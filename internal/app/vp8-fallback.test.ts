/**
 * The VP8 fallback (streams[].fallbackVideo): a player whose offer has no H264 gets the stream
 * encoded to VP8 by a second, on-demand FFmpeg, with the same audio, under the stream's own URL
 * and caps; H264 viewers never notice it come or go.
 */
import t from 'tap';
import { WhepClient, processRunning, releaseWebRtc, startTestApp, waitLive, waitUntil } from '../testkit/index.js';
import { vp8KeyframeStart } from '../rtp/index.js';

t.teardown(releaseWebRtc);

/** Whether a received VP8 packet (payload kept) starts a key frame. */
function startsKeyframe(payload: Buffer): boolean {
  return vp8KeyframeStart(Buffer.concat([Buffer.from([0x80, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), payload]));
}

t.test('a VP8-only offer plays the VP8 encoding; H264 viewers keep their FFmpeg', async (t) => {
  const app = await startTestApp({ limits: { viewersPerStream: 2 }, streams: [{ id: 'demo', input: 'fixtures/media/demo.mp4', loop: true, idleTimeoutS: 0.5 }] });
  t.teardown(() => app.close());
  const stream = app.streams.get('demo')!;
  await waitLive(app, 'demo');
  const h264 = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => h264.close());
  t.equal(h264.post?.status, 201, 'H264 viewer');
  await h264.waitFor(() => h264.video.length > 20, 10000, 'H264 media');
  const h264Pid = stream.pid!;
  t.equal(stream.fallback?.state, 'idle', 'no VP8 encode before a VP8 viewer asks');

  const started = Date.now();
  const vp8 = await WhepClient.connect({ endpoint: `${app.url}/whep/demo`, videoCodec: 'vp8', keepPayloads: 400 });
  t.teardown(() => vp8.close());
  t.equal(vp8.post?.status, 201, `VP8 viewer answered 201 (${Date.now() - started} ms, FFmpeg started on demand)`);
  t.match(vp8.post?.body ?? '', /a=rtpmap:120 VP8\/90000/, 'the answer carries VP8 on the offered payload type');
  t.notMatch(vp8.post?.body ?? '', /H264/, 'and no H264');
  t.match(vp8.resourceUrl ?? '', /\/whep\/demo\/[^/~]+$/, `the session lives under the stream URL (${vp8.resourceUrl})`);
  await vp8.waitFor(() => vp8.video.length > 60 && vp8.audio.length > 50, 15000, 'VP8 video and audio');
  t.ok(vp8.video.every((p) => p.pt === 120), 'every video packet on the VP8 payload type');
  t.ok(startsKeyframe(vp8.video[0]!.payload), 'the VP8 viewer starts at a key frame');
  const keyframes = vp8.video.filter((p) => p.payload.length > 0 && startsKeyframe(p.payload)).length;
  t.ok(keyframes >= 1, `key frames seen: ${keyframes}`);
  t.ok(vp8.audio.every((p) => p.pt === 111), 'Opus audio on the offered payload type');
  t.equal(stream.pid, h264Pid, 'the H264 FFmpeg was not restarted');
  const fallbackPid = stream.fallback!.pid!;
  t.ok(processRunning(fallbackPid), 'the VP8 FFmpeg runs');
  t.not(fallbackPid, h264Pid);
  t.equal(app.registry.total, 2, 'both viewers count against the caps');
  t.equal(stream.viewerCount, 2, 'and in the stream\'s viewer count (stream list, viewercount events)');

  // viewersPerStream 2: the third viewer, of either codec, is refused.
  const third = await WhepClient.connect({ endpoint: `${app.url}/whep/demo`, videoCodec: 'vp8' });
  t.teardown(() => third.close());
  t.equal(third.post?.status, 503, `a third viewer is over the per-stream cap: ${third.post?.body.trim()}`);

  const before = h264.video.length;
  await vp8.close();
  await waitUntil(() => stream.fallback!.state === 'idle', 8000, 'the VP8 encode to stop idleTimeoutS after its last viewer');
  await waitUntil(() => !processRunning(fallbackPid), 3000, 'the VP8 FFmpeg to exit');
  await h264.waitFor(() => h264.video.length > before + 60, 5000, 'H264 media after the VP8 viewer left');
  t.equal(stream.pid, h264Pid, 'the H264 FFmpeg is still the same one');
  t.equal(h264.state, 'connected', 'and its viewer is still connected');
});

t.test('fallbackVideo "none" keeps the 406 for an offer without H264', async (t) => {
  const app = await startTestApp({ streams: [{ id: 'demo', input: 'fixtures/media/demo.mp4', loop: true, fallbackVideo: 'none' }] });
  t.teardown(() => app.close());
  t.equal(app.streams.get('demo')!.fallback, undefined, 'no VP8 encoding built');
  const vp8 = await WhepClient.connect({ endpoint: `${app.url}/whep/demo`, videoCodec: 'vp8' });
  t.teardown(() => vp8.close());
  t.equal(vp8.post?.status, 406);
  t.match(vp8.post?.body ?? '', /has no H264.*whepd sends H264 \(packetization-mode=1\) and Opus/);
});

t.test('with shards the VP8 encoding is relayed to the shard that holds its viewer', async (t) => {
  const app = await startTestApp({ webrtc: { shards: 1 }, streams: [{ id: 'demo', input: 'fixtures/media/demo.mp4', loop: true, idleTimeoutS: 0.5 }] });
  t.teardown(() => app.close());
  const vp8 = await WhepClient.connect({ endpoint: `${app.url}/whep/demo`, videoCodec: 'vp8', keepPayloads: 400 });
  t.teardown(() => vp8.close());
  t.equal(vp8.post?.status, 201);
  await vp8.waitFor(() => vp8.video.length > 60 && vp8.audio.length > 50, 15000, 'VP8 video and audio through the shard');
  t.ok(startsKeyframe(vp8.video[0]!.payload), 'it starts at a key frame');
  t.equal(app.shards?.load.reduce((a, b) => a + b, 0), 1, 'the shard holds the viewer');
});
