/**
 * The in-memory WHEP rig: whepRoutes() mounted as app.ts mounts it (root onError, CORS), with
 * small fakes of the interfaces whep/types.ts declares. Used by internal/whep/routes*.test.ts.
 */
import type { Test } from 'tap';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { silentLogger } from '../log/index.js';
import type { PeerState, PeerStats } from '../webrtc/index.js';
import type { StreamIdentity, StreamState, StreamViewer } from '../stream/index.js';
import { SessionRegistry, corsMiddleware, httpErrorHandler, whepRoutes } from '../whep/index.js';
import type { Caps, PeerFactory, SessionPeer, StartedSession, StreamSource, WhepRoutesOptions } from '../whep/index.js';

export const offer = readFileSync('fixtures/offers/chromium-recvonly-trickle.sdp', 'utf8');
export const noH264 = readFileSync('fixtures/offers/firefox-like-no-h264.sdp', 'utf8');
export const SDP = { 'Content-Type': 'application/sdp' };
export const FRAG = 'application/trickle-ice-sdpfrag';
export const ANSWER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

/** A stream that is live unless told otherwise; counts attached viewers. */
export class FakeStream extends EventEmitter implements StreamSource {
  readonly id: string;
  live = true;
  lastError: string | undefined;
  onDemand = false;
  readonly viewers = new Set<StreamViewer>();
  readonly identity: StreamIdentity = { videoSsrc: 1, audioSsrc: 2, cname: 'fake', mediaStreamId: 'fake' };
  constructor(id: string) {
    super();
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
export class FakePeer extends EventEmitter implements SessionPeer {
  readonly answerSdp = ANSWER;
  state: PeerState = 'new';
  closed = false;
  readonly videoReady = false;
  readonly candidates: { candidate: string; mid: string }[] = [];
  stats(): PeerStats {
    return { rtcpReceived: 0, bytesSent: 0, rttMs: undefined, videoReady: false, audioReady: false, remoteCandidateCount: this.candidates.length };
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
export interface Rig {
  request(path: string, init?: RequestInit): Promise<Response>;
  streams: Map<string, FakeStream>;
  registry: SessionRegistry;
  peers: FakePeer[];
  posts: { stream: string; status: number }[];
  /** PATCH and DELETE outcomes the observer saw. */
  others: { method: string; stream: string; status: number }[];
  started: StartedSession[];
  /** Next createPeer call rejects with this. */
  failNextPeer: Error | undefined;
}

/** Mounts whepRoutes as app.ts does; `o` overrides options, `caps` the registry's caps. */
export function rig(t: Test, o: Partial<WhepRoutesOptions> = {}, caps: Partial<Caps> = {}, corsOrigins = ['*']): Rig {
  const streams = new Map([['demo', new FakeStream('demo')], ['idle', Object.assign(new FakeStream('idle'), { live: false })]]);
  const registry = new SessionRegistry({ viewersPerStream: 8, viewersTotal: 100, ...caps });
  t.teardown(() => registry.closeAll('test over'));
  const r: Rig = {
    request: async (path, init) => app.request(path, init),
    streams,
    registry,
    peers: [],
    posts: [],
    others: [],
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
  app.use('*', corsMiddleware(corsOrigins));
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
      observer: { answered: (method, stream, status) => void (method === 'POST' ? r.posts : r.others).push({ stream, status, ...(method === 'POST' ? {} : { method }) }), sessionStarted: (s) => r.started.push(s) },
      ...o,
    }),
  );
  return r;
}

/** POSTs `body` (the trickle offer by default) to a stream. */
export const post = (r: Rig, stream = 'demo', body: RequestInit['body'] = offer, headers: Record<string, string> = SDP) =>
  r.request(`/whep/${stream}`, { method: 'POST', headers, body });

export async function withSession(t: Test, o: Partial<WhepRoutesOptions> = {}) {
  const r = rig(t, { maxCandidatesPerPatch: 3, ...o });
  const res = await post(r);
  const location = res.headers.get('location') ?? '';
  const etag = res.headers.get('etag') ?? '';
  const patch = (headers: Record<string, string>, body: string, path = location) => r.request(path, { method: 'PATCH', headers: { 'Content-Type': FRAG, ...headers }, body });
  return { r, location, etag, patch, peer: r.peers[0]! };
}

// The trickle offer's own credentials (a MediaMTX reader repeats them on every PATCH) and new ones.
export const OWN = 'a=ice-ufrag:2U8Q\r\na=ice-pwd:BhCItKYeHZONBzkCXBnmVaAM\r\n';
export const RESTART = 'a=ice-ufrag:new1\r\na=ice-pwd:newpasswordnewpassword12\r\n';
export const cand = (port: number) => `a=candidate:${port} 1 udp 2130706431 127.0.0.1 ${port} typ host`;
