/**
 * What the event streams of one stream's sessions hear from it: `active` / `inactive` when it goes
 * live or stops, and `viewercount` at most once a second. One watch per stream, however many
 * event streams listen, so a burst of joins costs one timer, not one message per listener.
 */
import type { StreamState } from '../stream/index.js';
import type { EventStream } from './event-stream.js';
import type { StreamSource } from './types.js';

/** Minimum spacing of `viewercount` events (the events draft's "on change", throttled). */
export const VIEWERCOUNT_INTERVAL_MS = 1000;

/** Listens to one stream while it has listeners; close() unsubscribes. */
export class StreamWatch {
  readonly stream: StreamSource;
  readonly listeners = new Set<EventStream>();
  #active: boolean;
  #sentCount = -1;
  #sentAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #onState = (s: StreamState): void => this.#stateChanged(s === 'live');
  readonly #onViewers = (): void => this.#viewersChanged();

  constructor(stream: StreamSource) {
    this.stream = stream;
    this.#active = stream.live;
    stream.on('state', this.#onState);
    stream.on('viewers', this.#onViewers);
  }

  /** The SSE text a new connection starts with: the current state, then the current count. */
  greeting(es: EventStream): { event: 'active' | 'inactive' | 'viewercount'; data: unknown }[] {
    const out: { event: 'active' | 'inactive' | 'viewercount'; data: unknown }[] = [{ event: this.stream.live ? 'active' : 'inactive', data: {} }];
    if (es.events.has('viewercount')) out.push({ event: 'viewercount', data: { viewercount: this.stream.viewerCount } });
    return out;
  }

  #stateChanged(active: boolean): void {
    // starting -> failed -> starting are all "not delivering": one `inactive`, not three.
    if (active === this.#active) return;
    this.#active = active;
    for (const es of this.listeners) es.send(active ? 'active' : 'inactive', {});
  }

  #viewersChanged(): void {
    if (this.#timer) return;
    const wait = this.#sentAt + VIEWERCOUNT_INTERVAL_MS - Date.now();
    if (wait <= 0) this.#sendCount();
    else {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#sendCount();
      }, wait);
      this.#timer.unref();
    }
  }

  #sendCount(): void {
    if (this.#closed) return;
    const n = this.stream.viewerCount;
    if (n === this.#sentCount) return;
    this.#sentCount = n;
    this.#sentAt = Date.now();
    for (const es of this.listeners) es.send('viewercount', { viewercount: n });
  }

  /** Stops listening; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.stream.off('state', this.#onState);
    this.stream.off('viewers', this.#onViewers);
    this.listeners.clear();
  }
}
