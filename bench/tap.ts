/**
 * The ingress tap (its own process, forked by run.ts): two UDP sockets that FFmpeg sends its RTP
 * to instead of whepd (see ffmpeg-tap.sh). Each datagram is stamped with the wall clock just
 * before it is forwarded unchanged to whepd's real ingest port (from the source port whepd told
 * FFmpeg to use: whepd's ingest sockets are connected to it), so "entering whepd's UDP socket"
 * is this stamp plus one loopback hop. whepd keeps RTP sequence numbers, so a receiver matches its
 * packets to these stamps by (kind, seq).
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { SeqLog } from './seq-log.js';
import { nowMs } from './stats.js';

/** Messages the tap answers on its IPC channel. */
export type TapRequest = { type: 'dump'; from: number; to: number } | { type: 'stop' };

/** The RTP packets forwarded in a time range, per kind (0 video, 1 audio). */
export interface TapDump {
  type: 'dump';
  seq: [Uint16Array, Uint16Array];
  at: [Float64Array, Float64Array];
  rtcp: number;
}

const mapFile = process.argv[2];
if (!mapFile || !process.send) throw new Error('tap.ts is forked by bench/run.ts with the map file as argument');

const logs = [new SeqLog(), new SeqLog()] as const;
let rtcp = 0;
/** Where one kind's packets go in whepd, and the source ports whepd's connected ingest accepts. */
interface Route {
  rtp: number;
  rtcp: number;
  fromRtp: Socket;
  fromRtcp: Socket;
}
let routes: [Route, Route] | undefined;
let mapText = '';

function bound(port: number): Socket {
  const s = createSocket('udp4');
  s.on('error', () => {});
  s.bind(port, '127.0.0.1', () => s.setSendBufferSize(4 * 1024 * 1024));
  return s;
}

// A new FFmpeg run gets new whepd ports and new source ports: rebuild the senders then.
function readMap(): void {
  let text: string;
  try {
    text = readFileSync(mapFile!, 'utf8').trim();
  } catch {
    return; // not written yet: FFmpeg has not started
  }
  if (text === mapText) return;
  const kinds = text.split(',').map((k) => k.split(':').map(Number));
  if (kinds.length !== 2 || kinds.some((k) => k.length !== 4 || !k[0])) return;
  mapText = text;
  for (const r of routes ?? []) for (const s of [r.fromRtp, r.fromRtcp]) s.close();
  routes = kinds.map(([rtp, rtcp, lrtp, lrtcp]) => ({ rtp: rtp!, rtcp: rtcp!, fromRtp: bound(lrtp!), fromRtcp: bound(lrtcp!) })) as [Route, Route];
}

function open(kind: 0 | 1): Promise<Socket> {
  const socket = createSocket('udp4');
  let lastSource = -1;
  socket.on('message', (msg, rinfo) => {
    if (rinfo.port !== lastSource || !routes) {
      lastSource = rinfo.port;
      readMap();
    }
    const route = routes?.[kind];
    if (!route) return;
    const b1 = msg.length >= 2 ? msg[1]! : 0;
    if (b1 >= 192 && b1 <= 223) {
      rtcp++;
      route.fromRtcp.send(msg, route.rtcp, '127.0.0.1');
      return;
    }
    if (msg.length >= 12) logs[kind].push(msg.readUInt16BE(2), nowMs());
    route.fromRtp.send(msg, route.rtp, '127.0.0.1');
  });
  return new Promise((resolve) => {
    socket.bind(0, '127.0.0.1', () => {
      socket.setRecvBufferSize(4 * 1024 * 1024);
      resolve(socket);
    });
  });
}

const sockets = [await open(0), await open(1)];
process.send({ type: 'ready', ports: sockets.map((s) => s.address().port) });
process.on('message', (m: TapRequest) => {
  if (m.type === 'stop') {
    for (const s of sockets) s.close();
    for (const r of routes ?? []) for (const s of [r.fromRtp, r.fromRtcp]) s.close();
    process.disconnect?.();
    return;
  }
  const v = logs[0].range(m.from, m.to);
  const a = logs[1].range(m.from, m.to);
  const dump: TapDump = { type: 'dump', seq: [v.seq, a.seq], at: [v.at, a.at], rtcp };
  process.send!(dump);
});
process.on('disconnect', () => process.exit(0));
