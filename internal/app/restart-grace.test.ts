/**
 * streams[].restartGraceS: a viewer keeps its session and PeerConnection through an FFmpeg
 * SIGKILL; the next run continues its RTP numbering on the same SSRCs, video resumes at a
 * keyframe, audio at once, and the sender reports of both tracks stay on one clock. In process
 * and with shards.
 */
import t from 'tap';
import type { Test } from 'tap';
import { EventClient, WhepClient, releaseWebRtc, spsSizeFromPayload, startTestApp, waitLive, waitUntil } from '../testkit/index.js';
import type { ReceivedPacket, ReceivedSenderReport } from '../testkit/index.js';

t.teardown(releaseWebRtc);

const startsWithSps = (payload: Buffer) => spsSizeFromPayload(payload) !== undefined;

/** Wallclock minus the NTP time its track's latest SR gives the packet: the same for both tracks when they share one clock. */
function lead(p: ReceivedPacket, srs: readonly ReceivedSenderReport[], kind: 'video' | 'audio', rate: number): number | undefined {
  const sr = srs.filter((s) => s.kind === kind).at(-1);
  if (!sr) return undefined;
  const delta = ((p.ts - sr.rtp) | 0) / rate;
  return p.at - (sr.ntpMs + delta * 1000);
}

/** The packets on both sides of the longest arrival gap from index `from` on. */
function acrossOutage(packets: readonly ReceivedPacket[], from: number): [ReceivedPacket, ReceivedPacket] {
  let at = from + 1;
  for (let i = from + 1; i < packets.length; i++) if (packets[i]!.at - packets[i - 1]!.at > packets[at]!.at - packets[at - 1]!.at) at = i;
  return [packets[at - 1]!, packets[at]!];
}

async function restartThrough(t: Test, shards: number): Promise<void> {
  const app = await startTestApp({ ffmpeg: { restartMinMs: 300 }, webrtc: { shards, rtcpTimeoutMs: 0 }, streams: [{ id: 'demo', input: 'fixtures/media/demo.mp4', loop: true, restartGraceS: 10 }] });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const stream = app.streams.get('demo')!;
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/demo`, recordSenderReports: true, keepPayloads: 100000 });
  t.teardown(() => client.close());
  t.equal(client.post?.status, 201);
  await client.waitFor(() => client.video.length > 30 && client.audio.length > 30, 8000, 'media before the kill');
  const session = app.registry.list('demo')[0]!;
  const events = await EventClient.open(app.url, client.post!.headers, ['active', 'inactive']);
  t.teardown(() => events.close());
  await events.waitFor(() => events.names().includes('active'), 3000, 'the greeting');
  const [videoBefore, audioBefore] = [client.video.length, client.audio.length];
  const pid = stream.pid!;
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  await waitUntil(() => stream.pid !== undefined && stream.pid !== pid, 10000, 'a new FFmpeg');
  await client.waitFor(() => client.video.length > videoBefore + 30 && client.audio.length > audioBefore + 30, 15000, 'media after the restart');
  // Packets the aligner still held when FFmpeg died arrive after the kill: the outage is the
  // longest silence, and the runs meet across it.
  const [lastVideo, firstVideo] = acrossOutage(client.video, videoBefore - 1);
  const [lastAudio, firstAudio] = acrossOutage(client.audio, audioBefore - 1);
  t.comment(`${shards} shards: video again ${Math.round(firstVideo.at - killedAt)} ms after the kill, audio ${Math.round(firstAudio.at - killedAt)} ms`);

  await events.waitFor(() => events.names().slice(1).join() === 'inactive,active', 5000, 'inactive, then active again');
  t.same(events.names(), ['active', 'inactive', 'active'], 'the same event stream saw the outage and the return');
  t.equal(app.registry.total, 1, 'still one session');
  t.equal(app.registry.list('demo')[0], session, 'the same session, no new POST');
  t.notOk(session.closed);
  t.equal(client.state, 'connected', 'the same PeerConnection, still connected');
  t.equal(firstVideo.ssrc, lastVideo.ssrc, 'video keeps its SSRC');
  t.equal(firstAudio.ssrc, lastAudio.ssrc, 'audio keeps its SSRC');
  t.equal((firstAudio.seq - lastAudio.seq) & 0xffff, 1, 'audio sequence numbers continue at last + 1');
  const videoSeqGap = (firstVideo.seq - lastVideo.seq) & 0xffff;
  t.ok(videoSeqGap >= 1 && videoSeqGap < 200, `video sequence numbers continue (next seen +${videoSeqGap}: packets before the keyframe are not sent)`);
  const gapMs = firstAudio.at - lastAudio.at;
  const tsGapMs = (((firstAudio.ts - lastAudio.ts) | 0) / 48000) * 1000;
  t.ok(tsGapMs > 0 && Math.abs(tsGapMs - gapMs) < 1000, `audio timestamps advance with real time (${Math.round(tsGapMs)} ms of media for ${Math.round(gapMs)} ms of wallclock)`);
  t.ok(startsWithSps(firstVideo.payload), 'video resumes at a keyframe (SPS first)');

  // Both tracks' reports after the restart put their packets on one timeline.
  const srsAfter = () => client.senderReports.filter((s) => s.ntpMs > killedAt);
  await client.waitFor(() => srsAfter().filter((s) => s.kind === 'video').length >= 2 && srsAfter().filter((s) => s.kind === 'audio').length >= 2, 8000, 'sender reports of the new run');
  await new Promise((r) => setTimeout(r, 300));
  const v = lead(client.video.at(-1)!, srsAfter(), 'video', 90000);
  const a = lead(client.audio.at(-1)!, srsAfter(), 'audio', 48000);
  t.ok(v !== undefined && a !== undefined && Math.abs(v - a) < 150, `the new run's SRs map both tracks to one clock (video ${v?.toFixed(0)} ms, audio ${a?.toFixed(0)} ms behind wallclock)`);
}

t.test('restartGraceS keeps an in-process viewer through an FFmpeg kill', (t) => restartThrough(t, 0));
t.test('restartGraceS keeps a viewer in a shard process through an FFmpeg kill', (t) => restartThrough(t, 2));

t.test('restartGraceS: a stream not live again within the grace ends its viewers, saying so', async (t) => {
  const app = await startTestApp({ ffmpeg: { restartMinMs: 5000, restartMaxMs: 5000 }, streams: [{ id: 'demo', input: 'fixtures/media/demo.mp4', loop: true, restartGraceS: 1 }] });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => client.close());
  await client.waitFor(() => client.video.length > 10, 8000, 'media');
  const session = app.registry.list('demo')[0]!;
  process.kill(app.streams.get('demo')!.pid!, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 500));
  t.notOk(session.closed, 'held during the grace');
  await waitUntil(() => session.closed, 3000, 'the session to end after the grace');
  t.match(session.closeReason, /SIGKILL.*not live again within 1 s/);
  t.equal(app.registry.total, 0);
});
