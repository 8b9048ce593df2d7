/**
 * Sender reports put audio and video on one clock: real FFmpeg plays a fixture whose audio and
 * video are in sync (fixtures/README.md), whepd forwards, and a node-datachannel viewer records
 * the SRs it gets. The NTP times those SRs give to a video sample and an audio sample that are
 * simultaneous in the source must agree within 10 ms, whatever the two tracks' paths through
 * FFmpeg (a copy, an x264 re-encode, the Opus encoder), in process and through shard processes.
 */
import t from 'tap';
import type { Test } from 'tap';
import type { App } from './index.js';
import { WhepClient, answerTrack, processRunning, releaseWebRtc, startTestApp, waitLive, waitUntil } from '../testkit/index.js';
import type { ReceivedSenderReport } from '../testkit/index.js';

t.teardown(releaseWebRtc);

// libopus's encoder delay: FFmpeg stamps the first Opus packet at minus the encoder's lookahead,
// 2.5 ms (120 ticks at 48 kHz) in the restricted low-delay mode whepd uses (`-application
// lowdelay`), so source sample 0 is 120 ticks after the first audio RTP timestamp of a run.
const OPUS_PRE_SKIP = 120;

/** The wallclock an SR's line gives to RTP timestamp `ts` (signed 32-bit distance). */
function ntpOf(sr: ReceivedSenderReport, ts: number, rate: number): number {
  return sr.ntpMs + (((ts - sr.rtp) | 0) / rate) * 1000;
}

/**
 * Restarts the stream with a tap on its first packets (media time 0 of each output: both
 * fixtures start at pts 0 in both streams), then joins a viewer and returns the SR skew in ms.
 */
async function srSkew(t: Test, app: App, id: string): Promise<number> {
  const stream = app.streams.get(id)!;
  await waitLive(app, id, 20000);
  let firstVideo: number | undefined;
  let firstAudio: number | undefined;
  const removeTap = stream.addTap({
    video: (p) => void (firstVideo ??= p.readUInt32BE(4)),
    audio: (p) => void (firstAudio ??= p.readUInt32BE(4)),
    // The run ended: what it sent is not the next run's origin.
    reset: () => {
      firstVideo = undefined;
      firstAudio = undefined;
    },
  });
  t.teardown(removeTap);
  const restarts = stream.status().restarts;
  stream.restart();
  await waitUntil(() => stream.status().restarts > restarts && stream.live, 20000, `${id} live again after the restart`);
  await waitUntil(() => firstVideo !== undefined && firstAudio !== undefined, 5000, 'first packets of the new run');

  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/${id}`, recordSenderReports: true });
  t.teardown(() => client.close());
  t.equal(client.post?.status, 201);
  const srs = client.senderReports;
  await client.waitFor(() => srs.filter((s) => s.kind === 'video').length >= 2 && srs.filter((s) => s.kind === 'audio').length >= 2, 8000, 'two SRs per track');
  const video = srs.filter((s) => s.kind === 'video');
  const audio = srs.filter((s) => s.kind === 'audio');
  const answer = client.post?.body ?? '';
  t.ok(video.every((s) => s.ssrc === answerTrack(answer, 'video')?.ssrc), 'video SRs carry the answered video SSRC');
  t.ok(audio.every((s) => s.ssrc === answerTrack(answer, 'audio')?.ssrc), 'audio SRs carry the answered audio SSRC');
  t.ok(srs.every((s) => s.cname === `whepd-${id}`), 'every SR comes with the stream CNAME');
  // Consecutive SRs of a track lie on one line (the media clock), about a second apart.
  for (const [list, rate] of [[video, 90000], [audio, 48000]] as const) {
    const [a, b] = [list[0]!, list[1]!];
    t.ok(b.ntpMs - a.ntpMs > 500 && b.ntpMs - a.ntpMs < 2500, `SRs ${(b.ntpMs - a.ntpMs).toFixed(0)} ms apart`);
    t.ok(Math.abs(ntpOf(a, b.rtp, rate) - b.ntpMs) < 1, `second ${rate} Hz SR on the first one's line`);
    t.ok(b.packets > a.packets && b.octets > a.octets, 'packet and octet counts grow');
  }
  const v = video[video.length - 1]!;
  const a = audio[audio.length - 1]!;
  return ntpOf(v, firstVideo!, 90000) - ntpOf(a, (firstAudio! + OPUS_PRE_SKIP) >>> 0, 48000);
}

for (const shards of [0, 2]) {
  t.test(`simultaneous audio and video samples get NTP times within 10 ms (shards ${shards})`, async (t) => {
    const app = await startTestApp({
      webrtc: { shards },
      streams: [
        { id: 'copy', input: 'fixtures/media/demo.mp4', loop: true },
        { id: 'reenc', input: 'fixtures/media/high-bframes.mp4', loop: true },
      ],
    });
    const pids = app.shards?.pids ?? [];
    t.teardown(async () => {
      await app.close();
      for (const pid of pids) if (processRunning(pid)) process.kill(pid, 'SIGKILL');
    });
    t.equal(app.shards?.pids.length ?? 0, shards, `${shards} shard processes`);
    for (const id of ['copy', 'reenc']) {
      const skew = await srSkew(t, app, id);
      t.ok(Math.abs(skew) <= 10, `${id}: video minus audio NTP of the same source instant ${skew.toFixed(1)} ms (<= 10)`);
    }
  });
}
