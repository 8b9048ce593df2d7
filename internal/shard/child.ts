/**
 * A shard process: holds a share of the viewers' PeerConnections and fans the packets the main
 * process relays out to them. node-datachannel 0.33 cannot run in more than one thread of a
 * process (a second worker_thread aborts in napi_open_escapable_handle_scope), so whepd spreads
 * viewers over processes to use more than one core.
 */
import { createSocket } from 'node:dgram';
import { MediaClock, PacketHistory } from '../rtp/index.js';
import { AUDIO_CLOCK_RATE, VIDEO_CLOCK_RATE, VIDEO_HISTORY_PACKETS, ViewerFanout } from '../stream/index.js';
import type { StreamViewer } from '../stream/index.js';
import { ViewerPeer } from '../webrtc/index.js';
import type { PeerMedia, PeerNetworkOptions } from '../webrtc/index.js';
import { KIND_AUDIO, KIND_VIDEO_SPS, MEDIA_HEADER_BYTES } from './protocol.js';
import type { FromShard, PeerFigures, StreamFigures, ToShard } from './protocol.js';

const STATS_INTERVAL_MS = 500;
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** One viewer in this shard, as the fan-out sees it. */
class ShardViewer implements StreamViewer {
  readonly id: number;
  readonly peer: ViewerPeer;
  readonly videoPayloadType: number;
  readonly audioPayloadType: number;

  constructor(id: number, peer: ViewerPeer, videoPt: number, audioPt: number) {
    this.id = id;
    this.peer = peer;
    this.videoPayloadType = videoPt;
    this.audioPayloadType = audioPt;
  }

  get videoReady(): boolean {
    return this.peer.videoReady;
  }

  sendVideo(packet: Buffer): void {
    this.peer.sendVideo(packet);
  }

  sendAudio(packet: Buffer): void {
    this.peer.sendAudio(packet);
  }

  videoStarted(): void {
    send({ t: 'videoStarted', id: this.id });
  }

  streamEnded(): void {
    this.peer.close();
  }
}

/** A stream as this shard knows it: its viewers here and its video history for NACKs. */
interface ShardStream {
  readonly id: string;
  readonly fanout: ViewerFanout<ShardViewer>;
  readonly history: PacketHistory;
  readonly clock: MediaClock;
  readonly media: PeerMedia;
}

const streams: (ShardStream | undefined)[] = [];
const viewers = new Map<number, { viewer: ShardViewer; stream: ShardStream }>();
let net: PeerNetworkOptions | undefined;

function send(m: FromShard): void {
  if (process.connected) process.send?.(m);
}

const media = createSocket({ type: 'udp4', recvBufferSize: RECEIVE_BUFFER_BYTES });
// Hot path: one datagram per packet from the main process.
media.on('message', (msg) => {
  if (msg.length <= MEDIA_HEADER_BYTES) return;
  const stream = streams[msg.readUInt16BE(0)];
  if (!stream) return;
  const kind = msg[2];
  const packet = msg.subarray(MEDIA_HEADER_BYTES);
  if (kind === KIND_AUDIO) {
    stream.fanout.audio(packet);
  } else {
    stream.history.put(packet);
    stream.fanout.video(packet, kind === KIND_VIDEO_SPS);
  }
});

async function answer(m: Extract<ToShard, { t: 'answer' }>): Promise<void> {
  const stream = streams[m.stream];
  if (!stream || !net) {
    send({ t: 'answerFailed', id: m.id, status: 500, message: 'shard does not know the stream' });
    return;
  }
  let peer: ViewerPeer;
  try {
    peer = await ViewerPeer.answer(m.offer, m.plan, m.ids, stream.media, net);
  } catch (err) {
    const status = (err as { status?: number }).status ?? 500;
    send({ t: 'answerFailed', id: m.id, status, message: (err as Error).message });
    return;
  }
  const viewer = new ShardViewer(m.id, peer, m.plan.video.payloadType, m.plan.audio.payloadType);
  viewers.set(m.id, { viewer, stream });
  peer.on('state', (state) => send({ t: 'state', id: m.id, state }));
  peer.once('close', () => {
    stream.fanout.delete(viewer);
    viewers.delete(m.id);
    send({ t: 'closed', id: m.id });
  });
  stream.fanout.add(viewer);
  send({ t: 'answered', id: m.id, sdp: peer.answerSdp, remoteCandidates: peer.remoteCandidateCount });
}

function candidate(m: Extract<ToShard, { t: 'candidate' }>): void {
  const v = viewers.get(m.id);
  try {
    v?.viewer.peer.addRemoteCandidate(m.candidate, m.mid);
    send({ t: 'candidateDone', req: m.req });
  } catch (err) {
    send({ t: 'candidateDone', req: m.req, error: (err as Error).message });
  }
}

function reportStats(): void {
  if (streams.length === 0) return;
  const peers: PeerFigures[] = [];
  for (const [id, { viewer }] of viewers) {
    const p = viewer.peer;
    peers.push([id, p.rtcpReceived, p.bytesSent, p.rttMs ?? -1, p.videoReady, p.audioReady]);
  }
  const figures: StreamFigures[] = [];
  streams.forEach((s, index) => {
    if (!s) return;
    const o = s.fanout.out;
    figures.push([index, o.videoPackets, o.videoBytes, o.audioPackets, o.audioBytes, s.history.counters.hits, s.history.counters.misses]);
  });
  send({ t: 'stats', peers, streams: figures });
}

function exit(): void {
  for (const { viewer } of [...viewers.values()]) viewer.peer.close();
  // node-datachannel's cleanup() crashes after peers were closed; exiting releases everything.
  setTimeout(() => process.exit(0), 100).unref();
}

process.on('message', (m: ToShard) => {
  switch (m.t) {
    case 'init':
      net = m.net;
      media.bind(0, '127.0.0.1', () => send({ t: 'ready', port: media.address().port }));
      break;
    case 'stream': {
      const history = new PacketHistory(VIDEO_HISTORY_PACKETS);
      const clock = new MediaClock(VIDEO_CLOCK_RATE, AUDIO_CLOCK_RATE);
      streams[m.index] ??= { id: m.id, fanout: new ViewerFanout<ShardViewer>({ history }), history, clock, media: { videoHistory: history, clock } };
      break;
    }
    case 'clock': {
      const s = streams[m.stream];
      if (m.kind === 'video') s?.clock.setVideo(m);
      else s?.clock.setAudio(m);
      break;
    }
    case 'answer':
      void answer(m);
      break;
    case 'candidate':
      candidate(m);
      break;
    case 'close':
      viewers.get(m.id)?.viewer.peer.close();
      break;
    case 'reset': {
      const s = streams[m.stream];
      if (!s) break;
      for (const v of s.fanout.clear()) v.streamEnded();
      s.history.clear();
      s.clock.reset();
      break;
    }
    case 'exit':
      exit();
      break;
  }
});

// The main process is gone (even SIGKILLed: the IPC pipe closes): so is every reason to live.
process.on('disconnect', exit);
setInterval(reportStats, STATS_INTERVAL_MS).unref();
