/**
 * Starts and stops the real whepd binary for one benchmark run: a temporary config (loopback
 * only, caps sized for the run, log level warn), readiness wait, /metrics scraping, and a
 * bounded stop by PID (SIGTERM, then SIGKILL; the FFmpeg child is killed by PID if it outlives it).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { freePort } from '../internal/testkit/process.js';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A running whepd. */
export interface WhepdHandle {
  child: ChildProcess;
  pid: number;
  url: string;
  logFile: string;
}

/** Options for {@link startWhepd}. */
export interface StartOptions {
  dir: string;
  source: string;
  viewers: number;
  ffmpegPath: string;
  env: NodeJS.ProcessEnv;
  /** Extra node flags, e.g. ["--cpu-prof", "--cpu-prof-dir", dir]. */
  nodeArgs?: string[];
  readyTimeoutMs: number;
  /** webrtc.shards: viewer peers in this many child processes (0: in whepd's process). */
  shards: number;
  /** The program to run instead of whepd (node arguments), e.g. the bare forwarder. */
  program?: string[];
  /** webrtc.udpPort: every viewer peer on this one UDP port (ICE UDP mux). */
  udpPort?: number;
}

/** Writes the config, spawns `node dist/cmd/whepd/main.js`, and waits until the stream is live. */
export async function startWhepd(o: StartOptions): Promise<WhepdHandle> {
  const port = await freePort();
  const config = {
    http: { listen: `127.0.0.1:${port}` },
    webrtc: { bindAddress: '127.0.0.1', iceServers: [], handshakeTimeoutMs: 20000, shards: o.shards, ...(o.udpPort !== undefined ? { udpPort: o.udpPort } : {}) },
    limits: { viewersPerStream: o.viewers + 50, viewersTotal: o.viewers + 50, pendingSessions: o.viewers + 50 },
    // Every load-generator peer comes from 127.0.0.1: the per-address limit would throttle the joins.
    rateLimit: { perSecond: 0 },
    log: { level: 'warn' },
    ffmpeg: { path: o.ffmpegPath },
    streams: [{ id: 'bench', input: o.source, loop: true, video: 'copy' }],
  };
  const file = join(o.dir, 'whepd.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const logFile = join(o.dir, 'whepd.log');
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), ...(o.program ?? ['dist/cmd/whepd/main.js']), '--config', file], {
    stdio: ['ignore', out, out],
    env: o.env,
  });
  if (!child.pid) throw new Error('whepd did not start');
  const handle: WhepdHandle = { child, pid: child.pid, url: `http://127.0.0.1:${port}`, logFile };
  const deadline = Date.now() + o.readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`whepd exited with ${child.exitCode}: ${tail(logFile)}`);
    if (Date.now() > deadline) {
      await stopWhepd(handle);
      throw new Error(`whepd's stream was not live within ${o.readyTimeoutMs} ms: ${tail(logFile)}`);
    }
    try {
      const res = await fetch(`${handle.url}/readyz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return handle;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
}

/** The last lines of a log file. */
export function tail(file: string, lines = 10): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops whepd: SIGTERM (it drains and exits, and writes a --cpu-prof profile), SIGKILL after
 * 8 s; then kills any of `orphans` (its FFmpeg) still alive by PID.
 */
export async function stopWhepd(h: WhepdHandle, orphans: number[] = []): Promise<void> {
  if (h.child.exitCode === null && h.child.signalCode === null) {
    const exited = new Promise<void>((resolve) => h.child.once('exit', () => resolve()));
    h.child.kill('SIGTERM');
    const timer = sleep(8000).then(() => 'timeout');
    if ((await Promise.race([exited.then(() => 'exited'), timer])) === 'timeout') {
      h.child.kill('SIGKILL');
      await Promise.race([exited, sleep(2000)]);
    }
  }
  for (const pid of orphans) {
    for (let i = 0; i < 20 && alive(pid); i++) await sleep(100);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
}

/** Selected series from GET /metrics (undefined when whepd does not expose them). */
export interface Scrape {
  eventLoopP99Ms?: number;
  eventLoopMaxMs?: number;
  rtpInPackets?: number;
}

/**
 * Scrapes /metrics. prom-client's event-loop histogram is reset on every scrape, so a scrape at
 * the window start and one at its end give the delay over the window.
 */
export async function scrapeMetrics(url: string): Promise<Scrape> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    if (res.status !== 200) return {};
    const one = (name: string) => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    let rtp: number | undefined;
    for (const m of text.matchAll(/^whepd_rtp_in_packets_total\{[^}]*\} ([0-9.e+-]+)$/gm)) rtp = (rtp ?? 0) + Number(m[1]);
    const p99 = one('whepd_process_nodejs_eventloop_lag_p99_seconds');
    const max = one('whepd_process_nodejs_eventloop_lag_max_seconds');
    const s: Scrape = {};
    if (p99 !== undefined) s.eventLoopP99Ms = p99 * 1000;
    if (max !== undefined) s.eventLoopMaxMs = max * 1000;
    if (rtp !== undefined) s.rtpInPackets = rtp;
    return s;
  } catch {
    return {};
  }
}
