/**
 * Integration: per-viewer reception from RTCP with real peers. libdatachannel's receiving
 * session reports RTT (LSR/DLSR) and no real loss on loopback, so the loss case is a viewer that writes
 * its own receiver reports, counting every 20th video packet as lost (5%): what whepd shows must
 * be what the viewer reported. A link with real loss is lossy-link.test.ts.
 */
import t from 'tap';
import { buildReceiverReport } from '../rtp/index.js';
import { WhepClient, releaseWebRtc, startTestApp, waitLive } from '../testkit/index.js';
import type { App } from './app.js';

t.teardown(releaseWebRtc);

const TOKEN = 'quality-test-token-0123456789';

interface ApiSession {
  id: string;
  rttMs: number | null;
  quality: { video?: { fractionLost: number; packetsLost: number; jitterMs: number }; rttMs?: number; nacks: number; plis: number; receiverReports: number } | null;
}

async function sessions(app: App): Promise<ApiSession[]> {
  const res = await fetch(`${app.url}/api/sessions`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  return (await res.json()) as ApiSession[];
}

for (const shards of [0, 1]) t.test(`GET /api/sessions shows a real viewer's RTT from its receiver reports (webrtc.shards ${shards})`, async (t) => {
  const app = await startTestApp({ admin: { token: TOKEN }, webrtc: { shards } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const v = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => v.close());
  let list: ApiSession[] = [];
  // The viewer's RTCP sends audio and video receiver reports separately, so the first one may
  // carry only audio: wait for the RTT and a video report block both (bounded, generous).
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    list = await sessions(app);
    if (list[0]?.quality?.rttMs !== undefined && list[0].quality.video !== undefined) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const q = list[0]?.quality;
  t.ok(q && q.receiverReports > 0, `receiver reports counted: ${JSON.stringify(q)}`);
  t.ok(q?.rttMs !== undefined && q.rttMs >= 0 && q.rttMs < 1000, `RTT on loopback ${q?.rttMs} ms`);
  t.equal(list[0]?.rttMs, q?.rttMs, 'the session\'s rttMs is the RTCP one');
  // libdatachannel 0.24.5's receiving session counts loss by RFC 3550 appendix A.1 but starts
  // without the probation (base 0): when the first sequence number it sees is below 3000
  // (MAX_DROPOUT), its reports count that many lost, one join in 22. Nothing is lost on loopback,
  // so whepd must show 0, or (reports made after the first video packet) that first number.
  const first = v.video[0]?.seq;
  const lost = q?.video?.packetsLost;
  t.ok(lost === 0 || (first !== undefined && first < 3000 && lost === first), `whepd shows what libdatachannel reported: ${JSON.stringify(q?.video)}, first video sequence number ${first}`);
});

t.test('a viewer that reports 5% video loss shows about 5% in /api/sessions and the metrics, with RTT', async (t) => {
  const app = await startTestApp({ admin: { token: TOKEN } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const v = await WhepClient.connect({ endpoint: `${app.url}/whep/demo`, videoSendRecv: true, recordSenderReports: true });
  t.teardown(() => v.close());
  await v.waitFor(() => v.video.length > 50 && v.senderReports.some((s) => s.kind === 'video'), 8000, 'media and a video SR');
  const videoSsrc = v.video[0]!.ssrc;
  // RFC 3550 appendix A.3, every 20th packet counted lost; the fraction over the whole reception
  // rather than since the previous report, so short intervals cannot round it far from 5%.
  const report = () => {
    const first = v.video[0]!.seq;
    let max = 0;
    let received = 0;
    for (const p of v.video) {
      const ext = (p.seq - first) & 0xffff;
      if (ext > max) max = ext;
      if (p.seq % 20 !== 0) received++;
    }
    const expected = max + 1;
    const fraction = (expected - received) / expected;
    const sr = v.senderReports.filter((s) => s.kind === 'video').at(-1)!;
    const dlsr = Math.round(((performance.now() - sr.receivedAt) / 1000) * 65536);
    v.sendVideoRtcp(buildReceiverReport(0x5eed, { ssrc: videoSsrc, fractionLost: fraction, packetsLost: expected - received, highestSeq: first + max, jitter: 90, lsr: sr.lsr, dlsr }));
  };
  report();
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 700));
    report();
  }
  const [s] = await sessions(app);
  const video = s?.quality?.video;
  t.ok(video && Math.abs(video.fractionLost - 0.05) < 0.01, `fraction lost ${video?.fractionLost} near 0.05`);
  t.ok(video && video.packetsLost > 0, `cumulative lost ${video?.packetsLost}`);
  t.ok(video && Math.abs(video.jitterMs - 1) < 0.01, '90 at 90 kHz is 1 ms');
  // Loopback, but both ends' JavaScript sits in the path (seen: 1 ms idle, 230 ms on a loaded 2-core box).
  t.ok(s?.rttMs !== null && s!.rttMs! >= 0 && s!.rttMs! < 1000, `RTT ${s?.rttMs} ms from our LSR and the viewer's DLSR`);
  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  // 13/256 = 0.0508 (the 8-bit field): above the 0.05 bucket, inside 0.1.
  t.match(metrics, /whepd_viewer_video_fraction_lost_bucket\{le="0.1",stream="demo"\} 1/);
  t.match(metrics, /whepd_viewer_video_fraction_lost_bucket\{le="0.02",stream="demo"\} 0/);
  t.match(metrics, /whepd_viewer_rtt_seconds_count\{stream="demo"\} 1/);
});
