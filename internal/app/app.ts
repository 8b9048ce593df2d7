/**
 * Composition root: the only module that reads the whole config. Builds the shard pool, the
 * streams, the session registry and the HTTP server; closes in phases (see close()).
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import type { ServerType } from '@hono/node-server';
import type { Logger } from 'pino';
import { parseListen } from '../config/index.js';
import type { Config, StreamConfig } from '../config/index.js';

/** What a reload changed. */
export interface ReloadResult {
  added: string[];
  removed: string[];
  restarted: string[];
  kept: string[];
  /** Config sections that changed but only take effect after a restart. */
  needsRestart: string[];
}
import { LocalDelivery } from '../stream/index.js';
import { LiveStream } from './live-stream.js';
import { fallbackStreamId, fallbackStreamOptions, hasVp8Fallback, liveStreamOptions, peerNetwork, resolveAdvertised } from './options.js';
import { ViewerPeer } from '../webrtc/index.js';
import { SessionEvents, SessionRegistry, corsMiddleware, httpErrorHandler, whepRoutes } from '../whep/index.js';
import type { PeerFactory, Session, StreamDirectory } from '../whep/index.js';
import { playerRoutes } from '../player/index.js';
import { adminRoutes } from '../admin/index.js';
import { Metrics } from '../metrics/index.js';
import { Authorizer, RateLimiter } from '../auth/index.js';
import { ShardPool } from '../shard/index.js';
import { AgentServer, agentLine, waitForSessionsToLeave } from '../cluster/index.js';

/** A running whepd. Emits `close` once. */
export class App extends EventEmitter {
  config: Config;
  readonly streams: ReadonlyMap<string, LiveStream>;
  readonly registry: SessionRegistry;
  /** Event streams of the WHEP server-sent events extension, and planned reconnects. */
  readonly events: SessionEvents;
  readonly http: Hono;
  readonly metrics: Metrics;
  readonly #log: Logger;
  /** Shard processes holding the viewers' peers, when webrtc.shards > 0. */
  readonly shards: ShardPool | undefined;
  #authorizer: Authorizer;
  #rateLimiter: RateLimiter;
  #server: ServerType | undefined;
  #agent: AgentServer | undefined;
  #draining = false;
  #shuttingDown = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Streams a reload took out of `streams` whose viewers are still being told to reconnect. */
  readonly #retiring = new Set<LiveStream>();

  private constructor(config: Config, log: Logger, shards: ShardPool | undefined, advertised: readonly string[]) {
    super();
    this.config = config;
    this.#log = log;
    this.shards = shards;
    const streams = new Map<string, LiveStream>();
    for (const s of config.streams) streams.set(s.id, this.#buildStream(s, config));
    this.streams = streams;
    this.registry = new SessionRegistry(config.limits);
    this.events = new SessionEvents({ registry: this.registry, reconnectDelayMs: () => this.config.webrtc.reconnectDelayMs });
    const directory: StreamDirectory = { get: (id) => streams.get(id), list: () => [...streams.values()] };
    const w = config.webrtc;
    const net = peerNetwork(config, advertised);
    const createPeer: PeerFactory = (offer, plan, ids, stream) =>
      shards ? shards.createPeer(stream.id, offer, plan, ids) : ViewerPeer.answer(offer, plan, ids, stream.media, net);
    this.#authorizer = App.#buildAuthorizer(config);
    this.#rateLimiter = new RateLimiter(config.rateLimit);
    this.metrics = new Metrics({
      streams: () => [...streams.values()].map((s) => s.status()),
      viewers: () => this.registry.list(),
      ...(shards ? { shards: () => ({ viewers: shards.load, restarts: shards.restarts }) } : {}),
      draining: () => this.#draining,
    });
    const http = new Hono();
    // One error handler for every route (WHEP, admin, player, metrics): typed errors map to their
    // status, everything goes through pino, and the sub-apps set none of their own.
    http.onError(httpErrorHandler(log.child({ component: 'http' })));
    http.use('*', corsMiddleware(config.http.corsOrigins));
    http.route(
      '/',
      adminRoutes({
        streams: () => [...streams.values()].map((s) => s.status()),
        sessions: () => this.registry.list(),
        endSession: (s, reason) => void this.endWithReconnect((x) => x.id === s.id, reason),
        restartStream: (id) => {
          const s = streams.get(id);
          if (!s?.pid) return false;
          s.restart();
          return true;
        },
        metrics: async () => ({ body: await this.metrics.render(), contentType: this.metrics.contentType }),
        token: config.admin.token,
        readinessStreams: () => [...streams.values()].filter((s) => !s.onDemand).map((s) => s.id),
        drain: { start: () => this.drain(), stop: () => this.undrain(), state: () => ({ draining: this.#draining, sessions: this.registry.total }) },
      }),
    );
    http.route(
      '/',
      whepRoutes({
        streams: directory,
        registry: this.registry,
        createPeer,
        iceServers: w.iceServers,
        ...(w.turn ? { turn: w.turn } : {}),
        maxBodyBytes: config.http.maxBodyBytes,
        timers: { handshakeTimeoutMs: w.handshakeTimeoutMs, disconnectGraceMs: w.disconnectGraceMs, rtcpTimeoutMs: w.rtcpTimeoutMs },
        log: log.child({ component: 'whep' }),
        isDraining: () => this.#draining,
        authorize: (id, header) => this.#authorizer.check(id, header),
        rateLimit: (key) => this.#rateLimiter.take(key),
        maxCandidatesPerPatch: config.limits.candidatesPerPatch,
        requireIfMatch: () => this.config.whep.requireIfMatch,
        events: this.events,
        observer: {
          // Unknown stream names share one label so clients cannot grow the label set.
          answered: (method, id, status, ms) => this.metrics.answered(method, streams.has(id) ? id : '_unknown', status, ms),
          sessionStarted: (session) => this.metrics.sessionStarted(session),
        },
      }),
    );
    http.route('/', playerRoutes({ listStreams: () => [...streams.values()].map((s) => ({ id: s.id, state: s.state, viewers: s.viewerCount, lastError: s.lastError })) }));
    http.notFound((c) => c.text('not found\n', 404));
    this.http = http;
  }

  static #buildAuthorizer(config: Config): Authorizer {
    return new Authorizer({
      tokens: config.auth.tokens,
      streamTokens: new Map(config.streams.map((s) => [s.id, s.tokens])),
      ...(config.auth.jwt ? { jwt: config.auth.jwt } : {}),
    });
  }

  #buildStream(s: StreamConfig, config: Config): LiveStream {
    // With shards the viewers' peers live there; the main process only relays.
    const delivery = (id: string) => (this.shards ? this.shards.delivery(id) : new LocalDelivery());
    const log = this.#log.child({ stream: s.id });
    const fallback = hasVp8Fallback(s) ? new LiveStream(fallbackStreamOptions(s, config, delivery(fallbackStreamId(s.id)), log)) : undefined;
    return new LiveStream({ ...liveStreamOptions(s, config, delivery(s.id), log), ...(fallback ? { fallback } : {}) });
  }

  /**
   * Applies a new config without a restart: streams that were added start, removed ones stop
   * (their viewers are torn down), changed ones restart, untouched ones keep their viewers.
   * Limits and whep apply at once; changes to http, webrtc or admin need a restart and are reported.
   * Rejects, changing nothing, once close() has started.
   */
  async reload(next: Config): Promise<ReloadResult> {
    // A SIGHUP during shutdown: streams built now would outlive close() with their FFmpeg.
    if (this.#closed) throw new Error('whepd is shutting down: config reload refused');
    const prev = this.config;
    const key = (s: StreamConfig, c: Config) => JSON.stringify([s, c.ffmpeg]);
    const before = new Map(prev.streams.map((s) => [s.id, key(s, prev)]));
    const result: ReloadResult = { added: [], removed: [], restarted: [], kept: [], needsRestart: [] };
    const streams = this.streams as Map<string, LiveStream>;
    const stopping: Promise<void>[] = [];
    for (const id of before.keys()) {
      if (next.streams.some((s) => s.id === id)) continue;
      const old = streams.get(id);
      streams.delete(id);
      if (old) stopping.push(this.#retire(old, 'the stream was removed from the config'));
      result.removed.push(id);
    }
    for (const s of next.streams) {
      const was = before.get(s.id);
      if (was === key(s, next)) {
        result.kept.push(s.id);
        continue;
      }
      const old = streams.get(s.id);
      if (old) {
        stopping.push(this.#retire(old, 'the stream was replaced by a reload with new settings'));
        result.restarted.push(s.id);
      } else result.added.push(s.id);
      const fresh = this.#buildStream(s, next);
      streams.set(s.id, fresh);
      if (!fresh.onDemand) fresh.start();
    }
    this.registry.setCaps(next.limits);
    this.#authorizer = App.#buildAuthorizer(next);
    this.#rateLimiter = new RateLimiter(next.rateLimit);
    this.#log.level = next.log.level;
    for (const section of ['http', 'webrtc', 'admin'] as const) {
      if (JSON.stringify(prev[section]) !== JSON.stringify(next[section])) result.needsRestart.push(section);
    }
    // The agent listener is bound once; drainTimeoutS is read at SIGTERM, so it applies at once.
    if (prev.cluster.agentPort !== next.cluster.agentPort) result.needsRestart.push('cluster');
    this.config = next;
    await Promise.all(stopping);
    return result;
  }

  /**
   * Ends a stream a reload took out: its viewers (those there now, not the new stream's) get
   * `reconnect` and end after webrtc.reconnectDelayMs, then the stream stops.
   */
  async #retire(old: LiveStream, message: string): Promise<void> {
    this.#retiring.add(old);
    await this.endWithReconnect((x) => x.streamId === old.id && !x.closed, `reload: ${message}`);
    old.close({ kind: 'stream-removed', message });
    await old.stopped();
    this.#retiring.delete(old);
  }

  /**
   * Planned end of the sessions `filter` picks: each event stream subscribed to `reconnect` is
   * told to POST again, and those sessions close after webrtc.reconnectDelayMs (the others at
   * once). Used by shutdown, reloads and admin kicks; a drain can call it too.
   */
  endWithReconnect(filter: (s: Session) => boolean, reason: string): Promise<number> {
    return this.events.endWithReconnect(filter, reason);
  }

  /** Builds everything, starts every stream, and listens. Rejects if the HTTP port cannot be bound. */
  static async start(config: Config, log: Logger): Promise<App> {
    const count = config.webrtc.shards;
    const advertised = await resolveAdvertised(config);
    const shards = count > 0 ? await ShardPool.start({ count, net: peerNetwork(config, advertised), log: log.child({ component: 'shard' }) }) : undefined;
    let app: App;
    try {
      app = new App(config, log, shards, advertised);
    } catch (err) {
      // E.g. a bad RS256 PEM: the shards already forked would otherwise keep running.
      await shards?.close();
      throw err;
    }
    for (const s of app.streams.values()) if (!s.onDemand) s.start();
    try {
      await app.#listen();
      await app.#listenAgent();
    } catch (err) {
      await app.close();
      throw err;
    }
    return app;
  }

  async #listen(): Promise<void> {
    const listen = parseListen(this.config.http.listen);
    if (!listen) throw new Error(`bad http.listen ${this.config.http.listen}`);
    await new Promise<void>((resolve, reject) => {
      const server = serve({ fetch: this.http.fetch, hostname: listen.host, port: listen.port }, () => resolve());
      server.once('error', reject);
      this.#server = server;
    });
    this.#server?.on('error', (err) => this.#log.error({ err }, 'HTTP server error'));
  }

  async #listenAgent(): Promise<void> {
    const port = this.config.cluster.agentPort;
    if (port === undefined) return;
    // The agent binds http.listen's host: whoever may reach the HTTP API may read the load figure.
    this.#agent = await AgentServer.listen({
      host: this.address.host,
      port,
      line: () => agentLine({ used: this.registry.total, total: this.config.limits.viewersTotal, draining: this.#draining }),
      log: this.#log.child({ component: 'agent' }),
    });
  }

  /** The bound agent-check address, when cluster.agentPort is set. */
  get agentAddress(): { host: string; port: number } | undefined {
    return this.#agent?.address;
  }

  /** True while draining: new POSTs get 503 and the agent says `drain`; sessions keep playing. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Starts draining (POST /api/drain, SIGTERM). Idempotent. */
  drain(): void {
    if (!this.#draining) this.#log.info({ sessions: this.registry.total }, 'draining: no new sessions; the agent says drain');
    this.#draining = true;
  }

  /** Stops draining (DELETE /api/drain); false once shutdown() or close() started: they drain for good. */
  undrain(): boolean {
    if (this.#shuttingDown || this.#closed) return false;
    if (this.#draining) this.#log.info('drain cancelled: taking new sessions again');
    this.#draining = false;
    return true;
  }

  /**
   * SIGTERM: drains, waits until every session has left or `drainTimeoutMs` passed
   * (cluster.drainTimeoutS by default; 0 closes at once), then close().
   */
  async shutdown(drainTimeoutMs = this.config.cluster.drainTimeoutS * 1000): Promise<void> {
    this.#shuttingDown = true;
    this.drain();
    if (drainTimeoutMs > 0 && this.registry.total > 0 && !this.#closed) {
      this.#log.info({ sessions: this.registry.total, drainTimeoutMs }, 'waiting for viewers to leave before closing');
      const empty = await waitForSessionsToLeave(() => this.registry.total, drainTimeoutMs, () => this.#closed);
      this.#log.info({ sessions: this.registry.total }, empty ? 'every viewer left' : 'drain timeout: closing the remaining sessions');
    }
    await this.close();
  }

  /** The bound HTTP address (port resolved when the config asked for 0). */
  get address(): { host: string; port: number } {
    const a = this.#server?.address() as AddressInfo | null | undefined;
    const listen = parseListen(this.config.http.listen);
    return { host: listen?.host ?? '127.0.0.1', port: a?.port ?? listen?.port ?? 0 };
  }

  /** Base URL for clients, e.g. http://127.0.0.1:8889 */
  get url(): string {
    const { host, port } = this.address;
    const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return `http://${h}:${port}`;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Shuts down in phases: refuse new sessions (503), tell players to reconnect (see
   * endWithReconnect) and close every session, stop every stream
   * (FFmpeg SIGTERM then SIGKILL), close the HTTP server. Idempotent; resolves when all is gone.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#draining = true;
    this.#agent?.close();
    await this.endWithReconnect(() => true, 'whepd is shutting down');
    // POSTs that were past the draining check when close() began
    this.registry.closeAll('whepd is shutting down');
    this.events.close();
    const streams = [...this.streams.values(), ...this.#retiring];
    for (const s of streams) s.close({ kind: 'shutdown', message: 'whepd is shutting down' });
    await Promise.all(streams.map((s) => s.stopped()));
    await this.shards?.close();
    const server = this.#server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    }
    this.emit('close');
  }
}
