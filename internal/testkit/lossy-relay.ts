/**
 * A UDP relay that loses packets on purpose, for tests of loss reporting where the kernel has no
 * netem: viewers send to `listen`, the relay forwards to `target` from one socket per viewer, and
 * drops every `dropEvery`-th RTP/SRTP packet on the way back (STUN, DTLS and RTCP pass, so only
 * media is lost, as on a lossy downlink). Loopback only.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';

/** A running relay; close() ends it and every per-viewer socket. */
export class LossyRelay {
  readonly #front: Socket;
  readonly #backs = new Map<string, Socket>();
  forwarded = 0;
  dropped = 0;

  private constructor(front: Socket) {
    this.#front = front;
  }

  /** Listens on `listen` (host, port) and relays to `target`. */
  static async start(listen: { host: string; port: number }, target: { host: string; port: number }, dropEvery: number): Promise<LossyRelay> {
    const front = createSocket('udp4');
    const relay = new LossyRelay(front);
    let media = 0;
    front.on('message', (msg, from) => {
      const key = `${from.address}:${from.port}`;
      let back = relay.#backs.get(key);
      if (!back) {
        back = createSocket('udp4');
        back.bind(0, '127.0.0.1');
        back.on('message', (reply) => {
          // RFC 7983 demultiplexing: 128-191 is RTP/RTCP; RTCP packet types are 192-223.
          const b0 = reply[0] ?? 0;
          const b1 = reply[1] ?? 0;
          if (b0 >= 128 && b0 <= 191 && !(b1 >= 192 && b1 <= 223) && ++media % dropEvery === 0) {
            relay.dropped++;
            return;
          }
          relay.forwarded++;
          front.send(reply, from.port, from.address);
        });
        relay.#backs.set(key, back);
      }
      back.send(msg, target.port, target.host);
    });
    await new Promise<void>((resolve, reject) => {
      front.once('error', reject);
      front.bind(listen.port, listen.host, () => resolve());
    });
    return relay;
  }

  /** Stops relaying; idempotent. */
  close(): void {
    for (const s of [this.#front, ...this.#backs.values()]) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
    this.#backs.clear();
  }
}
