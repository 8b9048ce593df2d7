/**
 * The benchmark's output: the per-run record, the console table, and the `## Fan-out benchmark`
 * section of docs/performance.md (only that section is rewritten; the rest of the file is kept).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { DeliveryFigures } from './analyze.js';
import type { MachineInfo } from './proc.js';
import type { HotFunction } from './profile.js';

type Dist = { p50: number; p99: number; max: number; n: number };

/** Everything one run measured; printed as one JSON line. */
export interface RunResult {
  n: number;
  /** whepd, or bench/bare.ts (the featureless forwarder on the same stack). */
  /** whepd, whepd with webrtc.udpPort (one UDP socket for every viewer), or bench/bare.ts. */
  gateway: 'whepd' | 'udpmux' | 'bare';
  /** webrtc.shards of the run (0: peers in whepd's own process). */
  shards: number;
  viewers: number;
  connectFailed: number;
  windowS: number;
  /** RTP packets per second entering whepd (both tracks), counted by the tap. */
  inputPps: number;
  whepdCpuPct: number;
  whepdMainThreadPct: number;
  /** Every shard process together, % of a core (0 without shards). */
  shardCpuPct: number;
  ffmpegCpuPct: number;
  /** whepd's CPU (FFmpeg child excluded) / (input packets x viewers). */
  usPerPacketPerViewer: number;
  usPerPacketPerViewerWithFfmpeg: number;
  rssMB: number;
  rss0MB: number;
  rssPerViewerMB: number;
  delivery: DeliveryFigures;
  /** The probe viewers (a separate, lightly loaded receiver process; from N=10). */
  probe: { viewers: number; latencyMs: Dist; lossPctWorst: number; gapsWorst: number } | null;
  udpDrops: { whepd: number; load: number };
  eventLoop: { p99Ms: number | null; maxMs: number | null };
  httpGetMs: Dist;
  connect: { postMs: Dist; rampMs: number; withVideo: number; statuses: Record<string, number>; retries: number };
  joins: { postTo201Ms: Dist; postToConnectedMs: Dist; postToKeyframeMs: Dist; firstNal: number[]; failed: number } | null;
  load: { cpuPct: number; mainThreadPct: number; loopDelayP99Ms: number; stillConnected: number };
  machineBusyPct: number;
  /** The tap and the orchestrator, % of a core. */
  harnessCpuPct: number;
  /** CPU used by processes the benchmark did not start, % of a core: noise when high. */
  foreignCpuPct: number;
  limit: string;
  profile?: { functions: HotFunction[]; idlePct: number; samples: number };
}

const f = (x: number | null | undefined, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
const trio = (x: Dist, d = 1) => `${f(x.p50, d)} / ${f(x.p99, d)} / ${f(x.max, d)}`;
const pair = (x: Dist | undefined, d = 0) => (x ? `${f(x.p50, d)} / ${f(x.p99, d)}` : '-');
/** Worst loss over the load generator's viewers and the probes. */
const worstLoss = (r: RunResult) => Math.max(r.delivery.lossPctWorst, r.probe?.lossPctWorst ?? 0);

function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** The CPU and memory table (markdown). */
export function cpuTable(rs: readonly RunResult[]): string {
  const head = ['N', 'shards', 'input pkt/s', 'µs/pkt/viewer (whepd)', 'with FFmpeg', 'whepd CPU %', 'main thread %', 'shards CPU %', 'FFmpeg CPU %', 'RSS MB', 'RSS/viewer MB', 'loss % worst / median', 'seq gaps worst', 'load main thread %', 'machine busy %', 'other procs % of a core'];
  const lines = [row(head), row(head.map(() => '---'))];
  for (const r of rs) {
    lines.push(
      row([
        r.viewers === r.n ? r.n : `${r.viewers}/${r.n}`,
        r.gateway === 'bare' ? 'bare' : r.gateway === 'udpmux' ? `${r.shards}, udpPort` : r.shards,
        f(r.inputPps, 0),
        f(r.usPerPacketPerViewer, 2),
        f(r.usPerPacketPerViewerWithFfmpeg, 2),
        f(r.whepdCpuPct),
        f(r.whepdMainThreadPct),
        f(r.shardCpuPct),
        f(r.ffmpegCpuPct),
        f(r.rssMB),
        f(r.rssPerViewerMB, 3),
        `${f(worstLoss(r), 2)} / ${f(r.delivery.lossPctMedian, 2)}`,
        Math.max(r.delivery.gapsWorst, r.probe?.gapsWorst ?? 0),
        f(r.load.mainThreadPct),
        f(r.machineBusyPct),
        f(r.foreignCpuPct),
      ]),
    );
  }
  return lines.join('\n');
}

/** The latency and responsiveness table (markdown). */
export function latencyTable(rs: readonly RunResult[]): string {
  const head = ['N', 'shards', 'probe tap→viewer ms p50 / p99 / max', 'all viewers tap→viewer ms p50 / p99 / max', 'last viewer p99 ms', 'fan-out skew ms p50 / p99 / max', 'whepd loop delay p99 / max ms', 'GET /whep ms p50 / p99 / max', 'join POST→201 ms p50 / p99', 'join POST→connected ms p50 / p99', 'join POST→keyframe ms p50 / p99', 'limit'];
  const lines = [row(head), row(head.map(() => '---'))];
  for (const r of rs) {
    lines.push(
      row([
        r.n,
        r.gateway === 'bare' ? 'bare' : r.gateway === 'udpmux' ? `${r.shards}, udpPort` : r.shards,
        r.probe ? trio(r.probe.latencyMs) : '-',
        trio(r.delivery.latencyMs),
        f(r.delivery.lastViewerLatencyMs.p99),
        trio(r.delivery.skewMs),
        `${f(r.eventLoop.p99Ms)} / ${f(r.eventLoop.maxMs)}`,
        trio(r.httpGetMs),
        pair(r.joins?.postTo201Ms, 1),
        pair(r.joins?.postToConnectedMs),
        pair(r.joins?.postToKeyframeMs),
        r.limit,
      ]),
    );
  }
  return lines.join('\n');
}

/** Prints both tables to stdout. */
export function printTable(rs: readonly RunResult[]): void {
  process.stdout.write(`\n${cpuTable(rs)}\n\n${latencyTable(rs)}\n`);
}

function verdict(ok: boolean | undefined): string {
  return ok === undefined ? 'not measured' : ok ? 'met' : 'missed';
}

function comparison(all: readonly RunResult[]): string {
  const whepd = all.filter((r) => r.gateway === 'whepd');
  const bare = all.filter((r) => r.gateway === 'bare');
  const mux = all.filter((r) => r.gateway === 'udpmux');
  return [...new Set(whepd.map((r) => r.shards))].map((shards) => comparisonFor(whepd.filter((r) => r.shards === shards), shards, bare, shards === 0 ? mux : [])).join('\n\n');
}

function comparisonFor(rs: readonly RunResult[], shards: number, bare: readonly RunResult[], mux: readonly RunResult[]): string {
  const ref = rs.find((r) => r.n === 100) ?? rs.reduce((a, b) => (b.n > a.n ? b : a));
  const at = `N=${ref.n}${ref.n === 100 ? '' : ' (the largest N of this run; the targets are stated for N=100)'}`;
  const us = ref.usPerPacketPerViewer;
  const how = shards === 0 ? 'with the peers in whepd\'s process (`webrtc.shards: 0`, the default)' : `with \`webrtc.shards: ${shards}\` (whepd's CPU includes its shard processes)`;
  const lines = [
    `#### ${shards === 0 ? 'No shards' : `${shards} shards`}`,
    '',
    `At ${at}, ${how}, whepd spends **${f(us, 2)} µs** of CPU per input packet per viewer (FFmpeg child excluded; ${f(ref.usPerPacketPerViewerWithFfmpeg, 2)} µs with it).`,
    '',
    '| gateway (issue 6, same 2-core box, N=100) | µs/pkt/viewer | whepd relative |',
    '| --- | --- | --- |',
  ];
  for (const [name, v] of [
    ['Janus 1.1.2 streaming plugin, default threads', 22.3],
    ['Janus tuned, `event_loops = 2`', 9.4],
    ['minimal node-datachannel forwarder (no NACK store)', 5.7],
    ['plain Node UDP forwarder, no encryption (floor)', 4.7],
  ] as const) {
    lines.push(row([name, v, `whepd = ${f(us / v, 2)}x`]));
  }
  const sameRun = bare.find((b) => b.n === ref.n);
  if (sameRun) lines.push(row([`bench/bare.ts, this run, N=${ref.n} (same stack, no whepd features)`, f(sameRun.usPerPacketPerViewer, 2), `whepd = ${f(us / sameRun.usPerPacketPerViewer, 2)}x`]));
  const muxRun = mux.find((m) => m.n === ref.n);
  if (muxRun) lines.push(row([`whepd with \`webrtc.udpPort\` (one UDP socket for every viewer), this run, N=${ref.n}`, f(muxRun.usPerPacketPerViewer, 2), `one port = ${f(muxRun.usPerPacketPerViewer / us, 2)}x a port per viewer`]));
  const lossOk = worstLoss(ref) === 0 && ref.viewers === ref.n;
  const latency = ref.probe?.latencyMs ?? ref.delivery.latencyMs;
  const kf = ref.joins?.postToKeyframeMs.p50;
  lines.push(
    '',
    '| target (issue 6) | measured | verdict |',
    '| --- | --- | --- |',
    row(['<= 6 µs per packet per viewer', f(us, 2), verdict(us <= 6)]),
    row(['0% loss', `worst viewer ${f(worstLoss(ref), 3)}%${ref.viewers === ref.n ? '' : ` (${ref.n - ref.viewers} of ${ref.n} viewers never connected)`}`, verdict(lossOk)]),
    row(['RSS per viewer <= 0.5 MB', f(ref.rssPerViewerMB, 3), verdict(ref.rssPerViewerMB <= 0.5)]),
    row([
      'added latency p99 <= 5 ms',
      `${f(latency.p99)} ms (tap→${ref.probe ? 'probe viewer' : 'viewer'}, two loopback hops and SRTP included; all ${ref.viewers} viewers: ${f(ref.delivery.latencyMs.p99)} ms)`,
      verdict(latency.p99 <= 5),
    ]),
    row(['event-loop delay p99 <= 20 ms', ref.eventLoop.p99Ms === null ? 'not exposed' : `${f(ref.eventLoop.p99Ms)} ms`, verdict(ref.eventLoop.p99Ms === null ? undefined : ref.eventLoop.p99Ms <= 20)]),
    row(['POST→201 p50 <= 20 ms', `${f(ref.joins?.postTo201Ms.p50)} ms`, verdict(ref.joins ? ref.joins.postTo201Ms.p50 <= 20 : undefined)]),
    row(['POST→first keyframe p50 <= 550 ms (1 s GOP)', `${f(kf, 0)} ms`, verdict(kf === undefined ? undefined : kf <= 550)]),
  );
  return lines.join('\n');
}

/** The whole `## Fan-out benchmark` section. */
export function section(info: MachineInfo, rs: readonly RunResult[], windowS: number): string {
  return `## Fan-out benchmark

Generated by \`make bench\` (bench/run.ts) on ${new Date().toISOString().slice(0, 10)}; rerun it to refresh this section.

Machine: ${info.cpus} CPUs (${info.model}), ${info.memoryGiB} GiB RAM, Linux ${info.kernel}, Node ${info.node},
FFmpeg ${info.ffmpeg}, node-datachannel ${info.nodeDataChannel}. whepd, its FFmpeg, the tap and the load generator
share this machine.

Setup: one stream, a 1280x720 30 fps H264 constrained-baseline file (1 s GOP, SPS/PPS before every IDR,
CBR 2.5 Mbps) plus Opus 48 kHz, generated once with lavfi testsrc2 and looped by whepd's FFmpeg in real time
with \`"video": "copy"\` (FFmpeg remuxes video and encodes Opus). FFmpeg's RTP goes through a UDP tap
(bench/tap.ts, its own process) that stamps each packet as it forwards it to whepd's ingest socket.
N viewers are node-datachannel WHEP clients (internal/testkit WhepClient) in a separate load-generator
process, connected 4 at a time; then a ${windowS} s steady window; then \`BENCH_JOINS\` (default 8) extra joins
one at a time while the N others keep watching. Everything is on 127.0.0.1.

What each figure is:
- **bare**: rows marked bare are bench/bare.ts, a featureless forwarder on the same stack (the same
  FFmpeg command, node-datachannel, sendonly tracks with an RTCP sender reporter, one
  sendMessageBinary per viewer per packet; no keyframe gate, NACK history, caps, counters or metrics),
  measured in the same run so that the cost of whepd's features shows as a ratio.
- **shards**: \`webrtc.shards\` of the run. With shards, the viewers' peers live in that many child
  processes and whepd's main process only receives, relays and serves HTTP.
- **µs/pkt/viewer**: whepd's CPU time (all threads of the main process and of every shard process,
  from /proc) over the window / (RTP packets the tap forwarded into whepd in the window x N). "with
  FFmpeg" adds whepd's FFmpeg child. The HTTP poll below (20 requests/s) is inside whepd's CPU.
  **main thread %**: the main process's JavaScript thread, the one that serves HTTP.
- **RSS/viewer**: (RSS with N viewers - RSS before the first viewer) / N, shard processes included.
- **loss**: packets the tap forwarded (from 0.5 s into the window to 1 s before its end) that a viewer
  had not received 3 s after the window; **seq gaps**: sequence discontinuities a viewer saw.
- **tap→viewer**: from the tap's send into whepd's socket to the receiving client's callback, over every
  (viewer, packet) pair. It includes two loopback hops, whepd, SRTP in and out, and the receiver's own
  scheduling delay; WhepClient stamps with Date.now(), so each value is +-0.5 ms. **probe**: from N=10 the
  last 4 of the N viewers join from a second, lightly loaded receiver process, so their figure is free
  of the load generator's own queueing (its single libjuice thread decrypts every viewer's packets in
  turn); being the last to join, they are also served last. The targets are judged on it. **all
  viewers**: every viewer, the load generator's N-4 and the probes. **last viewer**: per packet, the
  latest viewer of the load generator. **fan-out skew**: per packet, last arrival minus first arrival
  across the load generator's viewers.
- **whepd loop delay**: the event-loop delay of whepd's main process (the HTTP thread) p99/max over the window, from its /metrics
  (prom-client's monitorEventLoopDelay at 10 ms resolution, reset by the scrape at the window start).
  **GET /whep**: latency of \`GET /whep/bench\` polled every 50 ms from the orchestrator, a proxy
  for how late the HTTP API answers under load.
- **join**: POST→201 is the POST alone (the client gathers before it); POST→connected is until the
  client's peer reports connected (ICE and DTLS done; polled every 10 ms); POST→keyframe is to the
  first video packet (the SPS that opens the keyframe gate, live or replayed). With few joins p99 is
  close to the max.
- **limit**: what saturated first (whepd's main thread, the load generator's main thread, the machine,
  kernel drops at either side); "none" means neither side was saturated.

${cpuTable(rs)}

${latencyTable(rs)}

### Against issue 6

${comparison(rs)}
`;
}

const ANALYSIS = /^### Analysis\b/m;

/**
 * Replaces (or appends) the `## Fan-out benchmark` section, keeping every other section and the
 * hand-written `### Analysis` subsection at its end (profiles, causes, levers), if there is one.
 */
export function writeDocs(file: string, info: MachineInfo, rs: readonly RunResult[], windowS: number): void {
  let body = section(info, rs, windowS).trimEnd() + '\n';
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Performance\n';
  const start = text.search(/^## Fan-out benchmark\s*$/m);
  if (start < 0) {
    text = `${text.trimEnd()}\n\n${body}`;
  } else {
    const rest = text.slice(start + 1);
    const next = rest.search(/^## /m);
    const end = next < 0 ? text.length : start + 1 + next;
    const old = text.slice(start, end);
    const kept = old.search(ANALYSIS);
    if (kept >= 0) body += `\n${old.slice(kept).trimEnd()}\n`;
    text = `${text.slice(0, start)}${body}${next < 0 ? '' : `\n${text.slice(end)}`}`;
  }
  writeFileSync(file, text);
}
