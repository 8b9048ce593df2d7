/**
 * `make bench`: the fan-out benchmark. For each N it starts the real whepd on a looping 720p30
 * source (FFmpeg copies the video), a UDP tap in front of whepd's ingest (tap.ts), and a separate
 * load-generator process with N WHEP viewers (load.ts); it holds a steady window and prints one
 * JSON line per run, then a table, and refreshes `## Fan-out benchmark` in docs/performance.md.
 *
 * Env: BENCH_N=1,10,50,100,200  BENCH_SHARDS=0,2 (each N runs once per webrtc.shards value)
 * BENCH_BARE_N=100 (N values at which bench/bare.ts, a featureless forwarder on the same stack,
 * runs after whepd, so whepd's cost shows as a ratio measured in the same run; empty: none)
 * BENCH_UDP_MUX_N=100 (N values at which whepd also runs with webrtc.udpPort, every viewer on one UDP
 * socket, to compare with a port per viewer in the same run; empty: none)
 * BENCH_WINDOW_S=20  BENCH_JOINS=16  BENCH_PROFILE=1 (whepd runs
 * with --cpu-prof; figures then include the profiler's overhead)  BENCH_DOCS=0 (do not write docs).
 */
import { fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectResult, JoinResult, LoadRequest, WindowResult } from './load.js';
import type { DeliveryFigures, SentKind } from './analyze.js';
import type { TapDump, TapRequest } from './tap.js';
import { childPids, commOf, cpuMicros, machineCpu, machineInfo, mainThreadCpuMicros, rssBytes, udpDrops } from './proc.js';
import { startWhepd, scrapeMetrics, stopWhepd, tail } from './whepd.js';
import type { WhepdHandle } from './whepd.js';
import { ensureSource } from './source.js';
import { nowMs, round, summary } from './stats.js';
import { printTable, writeDocs } from './report.js';
import type { RunResult } from './report.js';
import { topFunctions } from './profile.js';

const ns = (process.env['BENCH_N'] ?? '1,10,50,100,200').split(',').map(Number).filter((n) => n > 0);
const shardCounts = (process.env['BENCH_SHARDS'] ?? '0,2').split(',').map(Number).filter((n) => n >= 0);
const bareNs = (process.env['BENCH_BARE_N'] ?? '100').split(',').map(Number).filter((n) => n > 0);
const muxNs = (process.env['BENCH_UDP_MUX_N'] ?? '100').split(',').map(Number).filter((n) => n > 0);
const windowS = Number(process.env['BENCH_WINDOW_S'] ?? 20);
const PROBE_VIEWERS = 4;
const joinsPerRun = Number(process.env['BENCH_JOINS'] ?? 16);
const profile = process.env['BENCH_PROFILE'] === '1';
const ffmpegPath = process.env['FFMPEG'] ?? 'ffmpeg';
const benchDir = resolve('bench');

/** A forked helper with a typed request/response over IPC, every wait bounded. */
class Helper {
  readonly child: ChildProcess;
  readonly #queue: ((m: { type: string }) => void)[] = [];

  constructor(file: string, args: string[]) {
    this.child = fork(join(benchDir, file), args, { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: { type: string }) => this.#queue.shift()?.(m));
  }

  /** Waits for the next message (after sending `req`, if given); rejects after `timeoutMs`. */
  async ask<T>(req: unknown, timeoutMs: number, what: string): Promise<T> {
    const p = new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${what}: helper exited (${code})`));
      const timer = setTimeout(() => {
        this.child.off('exit', onExit);
        reject(new Error(`${what}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.child.once('exit', onExit);
      this.#queue.push((m) => {
        clearTimeout(timer);
        this.child.off('exit', onExit);
        if (m.type === 'error') reject(new Error(`${what}: ${(m as unknown as { message: string }).message}`));
        else resolve(m as T);
      });
    });
    if (req !== undefined) this.child.send(req as object);
    return p;
  }

  /** Kills the helper by PID if it is still running. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

interface Sample {
  at: number;
  whepd: number;
  whepdMain: number;
  shards: number;
  ffmpeg: number;
  load: number;
  loadMain: number;
  /** The tap and this orchestrator. */
  harness: number;
  machine: { busy: number; total: number };
}

/** whepd's shard processes: its children other than FFmpeg (and tsx's esbuild, for bare.ts). */
function shardPids(whepd: number, ffmpeg: number | undefined): number[] {
  return childPids(whepd).filter((p) => p !== ffmpeg && commOf(p) !== 'ffmpeg' && commOf(p) !== 'esbuild');
}

const sum = (pids: readonly number[], read: (pid: number) => number | undefined) => pids.reduce((a, p) => a + (read(p) ?? 0), 0);

function sample(whepd: number, shards: readonly number[], ffmpeg: number | undefined, load: number, probe: number | undefined, tap: number): Sample {
  return {
    harness: (cpuMicros(tap) ?? 0) + (cpuMicros(process.pid) ?? 0),
    at: nowMs(),
    whepd: (cpuMicros(whepd) ?? 0) + sum(shards, cpuMicros),
    whepdMain: mainThreadCpuMicros(whepd) ?? 0,
    shards: sum(shards, cpuMicros),
    ffmpeg: ffmpeg ? (cpuMicros(ffmpeg) ?? 0) : 0,
    load: (cpuMicros(load) ?? 0) + (probe ? (cpuMicros(probe) ?? 0) : 0),
    loadMain: mainThreadCpuMicros(load) ?? 0,
    machine: machineCpu(),
  };
}

/** Polls GET /whep/<stream> (204) every 50 ms until stopped: the HTTP API's responsiveness. */
function pollHttp(url: string): { stop: () => Promise<number[]> } {
  const times: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        times.push(performance.now() - t0);
      } catch {
        times.push(2000);
      }
      await sleep(Math.max(0, 50 - (performance.now() - t0)));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return times;
    },
  };
}

const live: { whepd?: WhepdHandle; helpers: Helper[]; ffmpeg: number[] } = { helpers: [], ffmpeg: [] };

async function cleanup(): Promise<void> {
  for (const h of live.helpers) h.kill();
  live.helpers = [];
  if (live.whepd) await stopWhepd(live.whepd, live.ffmpeg);
  live.whepd = undefined;
  live.ffmpeg = [];
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    process.stderr.write(`bench: ${sig}, stopping what it started\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** A UDP port on 127.0.0.1 nobody holds right now (for webrtc.udpPort). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function runOnce(n: number, shards: number, source: string, gateway: RunResult['gateway'] = 'whepd'): Promise<RunResult> {
  // The bare forwarder has no keyframe gate, so join times would mean nothing there.
  const joinCount = gateway === 'bare' ? 0 : joinsPerRun;
  const dir = mkdtempSync(join(tmpdir(), 'whepd-bench-run-'));
  try {
    const tap = new Helper('tap.ts', [join(dir, 'tap-map')]);
    live.helpers.push(tap);
    const { ports } = await tap.ask<{ ports: number[] }>(undefined, 15000, 'tap start');
    const profDir = join(dir, 'prof');
    const whepd = await startWhepd({
      dir,
      source,
      viewers: n + joinCount,
      ffmpegPath: join(benchDir, 'ffmpeg-tap.sh'),
      env: { ...process.env, WHEPD_BENCH_TAP_PORTS: ports.join(','), WHEPD_BENCH_TAP_MAP: join(dir, 'tap-map'), WHEPD_BENCH_FFMPEG: ffmpegPath },
      nodeArgs: profile ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
      readyTimeoutMs: 30000,
      shards,
      ...(gateway === 'bare' ? { program: ['--import', 'tsx', join(benchDir, 'bare.ts')] } : {}),
      ...(gateway === 'udpmux' ? { udpPort: await freeUdpPort() } : {}),
    });
    live.whepd = whepd;
    const ffmpegPid = childPids(whepd.pid).find((p) => commOf(p) === 'ffmpeg');
    if (ffmpegPid) live.ffmpeg.push(ffmpegPid);
    const shardList = shardPids(whepd.pid, ffmpegPid);
    if (shardList.length !== shards) throw new Error(`expected ${shards} shard processes, found ${shardList.length}`);
    const whepdPids = [whepd.pid, ...shardList];
    await sleep(2000);
    const rss0 = sum(whepdPids, rssBytes);

    const load = new Helper('load.ts', []);
    live.helpers.push(load);
    await load.ask(undefined, 15000, 'load start');
    const endpoint = `${whepd.url}/whep/bench`;
    // From N=10 on, the last PROBE_VIEWERS viewers live in a second, lightly loaded process: the
    // load generator's single receive thread queues a keyframe burst to N viewers for tens of ms,
    // so only the probes' latency is whepd's own (plus two loopback hops and SRTP).
    const probes = n >= 10 ? PROBE_VIEWERS : 0;
    const connect = await load.ask<ConnectResult>({ type: 'connect', endpoint, n: n - probes, concurrency: 4, timeoutMs: 15000 } satisfies LoadRequest, 30000 + n * 2000, 'connect');
    let probe: Helper | undefined;
    let probeConnect: ConnectResult | undefined;
    if (probes > 0) {
      probe = new Helper('load.ts', []);
      live.helpers.push(probe);
      await probe.ask(undefined, 15000, 'probe start');
      probeConnect = await probe.ask<ConnectResult>({ type: 'connect', endpoint, n: probes, concurrency: 1, timeoutMs: 15000 } satisfies LoadRequest, 60000, 'probe connect');
    }
    await sleep(3000);

    // The steady window.
    await scrapeMetrics(whepd.url);
    const drops0 = { whepd: sum(whepdPids, (p) => udpDrops(p).drops), load: udpDrops(load.child.pid!).drops };
    await load.ask({ type: 'windowStart' } satisfies LoadRequest, 10000, 'window start');
    await probe?.ask({ type: 'windowStart' } satisfies LoadRequest, 10000, 'probe window start');
    const s0 = sample(whepd.pid, shardList, ffmpegPid, load.child.pid!, probe?.child.pid, tap.child.pid!);
    const poll = pollHttp(endpoint);
    await sleep(windowS * 1000);
    const httpMs = await poll.stop();
    const s1 = sample(whepd.pid, shardList, ffmpegPid, load.child.pid!, probe?.child.pid, tap.child.pid!);
    const win = await load.ask<WindowResult>({ type: 'windowStop' } satisfies LoadRequest, 10000, 'window stop');
    await probe?.ask<WindowResult>({ type: 'windowStop' } satisfies LoadRequest, 10000, 'probe window stop');
    const scrape = await scrapeMetrics(whepd.url);
    const rssN = sum(whepdPids, rssBytes);
    const drops1 = { whepd: sum(whepdPids, (p) => udpDrops(p).drops), load: udpDrops(load.child.pid!).drops };

    const dump = await tap.ask<TapDump>({ type: 'dump', from: s0.at, to: s1.at } satisfies TapRequest, 10000, 'tap dump');
    const inputPackets = dump.seq[0].length + dump.seq[1].length;
    // Losses count from 0.5 s into the window (the receivers start recording a few ms after s0)
    // to 1 s before its end (packets still in flight).
    const from = s0.at + 500;
    const trim = (k: 0 | 1): SentKind => {
      let i = 0;
      while (i < dump.at[k].length && dump.at[k][i]! < from) i++;
      return { seq: dump.seq[k].slice(i), at: dump.at[k].slice(i) };
    };
    // Two more seconds of recording: a packet of the window counts as lost only if it is later than ~3 s.
    await sleep(2000);
    const analyzed = await load.ask<{ figures: DeliveryFigures }>({ type: 'analyze', sent: [trim(0), trim(1)], cutoff: s1.at - 1000 } satisfies LoadRequest, 60000, 'analyze');
    const probed = probe ? await probe.ask<{ figures: DeliveryFigures }>({ type: 'analyze', sent: [trim(0), trim(1)], cutoff: s1.at - 1000 } satisfies LoadRequest, 60000, 'probe analyze') : undefined;
    const joins = joinCount > 0 ? await load.ask<JoinResult>({ type: 'joins', endpoint, count: joinCount, timeoutMs: 10000 } satisfies LoadRequest, joinCount * 15000, 'joins') : undefined;

    const wallS = (s1.at - s0.at) / 1000;
    const cpu = (k: 'whepd' | 'whepdMain' | 'shards' | 'ffmpeg' | 'load' | 'loadMain' | 'harness') => s1[k] - s0[k];
    const machineBusyPct = (100 * (s1.machine.busy - s0.machine.busy)) / Math.max(1, s1.machine.total - s0.machine.total);
    // CPU used on this machine by processes the benchmark did not start (other jobs), in % of a core.
    const ours = (cpu('whepd') + cpu('ffmpeg') + cpu('load') + cpu('harness')) / (wallS * 1e4);
    const foreignPct = Math.max(0, machineBusyPct * availableParallelism() - ours);
    const viewers = connect.connected + (probeConnect?.connected ?? 0);
    const r: RunResult = {
      n,
      gateway,
      shards,
      viewers,
      connectFailed: connect.failed + (probeConnect?.failed ?? 0),
      windowS: round(wallS, 1)!,
      inputPps: round(inputPackets / wallS, 1)!,
      whepdCpuPct: round((100 * cpu('whepd')) / (wallS * 1e6), 1)!,
      whepdMainThreadPct: round((100 * cpu('whepdMain')) / (wallS * 1e6), 1)!,
      shardCpuPct: round((100 * cpu('shards')) / (wallS * 1e6), 1)!,
      ffmpegCpuPct: round((100 * cpu('ffmpeg')) / (wallS * 1e6), 1)!,
      usPerPacketPerViewer: round(cpu('whepd') / (inputPackets * Math.max(1, viewers)), 2)!,
      usPerPacketPerViewerWithFfmpeg: round((cpu('whepd') + cpu('ffmpeg')) / (inputPackets * Math.max(1, viewers)), 2)!,
      rssMB: round(rssN / 2 ** 20, 1)!,
      rss0MB: round(rss0 / 2 ** 20, 1)!,
      rssPerViewerMB: round((rssN - rss0) / 2 ** 20 / Math.max(1, viewers), 3)!,
      delivery: analyzed.figures,
      probe: probed ? { viewers: probed.figures.viewers, latencyMs: probed.figures.latencyMs, lossPctWorst: probed.figures.lossPctWorst, gapsWorst: probed.figures.gapsWorst } : null,
      udpDrops: { whepd: drops1.whepd - drops0.whepd, load: drops1.load - drops0.load },
      eventLoop: { p99Ms: scrape.eventLoopP99Ms ?? null, maxMs: scrape.eventLoopMaxMs ?? null },
      httpGetMs: summary(httpMs),
      connect: { postMs: connect.postMs, rampMs: round(connect.rampMs, 0)!, withVideo: connect.withVideo, statuses: connect.statuses, retries: connect.retries },
      joins: joins ? { postTo201Ms: joins.postTo201Ms, postToConnectedMs: joins.postToConnectedMs, postToKeyframeMs: joins.postToKeyframeMs, firstNal: joins.firstNal, failed: joins.failed } : null,
      load: {
        cpuPct: round((100 * cpu('load')) / (wallS * 1e6), 1)!,
        mainThreadPct: round((100 * cpu('loadMain')) / (wallS * 1e6), 1)!,
        loopDelayP99Ms: round(win.loopDelayP99Ms, 1)!,
        stillConnected: win.stillConnected,
      },
      machineBusyPct: round(machineBusyPct, 1)!,
      harnessCpuPct: round(cpu('harness') / (wallS * 1e4), 1)!,
      foreignCpuPct: round(foreignPct, 1)!,
      limit: '',
    };
    r.limit = judgeLimit(r);

    await load.ask({ type: 'close' } satisfies LoadRequest, 20000, 'load close').catch(() => undefined);
    load.kill();
    if (probe) {
      await probe.ask({ type: 'close' } satisfies LoadRequest, 20000, 'probe close').catch(() => undefined);
      probe.kill();
    }
    await stopWhepd(whepd, live.ffmpeg);
    live.whepd = undefined;
    live.ffmpeg = [];
    tap.child.send({ type: 'stop' } satisfies TapRequest);
    await sleep(200);
    tap.kill();
    live.helpers = [];
    if (profile) {
      const prof = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      if (prof) r.profile = topFunctions(join(profDir, prof), 25);
    }
    return r;
  } catch (err) {
    if (live.whepd) process.stderr.write(`bench: whepd log tail:\n${tail(live.whepd.logFile)}\n`);
    throw err;
  } finally {
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Names what limited a run: whepd, the load generator, or the whole machine. */
function judgeLimit(r: RunResult): string {
  const why: string[] = [];
  if (r.viewers < r.n) why.push(`only ${r.viewers}/${r.n} viewers connected`);
  if (r.whepdMainThreadPct >= 90) why.push(`whepd's main thread ${r.whepdMainThreadPct}% busy`);
  if (r.shards > 0 && r.shardCpuPct >= 90 * r.shards) why.push(`whepd's ${r.shards} shards ${r.shardCpuPct}% busy`);
  if (r.load.mainThreadPct >= 85) why.push(`load generator saturated (main thread ${r.load.mainThreadPct}%, loop delay p99 ${r.load.loopDelayP99Ms} ms)`);
  else if (r.load.loopDelayP99Ms >= 50) why.push(`load generator delayed by CPU contention (main thread only ${r.load.mainThreadPct}%, loop delay p99 ${r.load.loopDelayP99Ms} ms)`);
  if (r.machineBusyPct >= 90) why.push(`machine ${r.machineBusyPct}% busy`);
  if (r.foreignCpuPct >= 20) why.push(`other processes used ${r.foreignCpuPct}% of a core`);
  if (r.udpDrops.load > 0) why.push(`kernel dropped ${r.udpDrops.load} datagrams at the receivers`);
  if (r.udpDrops.whepd > 0) why.push(`kernel dropped ${r.udpDrops.whepd} datagrams at whepd`);
  return why.length ? why.join('; ') : 'none';
}

const info = machineInfo(ffmpegPath);
const source = ensureSource(ffmpegPath);
process.stderr.write(`bench: N=${ns.join(',')} shards=${shardCounts.join(',')} window ${windowS} s, ${info.cpus} CPUs ${info.model}, node ${info.node}, ffmpeg ${info.ffmpeg}\n`);
const results: RunResult[] = [];
try {
  for (const shards of shardCounts) {
    for (const n of ns) {
      process.stderr.write(`bench: N=${n} shards=${shards} ...\n`);
      const r = await runOnce(n, shards, source);
      results.push(r);
      const { profile: hot, ...line } = r;
      process.stdout.write(`${JSON.stringify(line)}\n`);
      if (hot) {
        process.stdout.write(`whepd CPU profile at N=${n} (self time, ${hot.samples} samples, idle ${hot.idlePct}%):\n`);
        for (const f of hot.functions) process.stdout.write(`  ${String(f.pct).padStart(5)}%  ${f.name}  ${f.where}\n`);
      }
    }
  }
  for (const n of muxNs) {
    process.stderr.write(`bench: N=${n} shards=0 with webrtc.udpPort (one socket for every viewer) ...\n`);
    const r = await runOnce(n, 0, source, 'udpmux');
    results.push(r);
    process.stdout.write(`${JSON.stringify(r)}\n`);
  }
  for (const n of bareNs) {
    process.stderr.write(`bench: N=${n} bare forwarder ...\n`);
    const r = await runOnce(n, 0, source, 'bare');
    results.push(r);
    process.stdout.write(`${JSON.stringify(r)}\n`);
  }
} finally {
  await cleanup();
}
printTable(results);
if (process.env['BENCH_DOCS'] !== '0' && !profile && results.length > 0) {
  writeDocs('docs/performance.md', info, results, windowS);
  process.stderr.write('bench: refreshed "## Fan-out benchmark" in docs/performance.md\n');
}
