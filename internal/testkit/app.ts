/** Test helpers: a real App on loopback with an ephemeral port, and readiness waits. */
import { App } from '../app/index.js';
import { parseConfig } from '../config/index.js';
import { silentLogger } from '../log/index.js';
import type { Logger } from '../log/index.js';

/** Config overrides merged over a loopback-only test config. */
export interface TestAppOptions {
  streams?: { id: string; input: string; loop?: boolean; video?: 'auto' | 'copy' | 'transcode'; inputArgs?: string[]; onDemand?: boolean; tokens?: string[]; stallTimeoutS?: number; idleTimeoutS?: number; startTimeoutS?: number; restartGraceS?: number; fallbackVideo?: 'vp8' | 'none' }[];
  limits?: { viewersPerStream?: number; viewersTotal?: number; pendingSessions?: number };
  webrtc?: Record<string, unknown>;
  ffmpeg?: Record<string, unknown>;
  http?: Record<string, unknown>;
  admin?: { token?: string };
  auth?: Record<string, unknown>;
  rateLimit?: { perSecond?: number; burst?: number };
  whep?: { requireIfMatch?: boolean };
  cluster?: { agentPort?: number; drainTimeoutS?: number };
  log?: Logger;
}

/** Starts a real whepd App (real FFmpeg, real UDP, real node-datachannel) on 127.0.0.1:0. */
export async function startTestApp(o: TestAppOptions = {}): Promise<App> {
  const config = parseConfig({
    http: { listen: '127.0.0.1:0', ...o.http },
    webrtc: { bindAddress: '127.0.0.1', iceServers: [], ...o.webrtc },
    limits: { viewersPerStream: 8, viewersTotal: 32, ...o.limits },
    log: { level: 'silent' },
    ffmpeg: { restartMinMs: 200, restartMaxMs: 2000, ...o.ffmpeg },
    admin: o.admin ?? {},
    auth: o.auth ?? {},
    rateLimit: o.rateLimit ?? {},
    whep: o.whep ?? {},
    cluster: o.cluster ?? {},
    streams: o.streams ?? [{ id: 'demo', input: 'fixtures/media/demo.mp4', loop: true }],
  });
  return App.start(config, o.log ?? silentLogger());
}

/** Polls until `cond()` holds; rejects after `timeoutMs` naming `what`. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until a stream of the app is live. */
export function waitLive(app: App, streamId: string, timeoutMs = 15000): Promise<void> {
  const s = app.streams.get(streamId);
  if (!s) throw new Error(`no stream ${streamId}`);
  return waitUntil(() => s.live, timeoutMs, `stream ${streamId} to be live (state ${s.state}, last error ${s.lastError})`);
}

/**
 * Lets a test process exit once its peers are closed. node-datachannel keeps native callbacks
 * referenced after peers close, and its cleanup() segfaults at exit when called after peers were
 * closed (0.33.4, seen here), so instead an unref'd timer ends the process if, and only if,
 * something native still holds it open. process.exit() keeps tap's exit code.
 */
export function releaseWebRtc(): void {
  setTimeout(() => process.exit(), 500).unref();
}
