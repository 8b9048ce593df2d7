/** A minimal STUN server (RFC 8489 Binding only) on loopback, so ICE gathering with a STUN URL completes in tests. */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';

const MAGIC = 0x2112a442;

/** A running STUN responder; close() is idempotent. */
export class StunServer {
  readonly #socket: Socket;
  requests = 0;
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Binds 127.0.0.1 on an ephemeral port and answers Binding requests. */
  static async start(): Promise<StunServer> {
    const socket = createSocket('udp4');
    const server = new StunServer(socket);
    socket.on('message', (msg, rinfo) => {
      if (msg.length < 20 || msg.readUInt16BE(0) !== 0x0001 || msg.readUInt32BE(4) !== MAGIC) return;
      server.requests++;
      const res = Buffer.alloc(32);
      res.writeUInt16BE(0x0101, 0); // Binding success response
      res.writeUInt16BE(12, 2);
      res.writeUInt32BE(MAGIC, 4);
      msg.copy(res, 8, 8, 20); // transaction id
      res.writeUInt16BE(0x0020, 20); // XOR-MAPPED-ADDRESS
      res.writeUInt16BE(8, 22);
      res.writeUInt16BE(0x0001, 24);
      res.writeUInt16BE(rinfo.port ^ (MAGIC >>> 16), 26);
      const ip = rinfo.address.split('.').reduce((a, o) => a * 256 + Number(o), 0);
      res.writeUInt32BE((ip ^ MAGIC) >>> 0, 28);
      socket.send(res, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return server;
  }

  /** The `stun:` URL of this server. */
  get url(): string {
    return `stun:127.0.0.1:${this.#socket.address().port}`;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }
}
