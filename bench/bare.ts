/**
 * The bare forwarder the benchmark compares whepd with: the same stack (node-datachannel, the
 * same FFmpeg command, the same loopback path) with none of whepd's features. UDP in, one
 * PeerConnection per viewer with sendonly tracks and an RTCP sender reporter (players need sender
 * reports to sync audio and video), and per input packet a PT/SSRC rewrite and one
 * sendMessageBinary per viewer. No keyframe gate, no NACK history, no caps, no counters, no
 * metrics, no validation. It answers just enough HTTP for the benchmark: POST/DELETE /whep/bench,
 * GET /whep/bench, GET /readyz. Run as `tsx bench/bare.ts --config <whepd config>`.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import nodeDataChannel from 'node-datachannel';
import type { PeerConnection, Track } from 'node-datachannel';
import { buildFfmpegArgs } from '../internal/ffmpeg/index.js';
import { planAnswer } from '../internal/webrtc/index.js';

const { PeerConnection: PeerConnectionCtor, Video, Audio, RtpPacketizationConfig, RtcpSrReporter } = nodeDataChannel;

const configFile = process.argv[process.argv.indexOf('--config') + 1];
if (!configFile) throw new Error('usage: bare.ts --config <file>');
const config = JSON.parse(readFileSync(configFile, 'utf8')) as {
  http: { listen: string };
  ffmpeg: { path: string };
  streams: { input: string; loop: boolean }[];
};
const [host, port] = [config.http.listen.slice(0, config.http.listen.lastIndexOf(':')), Number(config.http.listen.slice(config.http.listen.lastIndexOf(':') + 1))];
const VIDEO_SSRC = 0x11223344;
const AUDIO_SSRC = 0x55667788;

interface Viewer {
  pc: PeerConnection;
  video: Track;
  audio: Track;
  videoPt: number;
  audioPt: number;
  videoOpen: boolean;
  audioOpen: boolean;
  keep: unknown[];
}
let viewers: Viewer[] = [];
const byId = new Map<string, Viewer>();
let packets = 0;

function forward(packet: Buffer, video: boolean): void {
  packets++;
  packet.writeUInt32BE(video ? VIDEO_SSRC : AUDIO_SSRC, 8);
  const marker = packet[1]! & 0x80;
  const list = viewers;
  for (let i = 0; i < list.length; i++) {
    const v = list[i]!;
    if (!(video ? v.videoOpen : v.audioOpen)) continue;
    packet[1] = marker | (video ? v.videoPt : v.audioPt);
    try {
      (video ? v.video : v.audio).sendMessageBinary(packet);
    } catch {
      // closed under us
    }
  }
}

function ingest(video: boolean): Promise<number> {
  const s = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  s.on('message', (msg) => {
    const b1 = msg[1]!;
    if (msg.length >= 12 && !(b1 >= 192 && b1 <= 223)) forward(msg, video);
  });
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s.address().port)));
}

const videoPort = await ingest(true);
const audioPort = await ingest(false);
const stream = config.streams[0]!;
const ffmpeg = spawn(
  config.ffmpeg.path,
  buildFfmpegArgs({ input: stream.input, inputArgs: [], loop: stream.loop, realtime: true, transcodeVideo: false, keyframeIntervalS: 1, videoBitrateKbps: 2500, audioBitrateKbps: 64, videoPort, audioPort }),
  { stdio: ['ignore', 'inherit', 'inherit'] },
);

async function answer(offer: string): Promise<{ id: string; sdp: string }> {
  const plan = planAnswer(offer);
  const pc = new PeerConnectionCtor('bare', { iceServers: [], bindAddress: '127.0.0.1', disableAutoNegotiation: true });
  const vd = new Video(plan.video.mid, 'SendOnly');
  vd.addH264Codec(plan.video.payloadType, plan.video.fmtp);
  vd.addSSRC(VIDEO_SSRC, 'bare', 'bare', 'bare-v');
  const ad = new Audio(plan.audio.mid, 'SendOnly');
  ad.addOpusCodec(plan.audio.payloadType, plan.audio.fmtp);
  ad.addSSRC(AUDIO_SSRC, 'bare', 'bare', 'bare-a');
  const video = pc.addTrack(vd);
  const audio = pc.addTrack(ad);
  const v: Viewer = { pc, video, audio, videoPt: plan.video.payloadType, audioPt: plan.audio.payloadType, videoOpen: false, audioOpen: false, keep: [] };
  for (const [track, ssrc, pt, clock] of [[video, VIDEO_SSRC, v.videoPt, 90000], [audio, AUDIO_SSRC, v.audioPt, 48000]] as const) {
    const cfg = new RtpPacketizationConfig(ssrc, 'bare', pt, clock);
    const sr = new RtcpSrReporter(cfg);
    track.setMediaHandler(sr);
    v.keep.push(cfg, sr);
  }
  video.onOpen(() => (v.videoOpen = true));
  audio.onOpen(() => (v.audioOpen = true));
  const gathered = new Promise<void>((resolve) => pc.onGatheringStateChange((s) => s === 'complete' && resolve()));
  pc.setRemoteDescription(offer, 'offer');
  pc.setLocalDescription('answer');
  await gathered;
  const id = Math.random().toString(36).slice(2);
  byId.set(id, v);
  viewers = [...viewers, v];
  return { id, sdp: pc.localDescription()?.sdp ?? '' };
}

function drop(v: Viewer): void {
  viewers = viewers.filter((x) => x !== v);
  v.videoOpen = v.audioOpen = false;
  for (const t of [v.video, v.audio]) {
    try {
      t.close();
    } catch {
      // already closed
    }
  }
  v.pc.close();
}

const server = createServer((req, res) => {
  const url = req.url ?? '';
  if (req.method === 'GET' && url === '/readyz') {
    res.writeHead(packets > 0 ? 200 : 503).end();
  } else if (req.method === 'GET' && url === '/whep/bench') {
    res.writeHead(204).end();
  } else if (req.method === 'POST' && url === '/whep/bench') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      answer(Buffer.concat(chunks).toString()).then(
        ({ id, sdp }) => res.writeHead(201, { 'Content-Type': 'application/sdp', Location: `/whep/bench/${id}` }).end(sdp),
        (err: Error) => res.writeHead(400).end(`${err.message}\n`),
      );
    });
  } else if (req.method === 'DELETE' && url.startsWith('/whep/bench/')) {
    const v = byId.get(url.slice('/whep/bench/'.length));
    if (v) {
      byId.delete(url.slice('/whep/bench/'.length));
      drop(v);
    }
    res.writeHead(200).end();
  } else {
    res.writeHead(404).end();
  }
});
server.listen(port, host);

function stop(): void {
  for (const v of viewers) drop(v);
  ffmpeg.kill('SIGTERM');
  server.close();
  setTimeout(() => process.exit(0), 300).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
ffmpeg.on('exit', () => {
  if (!server.listening) return;
  process.stderr.write('bare: ffmpeg exited\n');
  process.exit(1);
});
