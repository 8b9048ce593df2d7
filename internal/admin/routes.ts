/**
 * Operator endpoints: health and readiness probes, Prometheus metrics, and a bearer-token admin
 * API under /api (list streams and sessions, kick a session, restart a stream, drain). Refusals are
 * thrown as typed errors; the root app's one error handler answers them.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { Hono } from 'hono';
import { NotFoundError, OverloadedError, UnauthorizedError } from '../errors/index.js';
import type { StreamStatus } from '../stream/index.js';

/** A session as the admin API lists and kicks it. */
export interface AdminSession {
  readonly id: string;
  readonly streamId: string;
  readonly createdAt: number;
  readonly remoteAddress: string | undefined;
  readonly peerState: string;
  readonly bytesSent: number;
  readonly rttMs: number | undefined;
  readonly quality?: AdminReception | undefined;
  close(reason: string): void;
}

/** A viewer's reception from its RTCP, as the admin API shows it (webrtc's ViewerQuality fits). */
export interface AdminReception {
  video?: { fractionLost: number; packetsLost: number; jitterMs: number };
  audio?: { fractionLost: number; packetsLost: number; jitterMs: number };
  rttMs?: number;
  nacks: number;
  plis: number;
  receiverReports: number;
}

/** What the operator routes read and act on. */
export interface AdminRoutesOptions {
  streams(): StreamStatus[];
  sessions(): AdminSession[];
  /** Ends a kicked session; default close() at once (the app sends `reconnect` first). */
  endSession?(s: AdminSession, reason: string): void;
  restartStream(id: string): boolean;
  /** Prometheus exposition and its content type. */
  metrics(): Promise<{ body: string; contentType: string }>;
  /** Streams readiness waits for (always-on ones); default every stream. */
  readinessStreams?: () => string[];
  /** Bearer token for /api; without one, /api answers 401. */
  token?: string | undefined;
  /** Drain control behind /api/drain; absent, /api/drain is 404. */
  drain?: AdminDrain;
}

/** Taking the instance out of a cluster and back (the HAProxy agent says `drain` meanwhile). */
export interface AdminDrain {
  start(): void;
  /** False when the drain cannot be undone (whepd is shutting down). */
  stop(): boolean;
  state(): { draining: boolean; sessions: number };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Builds the operator sub-app; mount it at `/`. */
export function adminRoutes(o: AdminRoutesOptions): Hono {
  const app = new Hono();
  const text = { 'Content-Type': 'text/plain; charset=utf-8' };

  app.get('/healthz', (c) => c.body('ok\n', 200, text));

  app.get('/readyz', (c) => {
    const wanted = new Set(o.readinessStreams?.() ?? o.streams().map((s) => s.id));
    const notLive = o.streams().filter((s) => wanted.has(s.id) && s.state !== 'live');
    if (notLive.length === 0) return c.body('ready\n', 200, text);
    const lines = notLive.map((s) => `${s.id}: ${s.state}${s.lastError ? ` (${s.lastError})` : ''}`);
    return c.body(`not ready:\n${lines.join('\n')}\n`, 503, text);
  });

  app.get('/metrics', async (c) => {
    const m = await o.metrics();
    return c.body(m.body, 200, { 'Content-Type': m.contentType });
  });

  app.use('/api/*', async (c, next) => {
    if (!o.token) throw new UnauthorizedError('admin API disabled: set admin.token in the config');
    const header = c.req.header('authorization') ?? '';
    const given = /^Bearer (.+)$/i.exec(header)?.[1] ?? '';
    // Compare digests so the comparison time does not depend on where the strings differ.
    if (!timingSafeEqual(digest(given), digest(o.token))) {
      throw new UnauthorizedError('missing or wrong bearer token', { bearerError: 'invalid_token' });
    }
    return next();
  });

  app.get('/api/streams', (c) =>
    c.json(
      o.streams().map((s) => ({
        id: s.id,
        state: s.state,
        pid: s.pid ?? null,
        uptimeMs: s.uptimeMs,
        restarts: s.restarts,
        lastError: s.lastError ?? null,
        inputBitrateBps: s.inputBitrateBps,
        viewers: s.viewers,
        transcoding: s.transcoding ?? null,
      })),
    ),
  );

  app.get('/api/sessions', (c) => {
    const now = Date.now();
    return c.json(
      o.sessions().map((s) => ({
        id: s.id,
        stream: s.streamId,
        remoteAddress: s.remoteAddress ?? null,
        state: s.peerState,
        ageMs: now - s.createdAt,
        bytesSent: s.bytesSent,
        // The viewer's own LSR/DLSR round trip first; libdatachannel's figure when it has none.
        rttMs: s.quality?.rttMs ?? s.rttMs ?? null,
        quality: s.quality ?? null,
      })),
    );
  });

  app.delete('/api/sessions/:id', (c) => {
    const s = o.sessions().find((x) => x.id === c.req.param('id'));
    if (!s) throw new NotFoundError('no such session');
    if (o.endSession) o.endSession(s, 'kicked by the admin API');
    else s.close('kicked by the admin API');
    return c.body(null, 204);
  });

  // A rolling restart: POST, wait for sessions to fall (GET), then restart; or DELETE to undo.
  const drain = (): AdminDrain => {
    if (!o.drain) throw new NotFoundError('drain is not available');
    return o.drain;
  };
  app.get('/api/drain', (c) => c.json(drain().state()));
  app.post('/api/drain', (c) => {
    const d = drain();
    d.start();
    return c.json(d.state());
  });
  app.delete('/api/drain', (c) => {
    const d = drain();
    if (!d.stop()) throw new OverloadedError('SHUTTING_DOWN', 'whepd is shutting down: the drain cannot be undone');
    return c.json(d.state());
  });

  app.post('/api/streams/:id/restart', (c) => {
    if (!o.restartStream(c.req.param('id'))) throw new NotFoundError('no such stream, or it is not running');
    return c.body('restarting\n', 202, text);
  });

  return app;
}
