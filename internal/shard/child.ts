/**
 * A shard process: holds a share of the viewers' PeerConnections and fans the packets the main
 * process relays out to them. node-datachannel 0.33 cannot run in more than one thread of a
 * process (a second worker_thread aborts in napi_open_escapable_handle_scope), so whepd spreads
 * viewers over processes to use more than one core.
 */
import { createSocket } from 'node:dgram';
import { errorToWire } from '../errors/index.js';
import { LocalDelivery, OUT_COUNTER_KEYS } from '../stream/index.js';
import type { StreamViewer } from '../stream/index.js';
import { ViewerPeer } from '../webrtc/index.js';
import type { PeerNetworkOptions } from '../webrtc/index.js';
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

/** A stream as this shard knows it: the same delivery as in-process viewers get in the main process. */
interface ShardStream {
  readonly id: string;
  readonly delivery: LocalDelivery<ShardViewer>;
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
  if (kind === KIND_AUDIO) stream.delivery.audio(packet);
  else stream.delivery.video(packet, kind === KIND_VIDEO_SPS);
});

async function answer(m: Extract<ToShard, { t: 'answer' }>): Promise<void> {
  const stream = streams[m.stream];
  if (!stream || !net) {
    send({ t: 'answerFailed', id: m.id, error: errorToWire(new Error('shard does not know the stream')) });
    return;
  }
  let peer: ViewerPeer;
  try {
    peer = await ViewerPeer.answer(m.offer, m.plan, m.ids, stream.delivery.media, net);
  } catch (err) {
    send({ t: 'answerFailed', id: m.id, error: errorToWire(err) });
    return;
  }
  const viewer = new ShardViewer(m.id, peer, m.plan.video.payloadType, m.plan.audio.payloadType);
  viewers.set(m.id, { viewer, stream });
  peer.on('state', (state) => send({ t: 'state', id: m.id, state }));
  peer.once('close', () => {
    stream.delivery.delete(viewer);
    viewers.delete(m.id);
    send({ t: 'closed', id: m.id });
  });
  stream.delivery.add(viewer);
  send({ t: 'answered', id: m.id, sdp: peer.answerSdp, remoteCandidates: peer.stats().remoteCandidateCount });
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
    const s = viewer.peer.stats();
    peers.push([id, s.rtcpReceived, s.bytesSent, s.rttMs ?? -1, s.videoReady, s.audioReady, s.quality]);
  }
  const figures: StreamFigures[] = [];
  streams.forEach((s, index) => {
    if (!s) return;
    const o = s.delivery.out;
    const r = s.delivery.retransmits;
    figures.push([index, r.sent, r.missing, ...OUT_COUNTER_KEYS.map((k) => o[k])]);
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
    case 'stream':
      streams[m.index] ??= { id: m.id, delivery: new LocalDelivery<ShardViewer>() };
      break;
    case 'clock':
      streams[m.stream]?.delivery.clock(m.kind, m);
      break;
    case 'answer':
      void answer(m);
      break;
    case 'candidate':
      candidate(m);
      break;
    case 'close':
      viewers.get(m.id)?.viewer.peer.close();
      break;
    case 'reset':
      // The main process already closed each viewer of the run; this drops the run's packets and
      // clock (and ends a viewer whose close crossed this message, which peer.close() makes a no-op).
      streams[m.stream]?.delivery.end({ kind: 'ffmpeg-exited', message: 'the run ended' });
      break;
    case 'pause':
      streams[m.stream]?.delivery.pause();
      break;
    case 'exit':
      exit();
      break;
  }
});

// The main process is gone (even SIGKILLed: the IPC pipe closes): so is every reason to live.
process.on('disconnect', exit);
setInterval(reportStats, STATS_INTERVAL_MS).unref();
