/**
 * WHEP HTTP routes (draft-ietf-wish-whep; RFC 9725 rules for PATCH/DELETE): POST an offer to
 * /whep/:stream, PATCH trickle ICE and DELETE on the session URL it returns.
 */
import { Hono } from 'hono';
import type { Logger } from 'pino';
import {
  BadRequestError,
  NotFoundError,
  OverloadedError,
  StreamNotLiveError,
} from '../errors/index.js';
import { planAnswer, iceServerLinks, turnIceServer } from '../webrtc/index.js';
import type { IceServerInput, TurnRestOptions } from '../webrtc/index.js';
import { bodyCap, bodyText, requireContentType } from './body.js';
import { checkPatchPrecondition } from './patch-precondition.js';
import { parseSdpFragment } from './sdpfrag.js';
import { Session, newResourceId } from './session.js';
import type { SessionTimers } from './session.js';
import type { SessionRegistry } from './registry.js';
import type { PeerFactory, StreamDirectory, WhepObserver } from './types.js';
import { clientAddress, whepStreamOf } from './client-address.js';
import { addEventRoutes, eventsLink } from './event-routes.js';
import type { SessionEvents } from './session-events.js';

/** Everything the WHEP routes need. */
export interface WhepRoutesOptions {
  streams: StreamDirectory;
  registry: SessionRegistry;
  createPeer: PeerFactory;
  iceServers: readonly IceServerInput[];
  /** A TURN server sharing a secret with whepd: each answer (and plain OPTIONS) gets fresh credentials. */
  turn?: TurnRestOptions;
  maxBodyBytes: number;
  timers: SessionTimers;
  log: Logger;
  /** True while draining (taken out of a cluster, or shutting down): new sessions get 503. */
  isDraining?: () => boolean;
  /** Candidates accepted in one PATCH. */
  maxCandidatesPerPatch?: number;
  /** Metrics hooks. */
  observer?: WhepObserver;
  /** Bearer-token check per stream (401); absent = open. */
  authorize?: (streamId: string, authorization: string | undefined) => Promise<void>;
  /** Per-client rate limit on POST, PATCH and DELETE (429). */
  rateLimit?: (clientKey: string) => void;
  /** True: a PATCH without If-Match gets 428 (whep.requireIfMatch). Read per request, so a reload applies it. */
  requireIfMatch?: () => boolean;
  /** The server-sent events extension (its Link on every 201, its routes); absent = not offered. */
  events?: SessionEvents;
}

const SDP = 'application/sdp';
const SDPFRAG = 'application/trickle-ice-sdpfrag';

/** Per-request values the POST middlewares hand on. */
export interface WhepEnv {
  Variables: { requestStart: number };
}

/** Builds the WHEP sub-app; mount it at `/` on a root app whose onError is httpErrorHandler. */
export function whepRoutes(o: WhepRoutesOptions): Hono<WhepEnv> {
  const app = new Hono<WhepEnv>();
  const log = o.log;
  const staticLinks = iceServerLinks(o.iceServers);
  // The static servers, plus the TURN server with a credential minted for `id` (never the secret).
  const links = (id: string): string[] => (o.turn ? [...staticLinks, ...iceServerLinks([turnIceServer(o.turn, id)])] : staticLinks);
  const maxCandidates = o.maxCandidatesPerPatch ?? 64;

  // Count every POST, PATCH and DELETE outcome, errors included (the error handler has produced
  // c.res by now). Registered first, so the 401s and 429s of the access middleware are counted too.
  app.use('/whep/*', async (c, next) => {
    const method = c.req.method;
    if (!o.observer || (method !== 'POST' && method !== 'PATCH' && method !== 'DELETE')) return next();
    // Event stream requests (/whep/<stream>/<session>/events...) are not WHEP POSTs or DELETEs.
    if (c.req.path.split('/').length > 4) return next();
    const streamId = whepStreamOf(c.req.path) ?? '';
    const started = performance.now();
    await next();
    o.observer.answered(method, streamId, c.res.status, performance.now() - started);
  });

  // Access control and rate limiting on every WHEP request but the CORS preflight.
  app.use('/whep/*', async (c, next) => {
    const method = c.req.method;
    if (method !== 'OPTIONS') {
      if (o.rateLimit && (method === 'POST' || method === 'PATCH' || method === 'DELETE')) o.rateLimit(clientAddress(c) ?? 'unknown');
      if (o.authorize) await o.authorize(whepStreamOf(c.req.path) ?? '', c.req.header('authorization'));
    }
    return next();
  });

  const mayHaveIceServers = async (streamId: string, authorization: string | undefined): Promise<boolean> => {
    if (!o.authorize) return true;
    try {
      await o.authorize(streamId, authorization);
      return true;
    } catch {
      // no token or a wrong one: the OPTIONS still answers, only without the servers' credentials
      return false;
    }
  };

  const stream = (id: string) => {
    const s = o.streams.get(id);
    if (!s) throw new NotFoundError(`no stream named ${id}`);
    return s;
  };

  // A CORS preflight (it carries Access-Control-Request-Method) is answered without credentials
  // of any kind. A plain OPTIONS also gets the ICE servers (RFC 9725 section 4.6 allows it; it is
  // where MediaMTX's reader looks for TURN servers), behind auth only with a valid token.
  app.options('/whep/:stream', async (c) => {
    const s = stream(c.req.param('stream'));
    const headers = new Headers({ Allow: 'OPTIONS, GET, HEAD, POST', 'Accept-Post': SDP, 'Access-Control-Max-Age': '86400' });
    if (c.req.header('access-control-request-method') === undefined && (staticLinks.length > 0 || o.turn) && (await mayHaveIceServers(s.id, c.req.header('authorization')))) {
      for (const l of links(newResourceId())) headers.append('Link', l);
    }
    return new Response(null, { status: 204, headers });
  });

  // Hono serves HEAD through the GET route. HEAD answers 200 with the SDP media type (what a
  // POST would return); GET has nothing to return.
  app.get('/whep/:stream', (c) => {
    stream(c.req.param('stream'));
    if (c.req.method === 'HEAD') return c.body(null, 200, { 'Content-Type': SDP, 'Accept-Post': SDP });
    return c.body(null, 204, { 'Accept-Post': SDP });
  });

  // 404, then 415, then 413 (bodyCap), then what the body says: the order docs/whep.md gives.
  const limit = bodyCap(o.maxBodyBytes);
  app.post(
    '/whep/:stream',
    async (c, next) => {
      c.set('requestStart', performance.now());
      stream(c.req.param('stream'));
      requireContentType(c, SDP);
      await next();
    },
    limit,
    async (c) => {
      const requestStart = c.get('requestStart');
      const s = stream(c.req.param('stream'));
      const offer = await bodyText(c);
      if (!offer.trim()) throw new BadRequestError('empty body: POST an SDP offer');
      const plan = planAnswer(offer, { vp8: s.fallback !== undefined });
      if (o.isDraining?.()) throw new OverloadedError('DRAINING', 'whepd is draining (shutting down or taken out of service): no new sessions here');
      // A player without H264 gets the stream's VP8 encoding: its media, under this stream's name and caps.
      const src = plan.video.codec === 'vp8' && s.fallback ? s.fallback : s;
      const encoding = src === s ? '' : ' (its VP8 encoding)';
      if (!src.live && src.onDemand && src.demand) await src.demand();
      if (!src.live) {
        const why = src.lastError ? `: ${src.lastError}` : '';
        throw new StreamNotLiveError(`stream ${s.id}${encoding} is not live yet${why}`);
      }
      const slot = o.registry.reserve(s.id);
      let session: Session;
      try {
        const ids = src.identity;
        const peer = await o.createPeer(offer, plan, {
          video: { ssrc: ids.videoSsrc, cname: ids.cname, streamId: ids.mediaStreamId, trackId: `${ids.mediaStreamId}-video` },
          audio: { ssrc: ids.audioSsrc, cname: ids.cname, streamId: ids.mediaStreamId, trackId: `${ids.mediaStreamId}-audio` },
        }, { id: src.id, media: src.media });
        session = new Session({ streamId: s.id, plan, peer, timers: o.timers, log, requestStart, remoteAddress: clientAddress(c) });
      } catch (err) {
        slot.release();
        throw err;
      }
      o.registry.add(session, slot);
      if (!src.live) {
        session.close('stream went down during negotiation');
        throw new StreamNotLiveError(`stream ${s.id}${encoding} went down during negotiation`);
      }
      session.attached(src.attach(session));
      o.observer?.sessionStarted(session);
      const headers = new Headers({
        'Content-Type': SDP,
        Location: `/whep/${encodeURIComponent(s.id)}/${session.id}`,
        ETag: session.etag,
      });
      for (const l of links(session.id)) headers.append('Link', l);
      if (o.events) headers.append('Link', eventsLink(s.id, session.id));
      return new Response(session.answerSdp, { status: 201, headers });
    },
  );

  const session = (streamId: string, resourceId: string) => {
    const found = o.registry.get(streamId, resourceId);
    if (!found) throw new NotFoundError(`no session ${resourceId} on stream ${streamId}`);
    return found;
  };

  app.options('/whep/:stream/:resource', (c) => c.body(null, 204, { Allow: 'OPTIONS, PATCH, DELETE', 'Access-Control-Max-Age': '86400' }));

  app.patch(
    '/whep/:stream/:resource',
    async (c, next) => {
      session(c.req.param('stream'), c.req.param('resource'));
      requireContentType(c, SDPFRAG);
      await next();
    },
    limit,
    async (c) => {
      const sess = session(c.req.param('stream'), c.req.param('resource'));
      const body = await bodyText(c);
      const frag = parseSdpFragment(body, maxCandidates);
      // 428/412/422: a trickle needs no If-Match unless configured; only new credentials restart ICE.
      checkPatchPrecondition({
        ifMatch: c.req.header('if-match'),
        etag: sess.etag,
        requireIfMatch: o.requireIfMatch?.() ?? false,
        session: sess.plan,
        fragment: frag,
      });
      const defaultMid = sess.plan.video.mid;
      await sess.addCandidates(frag.candidates.map((cand) => ({ candidate: cand.candidate, mid: cand.mid ?? defaultMid })));
      return c.body(null, 204);
    },
  );

  app.delete('/whep/:stream/:resource', (c) => {
    const found = o.registry.get(c.req.param('stream'), c.req.param('resource'));
    if (!found) return c.body(null, 204);
    found.close('client sent DELETE');
    return c.body(null, 200);
  });

  if (o.events) addEventRoutes(app, { streams: o.streams, registry: o.registry, events: o.events });

  return app;
}
