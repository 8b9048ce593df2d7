/**
 * UDP ingest: loopback sockets per media kind, bound by whepd before FFmpeg starts, and
 * connect()ed to the local ports FFmpeg is told to send from, so the kernel drops datagrams from
 * anyone else on the host. Valid RTP with FFmpeg's SSRC goes to a plain callback; everything
 * else that still arrives is dropped and counted.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { checkRtp, isRtcp } from './packet.js';
import { PacketGaps } from './packet-gaps.js';
import { readSenderReport } from './sender-report.js';
import type { SenderReport } from './sender-report.js';

/** Receives every accepted packet; the buffer is the handler's to rewrite in place. */
export type PacketHandler = (packet: Buffer) => void;

/** Receives FFmpeg's sender reports for this output (its media clock). */
export type SenderReportHandler = (report: SenderReport) => void;

/** Counters an ingest keeps; read them any time, they only grow. */
export interface IngestCounters {
  packets: number;
  bytes: number;
  /** Datagrams that were not RTP whepd forwards (bad version, PT, length, header, foreign SSRC). */
  junk: number;
  /** RTCP from FFmpeg (on the RTCP socket); not forwarded. */
  rtcp: number;
  /** FFmpeg's sender reports among them, handed to onSenderReport. */
  senderReports: number;
  /** Packets that came over 50, 100 or 250 ms after the one before (PacketGaps). */
  gapsOver50ms: number;
  gapsOver100ms: number;
  gapsOver250ms: number;
}

/** How FFmpeg must send one RTP output for this ingest to take it (FfmpegJob's RtpSender). */
export interface IngestSender {
  /** The SSRC FFmpeg's RTP muxer is told to stamp (-ssrc); every other SSRC is junk. */
  readonly ssrc: number;
  /** whepd's RTCP port: FFmpeg sends its sender reports there (rtcpport). */
  readonly rtcpPort: number;
  /** The local ports FFmpeg binds and sends RTP and RTCP from (localrtpport, localrtcpport). */
  readonly localRtpPort: number;
  readonly localRtcpPort: number;
}

/** Options for {@link RtpIngest.open}. */
export interface IngestOptions {
  /** Payload type FFmpeg was told to use for this media. */
  payloadType: number;
  /** Loopback address to bind; defaults to 127.0.0.1. */
  host?: string;
  /** RTP port to bind; 0 (default) lets the kernel choose. */
  port?: number;
  /** The SSRC FFmpeg will be told to use; default: a random one, fresh for each ingest. */
  ssrc?: number;
  onPacket: PacketHandler;
  /** FFmpeg's SRs (same SSRC as its RTP); other RTCP is only counted. */
  onSenderReport?: SenderReportHandler;
}

function bindUdp(host: string, port: number): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', reuseAddr: false });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function connectUdp(socket: Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // Already closed by an error; nothing left to release.
  }
}

/**
 * Two ports FFmpeg can bind to send from. FFmpeg must bind them itself (its rtp protocol takes
 * no socket), so whepd binds two sockets on the same address to have the kernel pick free,
 * distinct ports, then closes them. Until FFmpeg binds them (after opening its input) another
 * process could take one: FFmpeg then exits at once with "bind failed: Address already in use"
 * and the stream's next run reserves fresh ports. Letting FFmpeg pick and learning its port from
 * the first packet instead would leave the ingest open to anyone until that packet.
 */
async function reserveSenderPorts(host: string): Promise<[number, number]> {
  const a = await bindUdp(host, 0);
  try {
    const b = await bindUdp(host, 0);
    const ports: [number, number] = [a.address().port, b.address().port];
    closeQuietly(b);
    return ports;
  } finally {
    closeQuietly(a);
  }
}

/**
 * One media kind's ingest: an RTP socket and an RTCP socket, each connect()ed to the port FFmpeg
 * sends it from, feeding RTP packets to a handler. Emits `close` once.
 */
export class RtpIngest extends EventEmitter {
  readonly #counters: IngestCounters = { packets: 0, bytes: 0, junk: 0, rtcp: 0, senderReports: 0, gapsOver50ms: 0, gapsOver100ms: 0, gapsOver250ms: 0 };
  /** Arrival gaps of the accepted packets: a hole here came from FFmpeg (or its input). */
  readonly #gaps = new PacketGaps();
  /** What FFmpeg must be told so that this ingest takes its output. */
  readonly sender: IngestSender;
  readonly #socket: Socket;
  readonly #rtcpSocket: Socket;
  readonly #pt: number;
  /** FFmpeg's SSRC, chosen by whepd: a datagram from FFmpeg's port with another SSRC is junk. */
  readonly #ssrc: number;
  #onPacket: PacketHandler;
  #onSenderReport: SenderReportHandler | undefined;
  #closed = false;
  #port = 0;

  private constructor(socket: Socket, rtcpSocket: Socket, sender: IngestSender, pt: number, onPacket: PacketHandler) {
    super();
    this.#socket = socket;
    this.#rtcpSocket = rtcpSocket;
    this.sender = sender;
    this.#ssrc = sender.ssrc;
    this.#pt = pt;
    this.#onPacket = onPacket;
  }

  /** Binds and connects the sockets and starts receiving. Rejects if a bind fails. */
  static async open(options: IngestOptions): Promise<RtpIngest> {
    const host = options.host ?? '127.0.0.1';
    const socket = await bindUdp(host, options.port ?? 0);
    let rtcpSocket: Socket | undefined;
    let sender: IngestSender;
    try {
      // RTCP on its own port: FFmpeg sends its SRs from a second socket (localrtcpport), and a
      // connected socket hears one peer only, so RTP and RTCP cannot share one (RFC 5761 mux).
      rtcpSocket = await bindUdp(host, 0);
      const [localRtpPort, localRtcpPort] = await reserveSenderPorts(host);
      sender = {
        ssrc: options.ssrc ?? randomInt(1, 2 ** 32 - 1),
        rtcpPort: rtcpSocket.address().port,
        localRtpPort,
        localRtcpPort,
      };
      // A connected UDP socket only receives from its peer: the kernel drops the rest (udp(7)).
      await connectUdp(socket, localRtpPort, host);
      await connectUdp(rtcpSocket, localRtcpPort, host);
    } catch (err) {
      closeQuietly(socket);
      if (rtcpSocket) closeQuietly(rtcpSocket);
      throw err;
    }
    const ingest = new RtpIngest(socket, rtcpSocket, sender, options.payloadType, options.onPacket);
    ingest.#onSenderReport = options.onSenderReport;
    ingest.#port = socket.address().port;
    // A large receive buffer absorbs a keyframe burst while the event loop is busy elsewhere.
    try {
      socket.setRecvBufferSize(4 * 1024 * 1024);
    } catch {
      // The kernel cap (net.core.rmem_max) may be lower; the default still works.
    }
    socket.on('message', (msg) => ingest.#receive(msg));
    rtcpSocket.on('message', (msg) => ingest.#receiveOnRtcpPort(msg));
    socket.on('error', () => ingest.close());
    rtcpSocket.on('error', () => ingest.close());
    return ingest;
  }

  /** What this ingest counted so far (one object, updated in place). */
  get counters(): IngestCounters {
    const c = this.#counters;
    c.gapsOver50ms = this.#gaps.over50ms;
    c.gapsOver100ms = this.#gaps.over100ms;
    c.gapsOver250ms = this.#gaps.over250ms;
    return c;
  }

  /** The bound UDP port FFmpeg must send RTP to. */
  get port(): number {
    return this.#port;
  }

  /** True once close() ran. */
  get closed(): boolean {
    return this.#closed;
  }

  #receive(msg: Buffer): void {
    const verdict = checkRtp(msg, this.#pt);
    if (verdict === 'ok') {
      // Even from FFmpeg's port, only the SSRC whepd chose is FFmpeg's output.
      if (msg.readUInt32BE(8) !== this.#ssrc) {
        this.#counters.junk++;
        return;
      }
      this.#counters.packets++;
      this.#counters.bytes += msg.length;
      this.#gaps.passed(performance.now());
      this.#onPacket(msg);
    } else if (verdict === 'rtcp') {
      this.#counters.rtcp++;
      this.#receiveRtcp(msg);
    } else {
      this.#counters.junk++;
    }
  }

  #receiveOnRtcpPort(msg: Buffer): void {
    if (msg.length < 8 || (msg[0] as number) >> 6 !== 2 || !isRtcp(msg)) {
      this.#counters.junk++;
      return;
    }
    this.#counters.rtcp++;
    this.#receiveRtcp(msg);
  }

  #receiveRtcp(msg: Buffer): void {
    const report = readSenderReport(msg);
    if (!report || !this.#onSenderReport || report.ssrc !== this.#ssrc) return;
    this.#counters.senderReports++;
    this.#onSenderReport(report);
  }

  /** Closes the sockets; idempotent. Packets after this are never delivered. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onPacket = () => {};
    this.#onSenderReport = undefined;
    closeQuietly(this.#socket);
    closeQuietly(this.#rtcpSocket);
    this.emit('close');
  }
}
