/**
 * The shard processes, seen from the main process: forks them, places each new viewer on the
 * least loaded one, relays each stream's packets to the shards that hold its viewers (one UDP
 * datagram per packet per shard), and turns shard reports and exits into ShardPeer updates.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { WhepdError, errorFromWire } from '../errors/index.js';
import { OUT_COUNTER_KEYS } from '../stream/index.js';
import type { Delivery, OutCounters } from '../stream/index.js';
import type { OfferPlan, PeerNetworkOptions, TrackIdentity } from '../webrtc/index.js';
import type { FromShard, StreamFigures, ToShard } from './protocol.js';
import { ShardPeer } from './shard-peer.js';
import { ShardDelivery } from './shard-delivery.js';

/** Options for {@link ShardPool.start}. */
export interface ShardPoolOptions {
  count: number;
  net: PeerNetworkOptions;
  log: Logger;
  /** How long a shard may take to fork and bind its socket. */
  startTimeoutMs?: number;
}

// Beyond the viewers' own gathering timeout, for the IPC round trip of an answer.
const ANSWER_SLACK_MS = 5000;
const EXIT_GRACE_MS = 2000;

/** Adds one shard's reported delivery figures for a stream to a running total. */
function addFigures(total: { out: OutCounters; sent: number; missing: number }, f: StreamFigures): void {
  total.sent += f[1] ?? 0;
  total.missing += f[2] ?? 0;
  OUT_COUNTER_KEYS.forEach((k, i) => (total.out[k] += f[3 + i] ?? 0));
}

/** One shard process and what the main process knows of it. */
class Shard {
  readonly peers = new Map<number, ShardPeer>();
  /** Stream indexes this shard was told about; it is sent their packets from then on. */
  readonly streamsKnown = new Set<number>();
  /** Last reported delivery figures per stream index. */
  readonly figures = new Map<number, StreamFigures>();
  readonly answers = new Map<number, { resolve: (p: ShardPeer) => void; reject: (e: Error) => void }>();
  readonly candidates = new Map<number, (error: string | undefined) => void>();
  socket: Socket | undefined;
  exited = false;

  readonly index: number;
  readonly child: ChildProcess;

  constructor(index: number, child: ChildProcess) {
    this.index = index;
    this.child = child;
  }

  send(m: ToShard): void {
    if (!this.exited && this.child.connected) this.child.send(m);
  }
}

/** The pool of shard processes. */
export class ShardPool {
  readonly #shards: Shard[] = [];
  /** Deliveries by stream index; the index is what the media header carries. */
  readonly #deliveries: ShardDelivery[] = [];
  readonly #streamIndex = new Map<string, number>();
  readonly #log: Logger;
  readonly #net: PeerNetworkOptions;
  #nextPeer = 0;
  #restarts = 0;
  #nextReq = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(o: ShardPoolOptions) {
    this.#log = o.log;
    this.#net = o.net;
  }

  /** Forks `count` shards and resolves once each has bound its media socket. */
  static async start(o: ShardPoolOptions): Promise<ShardPool> {
    const pool = new ShardPool(o);
    try {
      await Promise.all(Array.from({ length: o.count }, (_, i) => pool.#spawn(i, o.startTimeoutMs ?? 15000)));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  /** Number of shard processes. */
  get size(): number {
    return this.#shards.length;
  }

  /** Shard processes that exited unexpectedly and were replaced (or are being). */
  get restarts(): number {
    return this.#restarts;
  }

  /** Viewers per shard, in shard order. */
  get load(): number[] {
    return this.#shards.map((s) => s.peers.size);
  }

  /** PIDs of the shard processes (for status and for tests that must end them by PID). */
  get pids(): number[] {
    return this.#shards.filter((s) => !s.exited).map((s) => s.child.pid as number);
  }

  async #spawn(index: number, timeoutMs: number): Promise<void> {
    const here = fileURLToPath(import.meta.url);
    // Same extension as this module: .js from dist/, .ts when run through tsx in tests.
    const entry = here.replace(/pool\.[jt]s$/, `child${extname(here)}`);
    const child = fork(entry, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const shard = new Shard(index, child);
    this.#shards[index] = shard;
    child.on('message', (m: FromShard) => this.#onMessage(shard, m));
    child.on('exit', (code, signal) => this.#onExit(shard, code, signal));
    child.on('error', (err) => this.#log.error({ err, shard: index }, 'shard process error'));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`shard ${index} did not start within ${timeoutMs} ms`)), timeoutMs);
      const onReady = (m: FromShard) => {
        if (m.t !== 'ready') return;
        clearTimeout(timer);
        child.off('message', onReady);
        resolve(m.port);
      };
      child.on('message', onReady);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`shard ${index} exited while starting (code ${code})`));
      });
      // Several processes cannot share one mux port: shard k takes udpPort + k.
      const net = this.#net.udpPort === undefined ? this.#net : { ...this.#net, udpPort: this.#net.udpPort + index };
      shard.send({ t: 'init', net });
    });
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // A shard that exits leaves ICMP port-unreachable errors on this socket: they are expected.
    socket.on('error', () => {});
    shard.socket = socket;
    this.#log.info({ shard: index, pid: child.pid }, 'shard process started');
  }

  /** The delivery of stream `streamId` to its viewers in the shards (one per stream id, kept across reloads). */
  delivery(streamId: string): Delivery {
    let index = this.#streamIndex.get(streamId);
    if (index === undefined) {
      const i = this.#deliveries.length;
      const known = () => this.#shards.filter((s) => s.streamsKnown.has(i));
      this.#deliveries.push(
        new ShardDelivery(i, {
          reset: () => {
            for (const s of known()) s.send({ t: 'reset', stream: i });
          },
          pause: () => {
            for (const s of known()) s.send({ t: 'pause', stream: i });
          },
          clock: (kind, point) => {
            for (const s of known()) s.send({ t: 'clock', stream: i, kind, ...point });
          },
        }),
      );
      this.#streamIndex.set(streamId, i);
      index = i;
    }
    return this.#deliveries[index] as ShardDelivery;
  }

  /**
   * Answers `offer` in the least loaded shard and resolves with its peer once the answer is
   * complete; rejects with the shard's error status (400, 504) otherwise.
   */
  createPeer(streamId: string, offer: string, plan: OfferPlan, ids: { video: TrackIdentity; audio: TrackIdentity }): Promise<ShardPeer> {
    const index = this.#streamIndex.get(streamId);
    const live = this.#shards.filter((s) => !s.exited && s.socket);
    if (this.#closed || index === undefined || live.length === 0) return Promise.reject(new WhepdError('SHARD_UNAVAILABLE', 503, 'no shard process can take the viewer', { retryAfter: 2 }));
    const shard = live.reduce((a, b) => (b.peers.size + b.answers.size < a.peers.size + a.answers.size ? b : a));
    if (!shard.streamsKnown.has(index)) {
      shard.send({ t: 'stream', index, id: streamId });
      const clocks = (this.#deliveries[index] as ShardDelivery).clocks;
      if (clocks.video) shard.send({ t: 'clock', stream: index, kind: 'video', ...clocks.video });
      if (clocks.audio) shard.send({ t: 'clock', stream: index, kind: 'audio', ...clocks.audio });
      shard.streamsKnown.add(index);
      this.#retarget(index);
    }
    const id = ++this.#nextPeer;
    return new Promise<ShardPeer>((resolve, reject) => {
      const timer = setTimeout(() => {
        shard.answers.delete(id);
        shard.send({ t: 'close', id });
        reject(new WhepdError('SHARD_TIMEOUT', 504, 'the shard did not answer in time'));
      }, this.#net.gatheringTimeoutMs + ANSWER_SLACK_MS);
      shard.answers.set(id, {
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      shard.send({ t: 'answer', id, stream: index, offer, plan, ids });
    });
  }

  #link(shard: Shard) {
    return {
      addCandidate: (id: number, candidate: string, mid: string) =>
        new Promise<string | undefined>((resolve) => {
          if (shard.exited) return resolve(undefined);
          const req = ++this.#nextReq;
          shard.candidates.set(req, resolve);
          shard.send({ t: 'candidate', id, req, candidate, mid });
        }),
      closePeer: (id: number) => {
        if (shard.peers.delete(id)) shard.send({ t: 'close', id });
      },
    };
  }

  // Shards that know a stream keep getting its packets, viewers or not, so the history of the
  // next viewer's shard holds the keyframe it may replay.
  #retarget(index: number): void {
    const delivery = this.#deliveries[index];
    if (delivery) delivery.targets = this.#shards.filter((s) => !s.exited && s.socket && s.streamsKnown.has(index)).map((s) => s.socket as Socket);
  }

  #onMessage(shard: Shard, m: FromShard): void {
    switch (m.t) {
      case 'answered': {
        const pending = shard.answers.get(m.id);
        shard.answers.delete(m.id);
        if (!pending) {
          shard.send({ t: 'close', id: m.id });
          return;
        }
        const peer = new ShardPeer(m.id, m.sdp, m.remoteCandidates, this.#link(shard));
        shard.peers.set(m.id, peer);
        pending.resolve(peer);
        break;
      }
      case 'answerFailed': {
        const pending = shard.answers.get(m.id);
        shard.answers.delete(m.id);
        pending?.reject(errorFromWire(m.error));
        break;
      }
      case 'candidateDone':
        shard.candidates.get(m.req)?.(m.error);
        shard.candidates.delete(m.req);
        break;
      case 'state':
        shard.peers.get(m.id)?.stateChanged(m.state);
        break;
      case 'videoStarted':
        shard.peers.get(m.id)?.videoStarted();
        break;
      case 'closed':
        shard.peers.get(m.id)?.gone();
        break;
      case 'stats':
        for (const f of m.peers) shard.peers.get(f[0])?.figures(f);
        for (const f of m.streams) shard.figures.set(f[0], f);
        this.#sumFigures();
        break;
      case 'ready':
        break;
    }
  }

  #sumFigures(): void {
    this.#deliveries.forEach((delivery, index) => {
      const total = { out: { ...delivery.retired.out }, sent: delivery.retired.sent, missing: delivery.retired.missing };
      for (const s of this.#shards) {
        const f = s.figures.get(index);
        if (f) addFigures(total, f);
      }
      Object.assign(delivery.out, total.out);
      delivery.retransmits.sent = total.sent;
      delivery.retransmits.missing = total.missing;
    });
  }

  #onExit(shard: Shard, code: number | null, signal: NodeJS.Signals | null): void {
    shard.exited = true;
    shard.socket?.close();
    shard.socket = undefined;
    if (!this.#closed) this.#log.error({ shard: shard.index, code, signal, viewers: shard.peers.size }, 'shard process exited; its viewers are closed');
    this.#deliveries.forEach((delivery, index) => {
      const f = shard.figures.get(index);
      if (f) addFigures(delivery.retired, f);
    });
    shard.figures.clear();
    for (const pending of shard.answers.values()) pending.reject(new WhepdError('SHARD_EXITED', 503, 'the shard process exited', { retryAfter: 2 }));
    shard.answers.clear();
    for (const resolve of shard.candidates.values()) resolve(undefined);
    shard.candidates.clear();
    for (const peer of [...shard.peers.values()]) peer.gone();
    this.#deliveries.forEach((_, index) => this.#retarget(index));
    if (!this.#closed) {
      this.#restarts++;
      // A shard that died is replaced so the pool keeps its size.
      this.#spawn(shard.index, 15000).catch((err) => this.#log.error({ err, shard: shard.index }, 'shard restart failed'));
    }
  }

  /**
   * Closes every peer and ends the shard processes (SIGKILL by PID after a grace). Idempotent:
   * every caller gets the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const waits = this.#shards.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.exited || s.child.exitCode !== null) return resolve();
          const timer = setTimeout(() => {
            s.child.kill('SIGKILL');
            resolve();
          }, EXIT_GRACE_MS);
          s.child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          s.send({ t: 'exit' });
        }),
    );
    await Promise.all(waits);
  }
}
