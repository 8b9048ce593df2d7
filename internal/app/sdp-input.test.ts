/**
 * Issue 12, defect 6: a stream whose input is an SDP file (a live RTP session) against a real RTP
 * source. A second FFmpeg sends H264 + Opus RTP from a fixture to loopback ports and writes the
 * session's SDP (-sdp_file); whepd reads that SDP. A live input must not be read with -re: with
 * it the issue measured 0 audio packets/s at the viewer, without it 50/s (20 ms Opus frames).
 */
import t from 'tap';
import type { Test } from 'tap';
import { execa } from 'execa';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WhepClient, releaseWebRtc, startTestApp, waitLive, waitUntil } from '../testkit/index.js';

t.teardown(releaseWebRtc);

/** Binds one UDP socket on 127.0.0.1; rejects if the port is taken. */
function bindUdp(port: number): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', (err) => {
      s.close();
      reject(err);
    });
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
}

/** An even port p with p..p+3 free a moment ago: RTP and RTCP (p+1) for video, then audio. */
async function freeQuad(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + 4 * Math.floor(Math.random() * 2500);
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) held.push(await bindUdp(base + i));
      return base;
    } catch {
      // taken: try another base
    } finally {
      for (const s of held) s.close();
    }
  }
  throw new Error('no four free consecutive UDP ports');
}

const dir = mkdtempSync(join(tmpdir(), 'whepd-sdp-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const sdpFile = join(dir, 'live.sdp');
const base = await freeQuad();
// The source: 51 s of constrained-baseline H264 (copied, SPS/PPS in band) and Opus, in real time.
const source = execa(
  'ffmpeg',
  [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-i', 'fixtures/media/sync.mp4',
    '-sdp_file', sdpFile,
    '-map', '0:v:0', '-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb', '-f', 'rtp', '-payload_type', '96', `rtp://127.0.0.1:${base}?pkt_size=1200`,
    '-map', '0:a:0', '-c:a', 'libopus', '-ar', '48000', '-ac', '2', '-b:a', '64k', '-f', 'rtp', '-payload_type', '97', `rtp://127.0.0.1:${base + 2}?pkt_size=1200`,
  ],
  { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', cleanup: true },
);
t.teardown(() => {
  if (source.pid !== undefined && source.exitCode === null) process.kill(source.pid, 'SIGKILL');
});
await waitUntil(() => existsSync(sdpFile) && readFileSync(sdpFile, 'utf8').includes('m=audio'), 10000, 'the source to write its SDP');

/** Audio packets per second at one real viewer of an app whose only stream reads the SDP. */
async function audioRate(t: Test, inputArgs: string[]): Promise<{ audioPerS: number; video: number }> {
  const app = await startTestApp({ streams: [{ id: 'live', input: sdpFile, inputArgs }], rateLimit: { perSecond: 0 } });
  t.teardown(() => app.close());
  await waitLive(app, 'live', 25000);
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/live` });
  t.teardown(() => client.close());
  await client.waitFor(() => client.video.length > 10, 8000, 'video at the viewer');
  // Measured after a settling second: the start can bring a catch-up burst.
  await new Promise((r) => setTimeout(r, 1000));
  const from = client.audio.length;
  await new Promise((r) => setTimeout(r, 4000));
  const audioPerS = (client.audio.length - from) / 4;
  const video = client.video.length;
  client.close();
  await app.close();
  return { audioPerS, video };
}

t.test('an SDP input given its protocol whitelist by the operator: live, no -re, audio at 50 packets/s', async (t) => {
  const { audioPerS, video } = await audioRate(t, ['-protocol_whitelist', 'file,udp,rtp']);
  t.comment(`audio ${audioPerS.toFixed(1)} packets/s, ${video} video packets`);
  t.ok(audioPerS >= 40 && audioPerS <= 60, `audio at the Opus frame rate (${audioPerS.toFixed(1)}/s, 50 expected)`);
});

t.test('an SDP input with no inputArgs: whepd adds the protocol whitelist FFmpeg needs for RTP', async (t) => {
  const { audioPerS, video } = await audioRate(t, []);
  t.comment(`audio ${audioPerS.toFixed(1)} packets/s, ${video} video packets`);
  t.ok(audioPerS >= 40 && audioPerS <= 60, `audio at the Opus frame rate (${audioPerS.toFixed(1)}/s, 50 expected)`);
});
