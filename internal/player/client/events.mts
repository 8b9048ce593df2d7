/**
 * The player's side of the WHEP server-sent events extension (wish-wg webrtc-http-egress-events):
 * subscribe with the URL from the 201's Link, then read the event stream with EventSource.
 */

import { parseLinks } from './links.mjs';

/** The Link relation of the extension. */
export const SSE_REL = 'urn:ietf:params:whep:ext:core:server-sent-events';

/** What the player does with each event. */
export interface EventHandlers {
  active(): void;
  inactive(): void;
  viewercount(n: number): void;
  /** whepd is ending the session on purpose: POST again at `url`. */
  reconnect(url: string): void;
}

/** The events URL and its offered events from a Link header value, if the server offers the extension. */
export function findEventsLink(link: string | null, base: string): { url: string; events: string[] } | undefined {
  const l = parseLinks(link).find((e) => e.params.get('rel') === SSE_REL);
  if (!l) return undefined;
  return { url: new URL(l.target, base).href, events: (l.params.get('events') ?? '').split(/[,\s]+/).filter(Boolean) };
}

/** An open subscription; close() ends it. */
export interface EventSubscription {
  close(): void;
}

/** Subscribes to the events the player uses that the server offers; resolves undefined when it refuses. */
export async function subscribe(eventsUrl: string, offered: readonly string[], h: EventHandlers): Promise<EventSubscription | undefined> {
  const wanted = ['active', 'inactive', 'viewercount', 'reconnect'].filter((e) => offered.length === 0 || offered.includes(e));
  const res = await fetch(eventsUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(wanted) });
  const location = res.headers.get('Location');
  if (res.status !== 201 || !location) return undefined;
  const source = new EventSource(new URL(location, eventsUrl).href);
  const json = (ev: Event): Record<string, unknown> => {
    try {
      return JSON.parse((ev as MessageEvent<string>).data) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  source.addEventListener('active', () => h.active());
  source.addEventListener('inactive', () => h.inactive());
  source.addEventListener('viewercount', (ev) => {
    const n = json(ev).viewercount;
    if (typeof n === 'number') h.viewercount(n);
  });
  source.addEventListener('reconnect', (ev) => {
    const url = json(ev).url;
    h.reconnect(typeof url === 'string' ? new URL(url, eventsUrl).href : '');
  });
  // The stream ends with the session (then its URL is 404): EventSource gives up by itself.
  return { close: () => source.close() };
}
