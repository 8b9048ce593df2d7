/**
 * HAProxy agent-check listener: one line per TCP connection, then close (HAProxy reads up to the
 * first newline and expects the agent to end the connection). Bound to one address, like the
 * HTTP listener: never on every interface unless the config says so.
 */
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Logger } from 'pino';

/** Options for {@link AgentServer.listen}. */
export interface AgentServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** The line to answer, computed at each connection. */
  line(): string;
  readonly log?: Logger;
}

/** A listening agent-check server. Emits `close` once. */
export class AgentServer extends EventEmitter {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #closed = false;

  private constructor(server: Server) {
    super();
    this.#server = server;
  }

  /** Binds host:port and answers every connection with `line()`; rejects if the port cannot be bound. */
  static async listen(o: AgentServerOptions): Promise<AgentServer> {
    let agent: AgentServer | undefined;
    const server = createServer((socket) => {
      const owner = agent;
      if (!owner || owner.#closed) return void socket.destroy();
      owner.#sockets.add(socket);
      socket.once('close', () => owner.#sockets.delete(socket));
      // A peer that resets first is not our problem; it must not become an uncaught error.
      socket.on('error', () => socket.destroy());
      socket.setTimeout(2000, () => socket.destroy());
      socket.end(o.line());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: o.host, port: o.port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => o.log?.error({ err }, 'agent-check listener error'));
    agent = new AgentServer(server);
    return agent;
  }

  /** The bound address (the port resolved when 0 was asked for). */
  get address(): { host: string; port: number } {
    const a = this.#server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops listening and drops open connections. Idempotent; emits `close` once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    this.emit('close');
  }
}
