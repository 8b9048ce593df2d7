/**
 * UDP ingest: one loopback socket per media kind, bound by whepd before FFmpeg starts so there
 * is no port race. Valid RTP goes to a plain callback; everything else is dropped and counted.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { checkRtp } from './packet.js';
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
  /** RTCP from FFmpeg on the same port (RFC 5761 mux); not forwarded. */
  rtcp: number;
  /** FFmpeg's sender reports among them, handed to onSenderReport. */
  senderReports: number;
}

/** Options for {@link RtpIngest.open}. */
export interface IngestOptions {
  /** Payload type FFmpeg was told to use for this media. */
  payloadType: number;
  /** Loopback address to bind; defaults to 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 (default) lets the kernel choose. */
  port?: number;
  onPacket: PacketHandler;
  /** FFmpeg's SRs (same SSRC as its RTP); other RTCP is only counted. */
  onSenderReport?: SenderReportHandler;
}

/** One bound UDP socket feeding RTP packets to a handler. Emits `close` once. */
export class RtpIngest extends EventEmitter {
  readonly counters: IngestCounters = { packets: 0, bytes: 0, junk: 0, rtcp: 0, senderReports: 0 };
  readonly #socket: Socket;
  readonly #pt: number;
  #onPacket: PacketHandler;
  #onSenderReport: SenderReportHandler | undefined;
  #closed = false;
  #port = 0;
  /** FFmpeg's SSRC, learnt from the first valid packet; a socket serves one FFmpeg run. */
  #ssrc = -1;

  private constructor(socket: Socket, pt: number, onPacket: PacketHandler) {
    super();
    this.#socket = socket;
    this.#pt = pt;
    this.#onPacket = onPacket;
  }

  /** Binds a socket and starts receiving. Rejects if the bind fails. */
  static async open(options: IngestOptions): Promise<RtpIngest> {
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    const ingest = new RtpIngest(socket, options.payloadType, options.onPacket);
    ingest.#onSenderReport = options.onSenderReport;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    ingest.#port = socket.address().port;
    // A large receive buffer absorbs a keyframe burst while the event loop is busy elsewhere.
    try {
      socket.setRecvBufferSize(4 * 1024 * 1024);
    } catch {
      // The kernel cap (net.core.rmem_max) may be lower; the default still works.
    }
    socket.on('message', (msg) => ingest.#receive(msg));
    socket.on('error', () => ingest.close());
    return ingest;
  }

  /** The bound UDP port FFmpeg must send to. */
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
      // Packets from anyone else on loopback (a foreign SSRC) would splice into the stream.
      const ssrc = msg.readUInt32BE(8);
      if (this.#ssrc === -1) this.#ssrc = ssrc;
      else if (ssrc !== this.#ssrc) {
        this.counters.junk++;
        return;
      }
      this.counters.packets++;
      this.counters.bytes += msg.length;
      this.#onPacket(msg);
    } else if (verdict === 'rtcp') {
      this.counters.rtcp++;
      this.#receiveRtcp(msg);
    } else {
      this.counters.junk++;
    }
  }

  // FFmpeg sends its first SR just before its first RTP packet, so an SR may fix the SSRC too.
  #receiveRtcp(msg: Buffer): void {
    const report = readSenderReport(msg);
    if (!report || !this.#onSenderReport) return;
    if (this.#ssrc === -1) this.#ssrc = report.ssrc;
    else if (report.ssrc !== this.#ssrc) return;
    this.counters.senderReports++;
    this.#onSenderReport(report);
  }

  /** Closes the socket; idempotent. Packets after this are never delivered. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onPacket = () => {};
    this.#onSenderReport = undefined;
    try {
      this.#socket.close();
    } catch {
      // Already closed by an error; nothing left to release.
    }
    this.emit('close');
  }
}
