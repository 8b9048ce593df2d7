/**
 * The HTTP side of the WHEP server-sent events extension (wish-wg webrtc-http-egress-events):
 * POST a JSON array of event names to a session's events URL (the 201's Link) to create an event
 * stream, GET its Location as `text/event-stream`, DELETE it to end it. Mounted inside
 * whepRoutes, so the same access control, rate limit, CORS and error edge apply.
 */
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { BadRequestError, NotFoundError } from '../errors/index.js';
import { bodyCap, bodyText, requireContentType } from './body.js';
import { OFFERED_EVENTS } from './event-stream.js';
import type { EventSink, WhepEventName } from './event-stream.js';
import type { SessionEvents } from './session-events.js';
import type { SessionRegistry } from './registry.js';
import type { StreamDirectory } from './types.js';
import type { WhepEnv } from './routes.js';

/** The Link relation of the extension. */
export const SSE_REL = 'urn:ietf:params:whep:ext:core:server-sent-events';

// A subscription names a handful of events; anything longer is not a subscription.
const MAX_SUBSCRIBE_BYTES = 1024;

/** The 201's Link header value for a session's events URL. */
export function eventsLink(streamId: string, sessionId: string): string {
  return `</whep/${encodeURIComponent(streamId)}/${sessionId}/events>; rel="${SSE_REL}"; events="${OFFERED_EVENTS.join(',')}"`;
}

/** Parses a subscription body: a non-empty JSON array of offered event names; 400 otherwise. */
export function parseSubscription(body: string): WhepEventName[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new BadRequestError('body is not JSON: POST a JSON array of event names, e.g. ["active","inactive"]');
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > 16) {
    throw new BadRequestError(`body must be a JSON array of 1 to 16 event names out of ${OFFERED_EVENTS.join(', ')}`);
  }
  const offered: readonly string[] = OFFERED_EVENTS;
  const out = new Set<WhepEventName>();
  for (const name of parsed) {
    if (typeof name !== 'string' || !offered.includes(name)) {
      throw new BadRequestError(`event ${JSON.stringify(name).slice(0, 40)} is not offered; whepd offers ${OFFERED_EVENTS.join(', ')}`);
    }
    out.add(name as WhepEventName);
  }
  return [...out];
}

/** What the event routes read. */
export interface EventRoutesOptions {
  streams: StreamDirectory;
  registry: SessionRegistry;
  events: SessionEvents;
}

/** Adds the extension's routes to the WHEP sub-app (after its access middlewares). */
export function addEventRoutes(app: Hono<WhepEnv>, o: EventRoutesOptions): void {
  const session = (streamId: string, resourceId: string) => {
    const found = o.registry.get(streamId, resourceId);
    if (!found) throw new NotFoundError(`no session ${resourceId} on stream ${streamId}`);
    return found;
  };
  const eventStream = (streamId: string, resourceId: string, id: string) => {
    const found = o.events.get(session(streamId, resourceId).id, id);
    if (!found) throw new NotFoundError(`no event stream ${id} on session ${resourceId}`);
    return found;
  };

  app.options('/whep/:stream/:resource/events', (c) => c.body(null, 204, { Allow: 'OPTIONS, POST', 'Accept-Post': 'application/json', 'Access-Control-Max-Age': '86400' }));
  app.options('/whep/:stream/:resource/events/:id', (c) => c.body(null, 204, { Allow: 'OPTIONS, GET, DELETE', 'Access-Control-Max-Age': '86400' }));

  app.post(
    '/whep/:stream/:resource/events',
    async (c, next) => {
      session(c.req.param('stream'), c.req.param('resource'));
      requireContentType(c, 'application/json');
      await next();
    },
    bodyCap(MAX_SUBSCRIBE_BYTES),
    async (c) => {
      const sess = session(c.req.param('stream'), c.req.param('resource'));
      const events = parseSubscription(await bodyText(c));
      const stream = o.streams.get(sess.streamId);
      if (!stream) throw new NotFoundError(`no stream named ${sess.streamId}`);
      const es = o.events.create(sess, stream, events);
      const location = `/whep/${encodeURIComponent(sess.streamId)}/${sess.id}/events/${es.id}`;
      return c.json({ events: [...es.events] }, 201, { Location: location });
    },
  );

  app.get('/whep/:stream/:resource/events/:id', (c) => {
    const sessionId = c.req.param('resource');
    const es = eventStream(c.req.param('stream'), sessionId, c.req.param('id'));
    if (c.req.method === 'HEAD') return c.body(null, 200, { 'Content-Type': 'text/event-stream' });
    // nginx buffers responses unless told not to; an event must reach the player when it happens.
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, (stream) =>
      new Promise<void>((resolve) => {
        const sink: EventSink = { write: (text) => stream.write(text), close: () => resolve() };
        stream.onAbort(() => {
          es.disconnected(sink);
          resolve();
        });
        es.connect(sink, o.events.greeting(sessionId, es));
      }),
    );
  });

  app.delete('/whep/:stream/:resource/events/:id', (c) => {
    eventStream(c.req.param('stream'), c.req.param('resource'), c.req.param('id')).close();
    return c.body(null, 200);
  });
}
