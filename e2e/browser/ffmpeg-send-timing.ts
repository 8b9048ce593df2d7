/**
 * How late each RTP packet leaves whepd's FFmpeg against FFmpeg's own sender reports (the media
 * clock whepd's SRs carry), per track: the skew a send-time SR (Janus's, libdatachannel's) builds
 * into its A/V mapping. Runs FFmpeg with whepd's argv (buildFfmpegArgs, planVideo) into four
 * loopback UDP sockets for REF_TAP_S seconds (default 15).
 * Usage: node --import tsx e2e/browser/ffmpeg-send-timing.ts fixtures/media/sync.mp4
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { buildFfmpegArgs } from '../../internal/ffmpeg/index.js';
import { planVideo } from '../../internal/supervisor/index.js';

const input = process.argv[2] ?? 'fixtures/media/sync.mp4';
const seconds = Math.min(60, Number(process.env.REF_TAP_S ?? 15));
const now = () => performance.timeOrigin + performance.now();
const NTP_UNIX_S = 2208988800;

interface Track {
  clock: number;
  /** [arrival ms, rtp ts, first packet of its timestamp] */
  packets: [number, number, boolean][];
  sr?: { unixMs: number; ts: number };
  lastTs?: number;
}

async function bind(port: number, on: (b: Buffer) => void): Promise<Socket> {
  const s = createSocket('udp4');
  s.on('message', on);
  await new Promise<void>((ok) => s.bind(port, '127.0.0.1', ok));
  return s;
}

const tracks = { video: { clock: 90000, packets: [] } as Track, audio: { clock: 48000, packets: [] } as Track };
const rtp = (t: Track) => (b: Buffer) => {
  const at = now();
  const ts = b.readUInt32BE(4);
  t.packets.push([at, ts, t.lastTs !== ts]);
  t.lastTs = ts;
};
const rtcp = (t: Track) => (b: Buffer) => {
  if (b[1] !== 200) return;
  const sec = b.readUInt32BE(8);
  const frac = b.readUInt32BE(12);
  t.sr = { unixMs: (sec - NTP_UNIX_S) * 1000 + (frac / 2 ** 32) * 1000, ts: b.readUInt32BE(16) };
};
const base = 46000;
const socks = [
  await bind(base, rtp(tracks.video)),
  await bind(base + 1, rtcp(tracks.video)),
  await bind(base + 2, rtp(tracks.audio)),
  await bind(base + 3, rtcp(tracks.audio)),
];
const { probe, transcode } = await planVideo({ input, inputArgs: [], loop: true, video: 'auto', ffprobePath: 'ffprobe', probeTimeoutMs: 10000 }, AbortSignal.timeout(15000));
const args = buildFfmpegArgs({
  input, inputArgs: [], loop: true, realtime: true, transcodeVideo: transcode, keyframeIntervalS: 1, videoBitrateKbps: 2500, audioBitrateKbps: 96,
  ...(probe.video?.frameRate ? { frameRate: probe.video.frameRate } : {}),
  videoPort: base, audioPort: base + 2,
  videoSender: { ssrc: 1111, rtcpPort: base + 1, localRtpPort: base + 4, localRtcpPort: base + 5 },
  audioSender: { ssrc: 2222, rtcpPort: base + 3, localRtpPort: base + 6, localRtcpPort: base + 7 },
  startTimeRealtimeUs: Date.now() * 1000,
});
const child = spawn('ffmpeg', args, { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, seconds * 1000));
child.kill('SIGTERM');
for (const s of socks) s.close();

const q = (v: number[], p: number) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
};
const late: Record<string, number[]> = {};
for (const [name, t] of Object.entries(tracks)) {
  if (!t.sr) throw new Error(`no SR on ${name}`);
  const sr = t.sr;
  // Lateness: arrival minus the media time FFmpeg's SR gives the packet's timestamp (skip the first 2 s).
  const l = t.packets.filter((p) => p[2]).map(([at, ts]) => at - (sr.unixMs + ((((ts - sr.ts) | 0) / t.clock) * 1000)));
  late[name] = l.slice(Math.floor(l.length * (2 / seconds)));
  const v = late[name]!;
  console.log(`${name}: ${v.length} timestamps, lateness of the first packet p5 ${q(v, 0.05).toFixed(1)} / median ${q(v, 0.5).toFixed(1)} / p95 ${q(v, 0.95).toFixed(1)} ms`);
}
console.log(`transcode ${transcode}; audio minus video median lateness: ${(q(late.audio!, 0.5) - q(late.video!, 0.5)).toFixed(1)} ms (a send-time SR maps audio that much later: audio plays late by it)`);
