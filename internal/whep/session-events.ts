/**
 * The event streams of every session (WHEP server-sent events extension), the per-stream watches
 * that feed them, one heartbeat for all, and planned reconnects: endWithReconnect() tells the
 * chosen sessions' players to POST again, then ends those sessions.
 */
import { NotFoundError, WhepdError } from '../errors/index.js';
import { EventStream, SSE_HEARTBEAT, sseEvent } from './event-stream.js';
import type { WhepEventName } from './event-stream.js';
import { StreamWatch } from './stream-watch.js';
import type { Session } from './session.js';
import type { SessionRegistry } from './registry.js';
import type { StreamSource } from './types.js';

/** Event streams a session may hold at once (a player needs one; a few cover tabs and retries). */
export const MAX_EVENT_STREAMS_PER_SESSION = 4;

/** Comment heartbeat interval: under the usual 30-60 s idle timeouts of proxies and load balancers. */
export const SSE_HEARTBEAT_MS = 15_000;

/** What SessionEvents needs. */
export interface SessionEventsOptions {
  registry: SessionRegistry;
  /** How long a session lives after its `reconnect` event (webrtc.reconnectDelayMs); read per call. */
  reconnectDelayMs: () => number;
  heartbeatMs?: number;
}

interface Entry {
  session: Session;
  watch: StreamWatch;
  streams: Map<string, EventStream>;
}

/** Every session's event streams. */
export class SessionEvents {
  readonly #o: SessionEventsOptions;
  readonly #bySession = new Map<string, Entry>();
  readonly #watches = new Map<StreamSource, StreamWatch>();
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(o: SessionEventsOptions) {
    this.#o = o;
  }

  /** Event streams open now, over all sessions. */
  get size(): number {
    let n = 0;
    for (const e of this.#bySession.values()) n += e.streams.size;
    return n;
  }

  /** Creates an event stream for `session` on `stream`; 429 past the per-session cap. */
  create(session: Session, stream: StreamSource, events: readonly WhepEventName[]): EventStream {
    if (this.#closed || session.closed) throw new NotFoundError(`no session ${session.id}`);
    let entry = this.#bySession.get(session.id);
    if (entry && entry.streams.size >= MAX_EVENT_STREAMS_PER_SESSION) {
      throw new WhepdError('TOO_MANY_EVENT_STREAMS', 429, `session ${session.id} already has ${MAX_EVENT_STREAMS_PER_SESSION} event streams: DELETE one first`);
    }
    if (!entry) {
      entry = { session, watch: this.#watch(stream), streams: new Map() };
      this.#bySession.set(session.id, entry);
      const e = entry;
      // Ended by its stream (FFmpeg exit or stall, without a grace window): say so before the end.
      session.once('streamEnded', () => {
        for (const es of e.streams.values()) es.send('inactive', {});
      });
      session.once('close', () => this.#forget(session.id));
    }
    const es = new EventStream(events);
    entry.streams.set(es.id, es);
    entry.watch.listeners.add(es);
    const e = entry;
    es.once('close', () => {
      e.streams.delete(es.id);
      e.watch.listeners.delete(es);
      this.#release(e.watch);
    });
    this.#startHeartbeat();
    return es;
  }

  /** Finds an event stream of a session. */
  get(sessionId: string, eventStreamId: string): EventStream | undefined {
    return this.#bySession.get(sessionId)?.streams.get(eventStreamId);
  }

  /** The text a new connection starts with: the current state first, then the viewer count. */
  greeting(sessionId: string, es: EventStream): string {
    const entry = this.#bySession.get(sessionId);
    if (!entry) return '';
    return entry.watch.greeting(es).filter((g) => es.events.has(g.event)).map((g) => sseEvent(g.event, g.data)).join('') || SSE_HEARTBEAT;
  }

  /**
   * Planned end of the sessions `filter` picks (now): each event stream subscribed to `reconnect`
   * gets it with the endpoint to POST again; sessions that had someone to tell close after
   * reconnectDelayMs, the others at once. Resolves with how many sessions were ended.
   */
  async endWithReconnect(filter: (s: Session) => boolean, reason: string): Promise<number> {
    const targets = this.#o.registry.list().filter(filter);
    const later: Session[] = [];
    for (const s of targets) {
      const entry = this.#bySession.get(s.id);
      let told = false;
      for (const es of entry?.streams.values() ?? []) {
        if (!es.connected || !es.events.has('reconnect')) continue;
        es.send('reconnect', { url: `/whep/${encodeURIComponent(s.streamId)}`, reason });
        told = true;
      }
      if (told) later.push(s);
      else s.close(reason);
    }
    if (later.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.#o.reconnectDelayMs()));
      for (const s of later) s.close(reason);
    }
    return targets.length;
  }

  #watch(stream: StreamSource): StreamWatch {
    let w = this.#watches.get(stream);
    if (!w) {
      w = new StreamWatch(stream);
      this.#watches.set(stream, w);
    }
    return w;
  }

  #release(w: StreamWatch): void {
    if (w.listeners.size > 0) return;
    w.close();
    this.#watches.delete(w.stream);
    if (this.#watches.size === 0 && this.#heartbeat) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
    }
  }

  #forget(sessionId: string): void {
    const entry = this.#bySession.get(sessionId);
    if (!entry) return;
    this.#bySession.delete(sessionId);
    for (const es of [...entry.streams.values()]) es.close();
    this.#release(entry.watch);
  }

  #startHeartbeat(): void {
    if (this.#heartbeat) return;
    this.#heartbeat = setInterval(() => {
      for (const e of this.#bySession.values()) for (const es of e.streams.values()) es.heartbeat();
    }, this.#o.heartbeatMs ?? SSE_HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  /** Ends every event stream (shutdown, after the sessions); idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#bySession.keys()]) this.#forget(id);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }
}
