/**
 * node-datachannel WHEP viewers for e2e/nat/run.sh, run inside the `viewer` network namespace.
 * Connects N viewers (internal/testkit WhepClient, ICE bound to --bind), waits (bounded) for each
 * one's first video packet, then counts packets over a measuring window, and prints one JSON line:
 *
 *   { "viewers": N, "statuses": [...], "connected": k, "ttff_ms": [...], "video_fps": [...],
 *     "video_pps": [...], "audio_pps": [...] }
 *
 * ttff_ms is from the start of the viewer's POST to its first video RTP packet (null if none came
 * within --wait-ms); the rates are per viewer over the same window of --measure-ms, video_fps
 * counting distinct RTP timestamps (frames), so "full rate" can be read against the fixture's
 * 30 fps and Opus's 50 packets/s. The script never decides PASS/FAIL: the control run expects no
 * media, the others expect all of it, and run.sh judges.
 *
 *   node --import=tsx e2e/nat/viewer.ts <endpoint> --bind 203.0.113.20 [--count 50] [--wait-ms 15000] [--measure-ms 5000]
 */
import { WhepClient } from '../../internal/testkit/whep-client.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const endpoint = process.argv[2] ?? '';
if (!endpoint || endpoint.startsWith('--')) {
  console.error('usage: viewer.ts <endpoint> --bind <address> [--count N] [--wait-ms ms] [--measure-ms ms]');
  process.exit(2);
}
const bindAddress = arg('bind', '127.0.0.1');
const count = Number(arg('count', '1'));
const waitMs = Number(arg('wait-ms', '15000'));
const measureMs = Number(arg('measure-ms', '5000'));

// A watchdog, so a wedged native teardown can never hold run.sh past its own bound.
setTimeout(() => {
  console.error('viewer.ts: watchdog fired');
  process.exit(3);
}, waitMs + measureMs + 60_000).unref();

interface Viewer {
  client: WhepClient | undefined;
  startedAt: number;
  error?: string;
}

async function start(): Promise<Viewer> {
  const v: Viewer = { client: undefined, startedAt: performance.timeOrigin + performance.now() };
  try {
    v.client = await WhepClient.connect({ endpoint, bindAddress });
  } catch (err) {
    v.error = String(err);
  }
  return v;
}

// Started a few at a time: 50 simultaneous ICE gatherings on a 2-core box measure the box, not
// the NAT; 5 in flight keep the whole run within a few seconds.
const viewers: Viewer[] = [];
const queue = Array.from({ length: count }, (_, i) => i);
await Promise.all(
  Array.from({ length: Math.min(5, count) }, async () => {
    while (queue.shift() !== undefined) viewers.push(await start());
  }),
);

// Bounded wait for every viewer's first video packet (connect() already waited up to 5 s per try).
const deadline = Date.now() + waitMs;
while (Date.now() < deadline && viewers.some((v) => v.client && v.client.video.length === 0)) {
  await new Promise((r) => setTimeout(r, 50));
}

// Measure all viewers over one common window.
const mark = viewers.map((v) => ({ video: v.client?.video.length ?? 0, audio: v.client?.audio.length ?? 0 }));
const t0 = Date.now();
await new Promise((r) => setTimeout(r, measureMs));
const secs = (Date.now() - t0) / 1000;

function lost(packets: { seq: number }[]): number {
  if (packets.length === 0) return 0;
  // Sequence numbers unwrapped (a step back is reordering, not a wrap), then max - min + 1 expected.
  let ext = packets[0]!.seq;
  let lo = ext;
  let hi = ext;
  const seen = new Set<number>([ext]);
  for (let i = 1; i < packets.length; i++) {
    ext += ((packets[i]!.seq - packets[i - 1]!.seq + 32768 + 65536) % 65536) - 32768;
    lo = Math.min(lo, ext);
    hi = Math.max(hi, ext);
    seen.add(ext);
  }
  return hi - lo + 1 - seen.size;
}
const round = (x: number): number => Math.round(x * 10) / 10;
const result = {
  viewers: count,
  statuses: viewers.map((v) => v.client?.post?.status ?? v.error ?? 'none'),
  attempts: viewers.map((v) => v.client?.attempts ?? 0),
  states: viewers.map((v) => v.client?.state ?? 'none'),
  connected: viewers.filter((v) => (v.client?.video.length ?? 0) > 0).length,
  ttff_ms: viewers.map((v) => (v.client && v.client.video.length > 0 ? Math.round(v.client.video[0]!.at - v.startedAt) : null)),
  video_fps: viewers.map((v, i) => round(new Set((v.client?.video ?? []).slice(mark[i]!.video).map((p) => p.ts)).size / secs)),
  video_pps: viewers.map((v, i) => round(((v.client?.video.length ?? 0) - mark[i]!.video) / secs)),
  audio_pps: viewers.map((v, i) => round(((v.client?.audio.length ?? 0) - mark[i]!.audio) / secs)),
  // Packets missing from the sequence numbers each viewer received (from its first packet to its
  // last), so a low arrival rate can be told apart from loss: on a busy box node-datachannel's
  // callbacks into this one JS thread lag behind the network.
  video_lost: viewers.map((v) => lost(v.client?.video ?? [])),
  audio_lost: viewers.map((v) => lost(v.client?.audio ?? [])),
  measure_s: round(secs),
};
console.log(JSON.stringify(result));
await Promise.all(viewers.map((v) => v.client?.close()));
// node-datachannel's native threads can keep the process alive; the result is printed.
setTimeout(() => process.exit(0), 500);
