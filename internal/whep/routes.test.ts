/**
 * The WHEP status matrix in memory: whepRoutes() mounted as app.ts mounts it (root onError, CORS),
 * with small fakes of the interfaces whep/types.ts declares. No FFmpeg, no socket, no real peer;
 * internal/app/whep-matrix.test.ts runs the same rows against a real App.
 */
import t from 'tap';
import type { Test } from 'tap';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { GatewayTimeoutError, RateLimitedError, UnauthorizedError } from '../errors/index.js';
import { silentLogger } from '../log/index.js';
import type { PeerState } from '../webrtc/index.js';
import type { StreamIdentity, StreamState, StreamViewer } from '../stream/index.js';
import { corsMiddleware } from './cors.js';
import { httpErrorHandler } from './http-errors.js';
import { SessionRegistry } from './registry.js';
import type { Caps } from './registry.js';
import { whepRoutes } from './routes.js';
import type { WhepRoutesOptions } from './routes.js';
import type { PeerFactory, SessionPeer, StartedSession, StreamSource } from './types.js';

const offer = readFileSync('fixtures/offers/chromium-recvonly-trickle.sdp', 'utf8');
const noH264 = readFileSync('fixtures/offers/firefox-like-no-h264.sdp', 'utf8');
const SDP = { 'Content-Type': 'application/sdp' };
const FRAG = 'application/trickle-ice-sdpfrag';
const ANSWER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

/** A stream that is live unless told otherwise; counts attached viewers. */
class FakeStream implements StreamSource {
  readonly id: string;
  live = true;
  lastError: string | undefined;
  onDemand = false;
  readonly viewers = new Set<StreamViewer>();
  readonly identity: StreamIdentity = { videoSsrc: 1, audioSsrc: 2, cname: 'fake', mediaStreamId: 'fake' };
  constructor(id: string) {
    this.id = id;
  }
  get state(): StreamState {
    return this.live ? 'live' : 'starting';
  }
  get viewerCount(): number {
    return this.viewers.size;
  }
  attach(viewer: StreamViewer): () => void {
    this.viewers.add(viewer);
    return () => this.viewers.delete(viewer);
  }
}

/** A peer that answers at once and records trickled candidates. */
class FakePeer extends EventEmitter implements SessionPeer {
  readonly answerSdp = ANSWER;
  state: PeerState = 'new';
  closed = false;
  readonly videoReady = false;
  readonly audioReady = false;
  readonly rtcpReceived = 0;
  readonly bytesSent = 0;
  readonly rttMs = undefined;
  readonly candidates: { candidate: string; mid: string }[] = [];
  get remoteCandidateCount(): number {
    return this.candidates.length;
  }
  sendVideo(): void {}
  sendAudio(): void {}
  addRemoteCandidate(candidate: string, mid: string): void {
    this.candidates.push({ candidate, mid });
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

/** Everything a test can poke at, around one mounted whepRoutes(). */
interface Rig {
  request(path: string, init?: RequestInit): Promise<Response>;
  streams: Map<string, FakeStream>;
  registry: SessionRegistry;
  peers: FakePeer[];
  posts: { stream: string; status: number }[];
  started: StartedSession[];
  /** Next createPeer call rejects with this. */
  failNextPeer: Error | undefined;
}

/** Mounts whepRoutes as app.ts does; `o` overrides options, `caps` the registry's caps. */
function rig(t: Test, o: Partial<WhepRoutesOptions> = {}, caps: Partial<Caps> = {}): Rig {
  const streams = new Map([['demo', new FakeStream('demo')], ['idle', Object.assign(new FakeStream('idle'), { live: false })]]);
  const registry = new SessionRegistry({ viewersPerStream: 8, viewersTotal: 100, ...caps });
  t.teardown(() => registry.closeAll('test over'));
  const r: Rig = {
    request: (path, init) => app.request(path, init),
    streams,
    registry,
    peers: [],
    posts: [],
    started: [],
    failNextPeer: undefined,
  };
  const createPeer: PeerFactory = async () => {
    const err = r.failNextPeer;
    r.failNextPeer = undefined;
    if (err) throw err;
    const peer = new FakePeer();
    r.peers.push(peer);
    return peer;
  };
  const app = new Hono();
  app.onError(httpErrorHandler(silentLogger()));
  app.use('*', corsMiddleware(['*']));
  app.route(
    '/',
    whepRoutes({
      streams: { get: (id) => streams.get(id), list: () => [...streams.values()] },
      registry,
      createPeer,
      iceServers: [],
      maxBodyBytes: 64 * 1024,
      timers: { handshakeTimeoutMs: 60_000, disconnectGraceMs: 60_000 },
      log: silentLogger(),
      observer: { postAnswered: (stream, status) => r.posts.push({ stream, status }), sessionStarted: (s) => r.started.push(s) },
      ...o,
    }),
  );
  return r;
}

t.test('whepRoutes() counts every POST outcome, 401 and 429 included (defect 3)', async (t) => {
  const locked = rig(t, { authorize: async () => Promise.reject(new UnauthorizedError('no token')) });
  t.equal((await locked.request('/whep/demo', { method: 'POST', headers: SDP, body: offer })).status, 401);
  t.same(locked.posts, [{ stream: 'demo', status: 401 }], 'a 401 is counted');
  const limited = rig(t, { rateLimit: () => { throw new RateLimitedError('too many requests from this address'); } });
  t.equal((await limited.request('/whep/demo', { method: 'POST', headers: SDP, body: offer })).status, 429);
  t.same(limited.posts, [{ stream: 'demo', status: 429 }], 'a 429 is counted');
  const open = rig(t);
  t.equal((await open.request('/whep/demo', { method: 'POST', headers: SDP, body: offer })).status, 201);
  t.equal((await open.request('/whep/nope', { method: 'POST', headers: SDP, body: offer })).status, 404);
  t.same(open.posts, [{ stream: 'demo', status: 201 }, { stream: 'nope', status: 404 }]);
  t.equal(open.started.length, 1, 'the observer saw the one session');
});
