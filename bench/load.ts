/**
 * The load generator (its own process, forked by run.ts): N receiving WHEP viewers built on
 * internal/testkit's WhepClient, driven over IPC. It spreads the connects, records every packet
 * each viewer receives during the window into typed arrays, times extra joins, and matches its
 * arrivals against the tap's send stamps (analyze.ts).
 *
 * WhepClient stamps packets with Date.now() (1 ms resolution); arrivals are stored as
 * stamp + 0.5 ms, so each latency is within +-0.5 ms.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { WhepClient } from '../internal/testkit/whep-client.js';
import { spsSizeFromPayload } from '../internal/testkit/h264-sps.js';
import { analyze } from './analyze.js';
import type { DeliveryFigures, SentKind } from './analyze.js';
import { SeqLog } from './seq-log.js';
import { nowMs, summary } from './stats.js';

/** Requests run.ts sends. */
export type LoadRequest =
  | { type: 'connect'; endpoint: string; n: number; concurrency: number; timeoutMs: number }
  | { type: 'windowStart' }
  | { type: 'windowStop' }
  | { type: 'analyze'; sent: [SentKind, SentKind]; cutoff: number }
  | { type: 'joins'; endpoint: string; count: number; timeoutMs: number }
  | { type: 'close' };

/** Result of a connect request. */
export interface ConnectResult {
  type: 'connected';
  connected: number;
  failed: number;
  statuses: Record<string, number>;
  retries: number;
  postMs: { p50: number; p99: number; max: number; n: number };
  rampMs: number;
  withVideo: number;
}

/** Result of the window. */
export interface WindowResult {
  type: 'window';
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  cpuUs: number;
  stillConnected: number;
}

/** Result of the joins. */
export interface JoinResult {
  type: 'joins';
  postTo201Ms: { p50: number; p99: number; max: number; n: number };
  /** POST to the client's peer reporting connected (ICE and DTLS done), polled every 10 ms. */
  postToConnectedMs: { p50: number; p99: number; max: number; n: number };
  postToKeyframeMs: { p50: number; p99: number; max: number; n: number };
  /** NAL type of each join's first video packet (inside a STAP-A: 7 = SPS, the keyframe gate worked). */
  firstNal: number[];
  failed: number;
}

if (!process.send) throw new Error('load.ts is forked by bench/run.ts');
const reply = (m: unknown) => process.send!(m);

// POST timing: WhepClient gathers before it POSTs, so the POST itself is timed here.
const realFetch = globalThis.fetch;
const posts: { start: number; end: number; status: number }[] = [];
globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
  if (init?.method !== 'POST') return realFetch(input, init);
  const start = nowMs();
  const res = await realFetch(input, init);
  posts.push({ start, end: nowMs(), status: res.status });
  return res;
}) as typeof fetch;

interface Viewer {
  client: WhepClient;
  logs: [SeqLog, SeqLog];
  sawVideo: boolean;
}

const viewers: Viewer[] = [];
let recording = false;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
let windowCpu = process.cpuUsage();

// Every 100 ms, move what WhepClient collected into typed arrays and empty its arrays, so memory
// stays flat however long the run; outside the window the packets are only dropped.
const harvest = setInterval(() => {
  for (const v of viewers) {
    const kinds = [v.client.video, v.client.audio] as const;
    for (const k of [0, 1] as const) {
      const arr = kinds[k];
      if (k === 0 && arr.length > 0) v.sawVideo = true;
      if (recording) for (const p of arr) v.logs[k].push(p.seq, p.at + 0.5);
      arr.length = 0;
    }
  }
}, 100);

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function connect(m: Extract<LoadRequest, { type: 'connect' }>): Promise<ConnectResult> {
  const started = nowMs();
  const statuses: Record<string, number> = {};
  let failed = 0;
  let retries = 0;
  let next = 0;
  const firstPost = posts.length;
  // A few connects in flight with a short pause each, so the POSTs do not all land at once.
  const worker = async () => {
    while (next < m.n) {
      next++;
      try {
        const client = await withTimeout(WhepClient.connect({ endpoint: m.endpoint, keepPayloads: 0 }), m.timeoutMs, 'connect');
        const status = String(client.post?.status ?? 0);
        statuses[status] = (statuses[status] ?? 0) + 1;
        retries += client.attempts - 1;
        if (client.post?.status === 201 && client.pc.state() === 'connected') viewers.push({ client, logs: [new SeqLog(), new SeqLog()], sawVideo: false });
        else {
          failed++;
          await client.close();
        }
      } catch {
        failed++;
      }
      await sleep(25);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, m.concurrency) }, worker));
  // Every viewer should get video from the next keyframe (1 s GOP); wait for that, bounded.
  const deadline = Date.now() + 4000;
  const withVideo = () => viewers.filter((v) => v.sawVideo).length;
  while (withVideo() < viewers.length && Date.now() < deadline) await sleep(50);
  const postMs = summary(posts.slice(firstPost).map((p) => p.end - p.start));
  return { type: 'connected', connected: viewers.length, failed, statuses, retries, postMs, rampMs: nowMs() - started, withVideo: withVideo() };
}

async function joins(m: Extract<LoadRequest, { type: 'joins' }>): Promise<JoinResult> {
  const to201: number[] = [];
  const toConnected: number[] = [];
  const toKey: number[] = [];
  const firstNal: number[] = [];
  let failed = 0;
  for (let i = 0; i < m.count; i++) {
    // Joins land at different phases of the 1 s GOP.
    await sleep(250 + Math.floor(Math.random() * 750));
    let client: WhepClient | undefined;
    try {
      const before = posts.length;
      client = await withTimeout(WhepClient.connect({ endpoint: m.endpoint, keepPayloads: 1 }), m.timeoutMs, 'join');
      const connectedAt = nowMs();
      const post = posts[posts.length - 1];
      if (client.post?.status !== 201 || !post || posts.length === before) {
        failed++;
        continue;
      }
      to201.push(post.end - post.start);
      if (client.state === 'connected') toConnected.push(connectedAt - post.start);
      const c = client;
      await c.waitFor(() => c.video.length > 0, m.timeoutMs, 'first video packet');
      const first = c.video[0]!;
      toKey.push(first.at + 0.5 - post.start);
      // 7 when the packet carries an SPS (alone or in a STAP-A, possibly after an SEI), else its NAL type.
      firstNal.push(spsSizeFromPayload(first.payload) ? 7 : (first.payload[0] ?? 0) & 0x1f);
    } catch {
      failed++;
    } finally {
      await client?.close();
    }
  }
  return { type: 'joins', postTo201Ms: summary(to201), postToConnectedMs: summary(toConnected), postToKeyframeMs: summary(toKey), firstNal, failed };
}

process.on('message', (m: LoadRequest) => {
  void (async () => {
    switch (m.type) {
      case 'connect':
        reply(await connect(m));
        break;
      case 'windowStart':
        for (const v of viewers) for (const log of v.logs) log.clear();
        recording = true;
        loopDelay.reset();
        loopDelay.enable();
        windowCpu = process.cpuUsage();
        reply({ type: 'windowStarted' });
        break;
      case 'windowStop': {
        // Recording goes on until 'analyze', so late packets of the window still count as received.
        loopDelay.disable();
        const cpu = process.cpuUsage(windowCpu);
        const stillConnected = viewers.filter((v) => v.client.pc.state() === 'connected').length;
        const r: WindowResult = { type: 'window', loopDelayP99Ms: loopDelay.percentile(99) / 1e6, loopDelayMaxMs: loopDelay.max / 1e6, cpuUs: cpu.user + cpu.system, stillConnected };
        reply(r);
        break;
      }
      case 'analyze': {
        recording = false;
        const figures: DeliveryFigures = analyze(m.sent, viewers.map((v) => v.logs), m.cutoff);
        reply({ type: 'analyzed', figures });
        break;
      }
      case 'joins':
        reply(await joins(m));
        break;
      case 'close':
        clearInterval(harvest);
        await Promise.all(viewers.map((v) => withTimeout(v.client.close(), 3000, 'close').catch(() => undefined)));
        reply({ type: 'closed' });
        process.disconnect?.();
        break;
    }
  })().catch((err: unknown) => reply({ type: 'error', message: String((err as Error)?.stack ?? err) }));
});
process.on('disconnect', () => process.exit(0));
reply({ type: 'ready' });
