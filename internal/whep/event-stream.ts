/**
 * One event stream of the WHEP server-sent events extension (wish-wg webrtc-http-egress-events,
 * `urn:ietf:params:whep:ext:core:server-sent-events`): the events a client subscribed to, and at
 * most one open `text/event-stream` connection that they are written to. Events that happen
 * while no connection is open are dropped; the current state is resent on every connect.
 */
import { EventEmitter } from 'node:events';
import { newResourceId } from './session.js';

/** The events whepd offers, in the order the Link header lists them. */
export const OFFERED_EVENTS = ['active', 'inactive', 'viewercount', 'reconnect'] as const;

/** One of the offered events. */
export type WhepEventName = (typeof OFFERED_EVENTS)[number];

/** Where an event stream's text goes: one open GET (Hono's SSE stream, or a test's sink). */
export interface EventSink {
  /** Writes SSE text; resolves once the client took it. */
  write(text: string): Promise<unknown>;
  /** Ends the response. */
  close(): void;
}

// A client that stops reading must not make whepd queue text for it forever: events are a few a
// second at most, so this many unread writes means the reader is gone.
const MAX_UNREAD_WRITES = 32;

/** Formats one SSE event (WHATWG HTML, "Server-sent events": `event:` then one `data:` line). */
export function sseEvent(event: string, data: unknown): string {
  // JSON.stringify never emits a raw newline, so one data line always holds the whole payload.
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** An SSE comment: EventSource ignores it; proxies see traffic and keep the connection. */
export const SSE_HEARTBEAT = ': heartbeat\n\n';

/** A subscription; emits `close` once. */
export class EventStream extends EventEmitter {
  readonly id = newResourceId();
  readonly events: ReadonlySet<WhepEventName>;
  #sink: EventSink | undefined;
  #unread = 0;
  #reconnecting = false;
  #closed = false;

  constructor(events: readonly WhepEventName[]) {
    super();
    this.events = new Set(events);
  }

  /** True once close() ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True while a GET holds the stream open. */
  get connected(): boolean {
    return this.#sink !== undefined;
  }

  /** Takes a new connection (a reconnecting EventSource replaces its old one); `greeting` is written first. */
  connect(sink: EventSink, greeting: string): void {
    if (this.#closed) {
      sink.close();
      return;
    }
    this.#sink?.close();
    this.#sink = sink;
    this.#unread = 0;
    this.#write(greeting);
  }

  /** The connection `sink` went away (client closed it); a newer one is kept. */
  disconnected(sink: EventSink): void {
    if (this.#sink === sink) this.#sink = undefined;
  }

  /** Sends `event` if subscribed and connected; nothing follows a `reconnect` (the session is ending). */
  send(event: WhepEventName, data: unknown): void {
    if (this.#reconnecting || !this.events.has(event)) return;
    if (event === 'reconnect') this.#reconnecting = true;
    this.#write(sseEvent(event, data));
  }

  /** Sends a heartbeat comment if connected. */
  heartbeat(): void {
    this.#write(SSE_HEARTBEAT);
  }

  #write(text: string): void {
    const sink = this.#sink;
    if (!sink || text === '') return;
    if (this.#unread >= MAX_UNREAD_WRITES) {
      this.#sink = undefined;
      sink.close();
      return;
    }
    this.#unread++;
    sink.write(text).then(
      () => {
        if (this.#sink === sink) this.#unread--;
      },
      () => this.disconnected(sink),
    );
  }

  /** Ends the connection and the subscription; idempotent; emits `close` once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sink?.close();
    this.#sink = undefined;
    this.emit('close');
  }
}
