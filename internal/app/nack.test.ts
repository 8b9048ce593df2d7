/**
 * NACK retransmission against the real stack: FFmpeg plays a fixture, two node-datachannel viewers
 * with different payload types watch, one of them sends generic NACKs (RFC 4585) on its video
 * track, and must get exactly the NACKed packets again, with its own payload type and the
 * original bytes, from the stream's shared history. The other viewer must see no duplicates.
 */
import t from 'tap';
import { buildNack } from '../rtp/index.js';
import type { ReceivedPacket } from '../testkit/index.js';
import { WhepClient, answerTrack, releaseWebRtc, spsSizeFromPayload, startTestApp, waitLive, waitUntil } from '../testkit/index.js';

t.teardown(releaseWebRtc);

const countSeq = (packets: readonly ReceivedPacket[], seq: number) => packets.filter((p) => p.seq === seq).length;

t.test('NACKed video packets are resent to the asking viewer only, from the stream history', async (t) => {
  const app = await startTestApp();
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  // The first viewer watches from an earlier keyframe, so it holds the packets the second one
  // never got: those are the ones the second NACKs. (A packet a viewer already received cannot
  // be shown again: SRTP replay protection drops it, as it should.)
  const other = await WhepClient.connect({ endpoint: `${app.url}/whep/demo`, videoPayloadType: 102, keepPayloads: 100000 });
  t.teardown(() => other.close());
  // Two keyframes seen: the second viewer then starts at a later GOP than the first (a join
  // within the first viewer's GOP could get that same keyframe replayed).
  await other.waitFor(() => other.video.filter((p) => spsSizeFromPayload(p.payload)).length >= 2, 8000, 'the first viewer saw two keyframes');
  const asking = await WhepClient.connect({ endpoint: `${app.url}/whep/demo`, videoPayloadType: 108, videoSendRecv: true, keepPayloads: 100000 });
  t.teardown(() => asking.close());
  t.equal(other.post?.status, 201);
  t.equal(asking.post?.status, 201);
  await asking.waitFor(() => asking.video.length >= 5, 8000, 'video before the NACK');
  const ssrc = answerTrack(asking.post?.body ?? '', 'video')?.ssrc;
  t.ok(ssrc, 'answer announces the video SSRC');
  const first = asking.video[0]!.seq;
  const seqs = [1, 2, 4].map((back) => (first - back + 65536) % 65536);
  const originals = seqs.map((s) => other.video.find((p) => p.seq === s));
  t.ok(originals.every(Boolean), 'the first viewer received the packets before the second one joined');

  const before = app.streams.get('demo')!.status().retransmits;
  asking.sendVideoRtcp(buildNack(0x1234, ssrc!, seqs));
  await asking.waitFor(() => seqs.every((s) => countSeq(asking.video, s) === 1), 3000, 'the three NACKed packets');
  for (const orig of originals) {
    const again = asking.video.find((p) => p.seq === orig!.seq)!;
    t.equal(again.pt, 108, `seq ${orig!.seq} sent with the asking viewer's payload type`);
    t.equal(again.ssrc, orig!.ssrc, `seq ${orig!.seq} sent with the stream SSRC`);
    t.equal(again.ts, orig!.ts, `seq ${orig!.seq} keeps its timestamp`);
    t.same(again.payload, orig!.payload, `seq ${orig!.seq} byte for byte what the first viewer got`);
  }
  t.equal(countSeq(asking.video, (first - 3 + 65536) % 65536), 0, 'a packet that was not NACKed is not sent');
  const after = app.streams.get('demo')!.status().retransmits;
  t.equal(after.sent - before.sent, 3, 'three packets resent');

  // A NACK for packets long gone (outside the 512-packet history) resends nothing and is counted.
  const stale = (first - 4000 + 65536) % 65536;
  asking.sendVideoRtcp(buildNack(0x1234, ssrc!, [stale]));
  await waitUntil(() => app.streams.get('demo')!.status().retransmits.missing > after.missing, 3000, 'the stale NACK counted');
  t.equal(countSeq(asking.video, stale), 0, 'nothing resent for a packet the history no longer holds');

  // A NACK for another SSRC and a malformed RTCP packet change nothing and break nothing.
  const other5 = (first - 5 + 65536) % 65536;
  asking.sendVideoRtcp(buildNack(0x1234, (ssrc! ^ 1) >>> 0, [other5]));
  asking.sendVideoRtcp(Buffer.from([0x81, 205, 0xff, 0xff, 0, 0, 0, 1]));
  const n = asking.video.length;
  await asking.waitFor(() => asking.video.length >= n + 30, 5000, 'video still flowing after odd RTCP');
  t.equal(countSeq(asking.video, other5), 0, 'a NACK for another SSRC resends nothing');
  t.equal(app.streams.get('demo')!.status().retransmits.sent, after.sent, 'no other packet was resent');

  const seen = new Set<number>();
  t.notOk(other.video.some((p) => (seen.has(p.seq) ? true : (seen.add(p.seq), false))), 'the first viewer got no duplicates');
  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  t.match(metrics, /whepd_rtp_retransmissions_total\{stream="demo",result="sent"\} 3\b/);
});
