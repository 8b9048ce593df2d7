/**
 * Steady-state lip sync in headless Chromium: one whepd with three on-demand lip-sync fixtures
 * (fixtures/README.md: 51.2 s, a white flash and a 1 kHz beep at the same instants, at irregular
 * intervals), each played on the player page in turn, measured before the file first loops; from 20 s after it started playing (once
 * Chromium's own A/V sync has settled), flash and beep onsets are measured for 20 s together with
 * the audio concealment counters. Run by e2e/browser/run.sh after driver.ts; prints one PASS/FAIL
 * line per input and ends with `browser av-sync: N passed, N failed`. Also writes the
 * `## Browser A/V sync` section of PERF_DOC.
 *
 * AV_SYNC_REFERENCE=1 first measures a plain `<video src=sync.mp4>` (served by a throwaway HTTP server
 * on E2E_PORT+6), its audio tapped with captureStream() and timed by the WebAudio tap, since a media
 * element reports no audio output delay (in-page-lip-sync.ts). Measured on 2026-11-30
 * (Chromium 156, headless): medians from -24 to +11 ms over a dozen runs, each run within +-2 ms of
 * its own median, now and then one 33 ms step (Chromium showing the file's video a frame later);
 * the element hands its audio to the track in 21 ms chunks, so the tap's delay varies by up to that
 * much from run to run. Hence its limits: |median| <= 25 ms, worst <= 40 ms. Then it measures
 * Chromium's own sender (in-page-loopback.ts: a page-made flash and beep sent page to page over
 * RTCPeerConnection, H264) exactly as the player, with the player's gate.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Checks, CheckFailure, expect, waitUntil } from './checks.js';
import { measureLipSync } from './in-page-lip-sync.js';
import { startLoopback } from './in-page-loopback.js';
import { describe, figures, ms } from './lip-sync-figures.js';
import type { Figures } from './lip-sync-figures.js';
import { ffmpegChildren, startWhepd, whepdConfig } from './whepd-process.js';
import type { Whepd } from './whepd-process.js';
import { writePerfSection } from './perf-doc.js';
import { sampleSyncStats } from './in-page-sync-stats.js';
import { describeSync, summarizeSync } from './sync-summary.js';
import { launchChromium, openPlayer, sleep, waitPlayer } from './shared.js';

const MAIN = resolve(process.env.WHEPD_MAIN ?? 'dist/cmd/whepd/main.js');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
// The driver uses E2E_PORT and E2E_PORT+1.
const PORT = Number(process.env.E2E_PORT ?? 18890) + 5;
const PERF_DOC = process.env.PERF_DOC ?? 'docs/performance.md';
const NETNS = process.env.E2E_NETNS ?? '';
const SHARDS = Number(process.env.E2E_SHARDS ?? 0);
const REFERENCE = process.env.AV_SYNC_REFERENCE === '1';

const SETTLE_MS = 20000;
// ~19 flashes (12 per 12.8 s): headless Chromium under CPU load skips frames, and a flash after a
// skipped frame is left out, so 14 s (13 flashes) paired only 9 with one core hogged.
const WINDOW_MS = 20000;
const MIN_FLASHES = 10;
// Two gates. What people notice (ITU-R BT.1359), on every window (a miss is measured again only
// where MAX_STRETCH or RECEIVER_SYNC_MS below say): the median within detectability
// (audio at most 45 ms early or 125 ms late), the worst flash within acceptability (90 ms early,
// 185 ms late). Before the fix the MPEG-TS input sat at +146..+168. And issue 11's target,
// |median| <= 30 ms, worst <= 60 ms and concealed audio < 1%, on at least one of MAX_WINDOWS
// windows: a window that misses only the target is measured again from a fresh start if whepd
// made no hole over it: no track handed to the viewers with more gaps over 100 ms
// (whepd_rtp_out_gaps_total) than it came from FFmpeg with (whepd_rtp_in_gaps_total), and its main
// event loop never held up over 100 ms, so the miss arose outside whepd; if whepd made a hole, it
// fails at once. Why not every window: Chromium's own
// A/V sync leaves any skew it estimates under 30 ms alone (webrtc.org stream_synchronization.cc,
// kMinDeltaMs), so where it settles inside that band moves from run to run, and now and then it
// steps or plays the audio late for a moment. On 2026-12-01, with whepd's sender reports right to
// 0.0 ms (internal/app/lip-sync.test.ts), 53 of 60 windows met the target, and Chromium's own
// sender, page to page, 5 of 6 (docs/performance.md); one window in 78 concealed 1.33% with no
// packet lost. Gated on every window, 3 of 5 clean-clone CI runs would have been red.
const TARGET_MEDIAN_MS = 30;
const TARGET_WORST_MS = 60;
const MEDIAN_RANGE_MS: [number, number] = [-45, 125];
const WORST_RANGE_MS: [number, number] = [-90, 185];
const MAX_CONCEALED = 0.01;
const MAX_WINDOWS = 3;
/** More send gaps this long than arrival gaps: whepd made a hole over the window. */
const HOLE_GAP_OVER = '0.1';
// Steady state, as issue 11 defines the measurement, means Chromium has stopped resizing its audio
// buffer. A window in which NetEq time-stretched more than this share of the audio (samples
// removed for acceleration plus inserted for deceleration) was still settling: one clean-clone
// CI run on 2026-12-01 drained 41473 samples (4.5%, 0.86 s) from a 176 ms mean buffer in its
// sync-high window while the offsets swept from -21 to +81 ms; the 30 other windows that day
// stretched at most 0.11%. Such a window, should it miss the BT.1359 gate while whepd made no
// hole, is measured again from a fresh start (within MAX_WINDOWS); the thresholds are the same
// every time.
const MAX_STRETCH = 0.01;
// Chromium's A/V sync does not act on a skew its own model puts under 30 ms (kMinDeltaMs), and
// that model is not Chromium's own playout estimate (video minus audio estimatedPlayoutTimestamp,
// from whepd's sender reports): from the audio-late start it raises the video delay in ~15 ms
// steps until the model is content, and where the last step leaves the estimate can be past
// BT.1359's 45 ms (two clean-clone CI runs on 2026-12-01: -57, -63 ms).
// 42 windows by hand that day with Chromium's estimate in the line: measured minus estimated
// -16..+21 ms in every one; the three that ended at or near the gate read -44, -45 and +50 ms
// measured against -42, -47 and +38 ms estimated, steady over the window, nothing concealed, no
// hole. Such a window, a skew the receiver itself sees on whepd's exact reports (0.0 ms,
// internal/app/lip-sync.test.ts) and leaves, is measured again from a fresh start if whepd made
// no hole over it: the estimate past RECEIVER_SYNC_MS on the same side, and within
// RECEIVER_AGREES_MS of the measured median. A sender report error would read as a skew that the
// estimate does not show, and still fails at once.
const RECEIVER_SYNC_MS = 30;
const RECEIVER_AGREES_MS = 30;
// Before another window the stream's on-demand FFmpeg must be gone (idleTimeoutS 1 after the
// page closed), so the next POST starts the file again and the window still ends before its first
// loop point. Bounded and generous: it took 1.02-1.03 s here (a retake then took 83-84 s).
const STOPPED_WITHIN_MS = 15000;
const INPUTS = [
  { id: 'sync-ts', input: 'fixtures/media/sync.ts', kind: 'copied MPEG-TS' },
  { id: 'sync-mp4', input: 'fixtures/media/sync.mp4', kind: 'copied MP4' },
  { id: 'sync-high', input: 'fixtures/media/sync-high.mp4', kind: 're-encoded' },
];

/** Whether Chromium's own estimate shows the measured skew past its sync threshold (see RECEIVER_SYNC_MS). */
function receiverSeesIt(f: Figures): boolean {
  const est = f.receiverSkewMs;
  return est !== undefined && Math.abs(est) >= RECEIVER_SYNC_MS && Math.sign(est) === Math.sign(f.medianMs) && Math.abs(f.medianMs - est) <= RECEIVER_AGREES_MS;
}

/** The share of the window's audio that Chromium time-stretched (NaN without counters). */
function stretchRatio(f: Figures): number {
  const c = f.concealed;
  return c && c.total > 0 ? (c.inserted + c.removed) / c.total : NaN;
}

/** A miss of issue 11's target only (the BT.1359 gate held): may be measured again. */
class TargetMissed extends CheckFailure {}

/**
 * Fails with the figures when a threshold is missed: the BT.1359 ranges and the flash count
 * (CheckFailure), and with `target`, issue 11's target and concealment (TargetMissed).
 */
function judge(f: Figures, median: [number, number], worst: [number, number], target: boolean): string {
  const detail = describe(f);
  const problems: string[] = [];
  if (f.offsetsMs.length < MIN_FLASHES) problems.push(`only ${f.offsetsMs.length} flashes paired (want >= ${MIN_FLASHES})`);
  if (!(f.medianMs >= median[0] && f.medianMs <= median[1])) problems.push(`median outside ${median[0]}..+${median[1]} ms`);
  if (!(f.worstMs >= worst[0] && f.worstMs <= worst[1])) problems.push(`worst outside ${worst[0]}..+${worst[1]} ms`);
  if (problems.length) throw new CheckFailure(`${problems.join('; ')}: ${detail}`);
  if (!target) return detail;
  if (Math.abs(f.medianMs) > TARGET_MEDIAN_MS) problems.push(`|median| over ${TARGET_MEDIAN_MS} ms`);
  if (Math.abs(f.worstMs) > TARGET_WORST_MS) problems.push(`|worst| over ${TARGET_WORST_MS} ms`);
  if (!(f.concealed && f.concealed.ratio < MAX_CONCEALED)) problems.push(`concealed audio >= ${MAX_CONCEALED * 100}%`);
  if (problems.length) throw new TargetMissed(`${problems.join('; ')}: ${detail}`);
  return detail;
}

/** whepd's own side of a window, from its /metrics. */
interface WhepdSide {
  /** whepd_rtp_in_gaps_total and whepd_rtp_out_gaps_total of the stream, by `in|out kind over`. */
  gaps: Record<string, number>;
  /** The main process's longest event-loop delay since the previous scrape (prom-client resets it). */
  loopMaxMs: number;
}

async function scrapeWhepd(url: string, id: string): Promise<WhepdSide> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const value = (series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : NaN;
  };
  const gaps: Record<string, number> = {};
  for (const way of ['in', 'out']) {
    for (const kind of ['audio', 'video']) {
      for (const over of ['0.05', '0.1', '0.25']) gaps[`${way} ${kind} ${over}`] = value(`whepd_rtp_${way}_gaps_total{stream="${id}",kind="${kind}",over="${over}"}`);
    }
  }
  return { gaps, loopMaxMs: value('whepd_process_nodejs_eventloop_lag_max_seconds') * 1000 };
}

/**
 * The gaps over a window (after minus before), and whether whepd made a hole: a track handed to
 * the viewers with more gaps over HOLE_GAP_OVER than it came with from FFmpeg, or the main event
 * loop held up longer than that (a blocked loop reads packets late, so its hole would count as
 * FFmpeg's on the way in). A missing figure reads as NaN, which counts as a hole: never a retake
 * on what could not be read.
 */
function whepdOverWindow(before: WhepdSide, after: WhepdSide): { hole: boolean; text: string } {
  const d = (key: string) => (after.gaps[key] ?? NaN) - (before.gaps[key] ?? NaN);
  const hole =
    ['audio', 'video'].some((k) => !(d(`out ${k} ${HOLE_GAP_OVER}`) <= d(`in ${k} ${HOLE_GAP_OVER}`))) || !(after.loopMaxMs <= Number(HOLE_GAP_OVER) * 1000);
  const list = (way: string, kind: string) => ['0.05', '0.1', '0.25'].map((o) => d(`${way} ${kind} ${o}`)).join('/');
  return {
    hole,
    text:
      `gaps over 50/100/250 ms from FFmpeg: audio ${list('in', 'audio')}, video ${list('in', 'video')}; ` +
      `to the viewers: audio ${list('out', 'audio')}, video ${list('out', 'video')} (${hole ? 'whepd made a hole' : 'no hole made by whepd'}); ` +
      `whepd's main event loop's longest delay ${after.loopMaxMs.toFixed(0)} ms`,
  };
}

/** A throwaway server for the reference page: `/` is a `<video>` playing `/sync.mp4`, with Range support. */
async function referenceServer(port: number): Promise<Server> {
  const file = resolve('fixtures/media/sync.mp4');
  const size = statSync(file).size;
  // No `loop`: Chromium's seek back to 0 shifts its A/V alignment by up to ~20 ms.
  const page = '<!doctype html><body style="margin:0;background:#000"><video src="/sync.mp4" autoplay playsinline width="640" height="360"></video></body>';
  const server = createServer((req, res) => {
    if (req.url === '/blank') {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><body style="margin:0;background:#000"></body>');
    } else if (req.url === '/sync.mp4') {
      const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      const end = m && m[2] ? Number(m[2]) : size - 1;
      res.writeHead(m ? 206 : 200, {
        'Content-Type': 'video/mp4',
        'Accept-Ranges': 'bytes',
        'Content-Length': end - start + 1,
        ...(m ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
      });
      createReadStream(file, { start, end }).pipe(res);
    } else {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(page);
    }
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(port, '127.0.0.1', ok));
  return server;
}

async function measureReference(ctx: BrowserContext, row: { f?: Figures }): Promise<string> {
  const server = await referenceServer(PORT + 1);
  const page = await ctx.newPage();
  try {
    await page.goto(`http://127.0.0.1:${PORT + 1}/`, { timeout: 10000 });
    await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 0.5, undefined, { timeout: 10000 });
    // From ~0.8 s to the end of the 12.8 s file: 11 flashes.
    const w = await page.evaluate(measureLipSync, { ms: 11500, source: 'element' as const });
    expect(!w.error, w.error ?? '');
    row.f = figures('reference', w);
    return judge(row.f, [-25, 25], [-40, 40], false);
  } finally {
    await page.close();
    server.close();
  }
}

/**
 * Waits out the settle from `playingAt`, then takes one lip-sync window of the page's whepPlayer;
 * with `whepd`, also whepd's own side of that window (Figures.sender) and whether it made a hole.
 */
async function measureSteadyState(page: Page, playingAt: number, label: string, whepd?: { url: string; id: string }): Promise<Figures & { whepdHole?: boolean }> {
  // The page's taps start now and count from the end of the settle (in-page-lip-sync.ts: started
  // at the window they jolted Chromium's A/V sync inside it).
  const settleMs = Math.max(0, playingAt + SETTLE_MS - Date.now());
  const measured = page.evaluate(measureLipSync, { ms: WINDOW_MS, source: 'player' as const, settleMs });
  // Chromium's own view beside the measurement, from the taps' start: whether it estimates the
  // skew that is measured (its sync not acting) or not (a skew arising after its sync point).
  const sampled = page.evaluate(sampleSyncStats, { ms: settleMs + WINDOW_MS, everyMs: 1000 });
  // Awaited below; a failure during the settle must not count as unhandled meanwhile.
  measured.catch(() => {});
  sampled.catch(() => {});
  await sleep(settleMs);
  const before = whepd && (await scrapeWhepd(whepd.url, whepd.id));
  const [w, st] = await Promise.all([measured, sampled]);
  expect(!w.error, w.error ?? '');
  expect(!w.reconnected, 'the player reconnected during the measurement');
  const f: Figures & { whepdHole?: boolean } = figures(label, w);
  const sync = summarizeSync(st.snapshots, Math.round(settleMs / 1000));
  f.receiver = sync ? describeSync(sync) : `no Chromium sync counters${st.error ? ` (${st.error})` : ''}`;
  if (sync?.playoutSkewMs) f.receiverSkewMs = sync.playoutSkewMs.median;
  if (whepd && before) {
    // Shards report their counters every 0.5 s: wait for the window's last ones.
    await sleep(600);
    const side = whepdOverWindow(before, await scrapeWhepd(whepd.url, whepd.id));
    f.sender = side.text;
    f.whepdHole = side.hole;
  }
  return f;
}

/** Chromium's own sender (in-page-loopback.ts), measured as the player is. */
async function measureLoopback(ctx: BrowserContext, row: { f?: Figures }): Promise<string> {
  const server = await referenceServer(PORT + 1);
  const page = await ctx.newPage();
  try {
    await page.goto(`http://127.0.0.1:${PORT + 1}/blank`, { timeout: 10000 });
    const started = await page.evaluate(startLoopback, { videoCodec: 'H264' as const });
    expect(!started.error, started.error ?? '');
    await page.waitForFunction(() => ((window as unknown as { whepPlayer?: { video: HTMLVideoElement } }).whepPlayer?.video.currentTime ?? 0) > 0.5, undefined, { timeout: 15000 });
    row.f = await measureSteadyState(page, Date.now(), 'loopback');
    // Reported against the target, gated as the player on BT.1359 (one window, no retake).
    try {
      return `${judge(row.f, MEDIAN_RANGE_MS, WORST_RANGE_MS, true)}; issue target met`;
    } catch (err) {
      if (!(err instanceof TargetMissed)) throw err;
      return `issue target missed (${err.message.split(':')[0]}): ${describe(row.f)}`;
    }
  } finally {
    await page.close();
    server.close();
  }
}

async function main(): Promise<number> {
  const checks = new Checks('browser av-sync');
  const startedAt = Date.now();
  const profile = mkdtempSync(join(tmpdir(), 'whepd-chromium-'));
  let whepd: Whepd | undefined;
  let ctx: BrowserContext | undefined;
  const results: { kind: string; f?: Figures; windows?: number; error?: string }[] = [];
  let version = 'unknown';
  try {
    // On demand: each input's FFmpeg starts with its player's POST, so the window (20-40 s later)
    // ends before the 51.2 s file first loops (a loop shifts Chromium's video timing; see
    // fixtures/make-media.sh), as on a live input; it stops 1 s after its page closed.
    const streams = INPUTS.map((i) => ({ id: i.id, input: i.input, loop: true, onDemand: true, idleTimeoutS: 1, startTimeoutS: 20 }));
    whepd = await startWhepd(MAIN, whepdConfig(PORT, 4, streams), PORT);
    console.log(`browser av-sync: whepd pid ${whepd.pid} at ${whepd.url} (log ${whepd.logPath}), webrtc.shards ${SHARDS}`);
    const launched = await launchChromium(CHROMIUM, profile);
    ctx = launched.ctx;
    version = launched.version;

    if (REFERENCE) {
      const row: (typeof results)[number] = { kind: 'sync.mp4 in a plain `<video src>` (reference)' };
      results.push(row);
      await checks.run('A/V sync measurement on a plain <video src=sync.mp4> (reference): |median| <= 25 ms, worst <= 40 ms', 40000, () =>
        measureReference(ctx!, row).catch((err: unknown) => {
          row.error = err instanceof Error ? err.message : String(err);
          throw err;
        }),
      );
      const loop: (typeof results)[number] = { kind: "Chromium's own sender, page to page (reference)" };
      results.push(loop);
      await checks.run(
        `A/V sync at steady state, Chromium's own sender to itself over RTCPeerConnection, H264 (reference): median ${MEDIAN_RANGE_MS[0]}..+${MEDIAN_RANGE_MS[1]} ms, worst ${WORST_RANGE_MS[0]}..+${WORST_RANGE_MS[1]} ms`,
        15000 + SETTLE_MS + WINDOW_MS + 15000,
        () =>
          measureLoopback(ctx!, loop).catch((err: unknown) => {
            loop.error = err instanceof Error ? err.message : String(err);
            throw err;
          }),
      );
    }

    for (const input of INPUTS) {
      const name =
        `A/V sync at steady state, ${input.input.replace('fixtures/media/', '')} (${input.kind}): ` +
        `median ${MEDIAN_RANGE_MS[0]}..+${MEDIAN_RANGE_MS[1]} ms, worst ${WORST_RANGE_MS[0]}..+${WORST_RANGE_MS[1]} ms over ${MIN_FLASHES} flashes; ` +
        `issue target |median| <= ${TARGET_MEDIAN_MS} ms, worst <= ${TARGET_WORST_MS} ms, concealed audio < ${MAX_CONCEALED * 100}% in one of ${MAX_WINDOWS} windows`;
      const row: (typeof results)[number] = { kind: `${input.input.replace('fixtures/media/', '')} (${input.kind})` };
      results.push(row);
      const measureOnce = async (): Promise<Figures & { whepdHole?: boolean }> => {
        const page = await openPlayer(ctx!, `${whepd!.url}/play/${input.id}?muted=0`);
        try {
          await waitPlayer(page, (s) => s.state === 'playing', 15000, 'playing');
          const playingAt = Date.now();
          const muted = () => page.evaluate(() => (window as unknown as { whepPlayer: { video: HTMLVideoElement } }).whepPlayer.video.muted);
          if (await muted()) await page.click('#unmute');
          expect(!(await muted()), 'player is still muted');
          return await measureSteadyState(page, playingAt, input.kind, { url: whepd!.url, id: input.id });
        } finally {
          await page.close({ runBeforeUnload: true });
        }
      };
      await checks.run(name, MAX_WINDOWS * (15000 + SETTLE_MS + WINDOW_MS + 15000 + STOPPED_WITHIN_MS), async () => {
        try {
          for (let window = 1; ; window++) {
            const f = await measureOnce();
            row.f = f;
            row.windows = window;
            let why: string;
            try {
              const detail = judge(f, MEDIAN_RANGE_MS, WORST_RANGE_MS, true);
              return window > 1 ? `window ${window} of up to ${MAX_WINDOWS}: ${detail}` : detail;
            } catch (err) {
              // With a hole whepd made over the window, the miss is whepd's: never taken again.
              if (window >= MAX_WINDOWS || f.whepdHole !== false) throw err;
              const message = err instanceof Error ? err.message : String(err);
              if (err instanceof TargetMissed) {
                why = `it missed only issue 11's target, and whepd made no hole`;
              } else {
                const stretched = stretchRatio(f);
                if (stretched > MAX_STRETCH) {
                  why = `Chromium was still time-stretching ${(stretched * 100).toFixed(1)}% of the audio in the window (not steady state; above ${MAX_STRETCH * 100}%)`;
                } else if (receiverSeesIt(f)) {
                  why = `Chromium's own estimate (${ms(f.receiverSkewMs ?? NaN)} ms) shows the skew past its ${RECEIVER_SYNC_MS} ms sync threshold and leaves it (a receiver's decision on whepd's reports), and whepd made no hole`;
                } else throw err;
              }
              console.log(`INFO ${input.id}: window ${window} is measured again from a fresh start: ${why}: ${message}`);
            }
            const closedAt = Date.now();
            await waitUntil(
              async () => ffmpegChildren(whepd!.pid, input.input),
              (pids) => pids.length === 0,
              STOPPED_WITHIN_MS,
              (pids) => `the on-demand FFmpeg for ${input.input} (pid ${pids.join(', ')}) was still running ${STOPPED_WITHIN_MS / 1000} s after its viewer left, so another window would not start the file again`,
            );
            console.log(`INFO ${input.id}: its on-demand FFmpeg was gone ${Date.now() - closedAt} ms after window ${window}'s page closed`);
          }
        } catch (err) {
          row.error ??= err instanceof Error ? err.message : String(err);
          throw err;
        }
      });
    }

    if (results.some((r) => r.f)) {
      const date = new Date().toISOString().slice(0, 10);
      const cell = (r: (typeof results)[number]) => {
        const f = r.f;
        if (!f) return `| ${r.kind} | not measured: ${(r.error ?? '').replace(/\|/g, '/').slice(0, 120)} | | | | | | | | | |`;
        const c = f.concealed ? `${(f.concealed.ratio * 100).toFixed(2)}%` : 'n/a';
        const tap = f.tap ? `${ms(f.tap.medianMs)} / ${ms(f.tap.worstMs)} ms (${f.tap.laterMs.toFixed(0)} ms later)` : 'n/a';
        return `| ${r.kind} | ${ms(f.medianMs)} ms | ${ms(f.worstMs)} ms | ${f.offsetsMs.length} | ${f.offsetsMs.map(ms).join(', ')} | ${c} | ${r.windows ?? 1} | ${tap} | ${version} | ${date} | ${SHARDS} |`;
      };
      writePerfSection(
        PERF_DOC,
        '## Browser A/V sync',
        [
          `Measured by \`e2e/browser/av-sync.ts\` (run by \`e2e/browser/run.sh\`, part of \`make e2e\`): one whepd on`,
          `127.0.0.1${NETNS ? ' (in a network namespace with only `lo`)' : ''} plays the three lip-sync fixtures`,
          '(`fixtures/media/sync*`: a white flash and a 1 kHz beep at the same instants, 48 in 51.2 s at irregular',
          'gaps of 0.63 to 1.53 s; fixtures/README.md), on demand: each one\'s FFmpeg starts with its player\'s POST, so',
          'the window ends before the file first loops. Each is opened in turn on the player page (`/play/<id>?muted=0`)',
          `in headless Chromium; from ${SETTLE_MS / 1000} s after it started playing (Chromium's own A/V sync has settled by then),`,
          `flashes and beeps are timed for ${WINDOW_MS / 1000} s on the page's performance clock; the page's taps start when it plays, so any jolt they give`,
          "Chromium's sync is over before the window. Flash: first frame with mean",
          'luma > 200 (32x18 canvas `drawImage` in `requestVideoFrameCallback`), at `expectedDisplayTime`. Beep: first',
          'sample > 0.3 as it leaves the audio output: the time the received audio track handed it to the output',
          '(`MediaStreamTrackProcessor` chunk timestamps, read on the page 0.2-0.4 ms later) plus the delay Chromium reports',
          'for the output from there (`media-playout` `totalPlayoutDelay / totalSamplesCount` over the window: 30.0 ms here).',
          'Pairing: the one lag in +-1 s that puts a beep within 40 ms of most flashes,',
          'then each flash takes its nearest beep within 100 ms of flash + lag; offset = beep minus flash (positive =',
          'audio late). A flash whose first white frame may have been skipped by the callback (`presentedFrames`',
          'jumped) is left out. Offsets move in steps of one 60 Hz display frame (16.7 ms). Concealed =',
          '`concealedSamples` / `totalSamplesReceived` (audio inbound-rtp) over the same window.',
          `Pass: on the last window taken, what people notice (ITU-R BT.1359): median ${MEDIAN_RANGE_MS[0]}..+${MEDIAN_RANGE_MS[1]} ms (detectability), worst ${WORST_RANGE_MS[0]}..+${WORST_RANGE_MS[1]} ms`,
          `(acceptability), >= ${MIN_FLASHES} flashes; and issue 11's target, |median| <= ${TARGET_MEDIAN_MS} ms, worst <= ${TARGET_WORST_MS} ms and concealed < ${MAX_CONCEALED * 100}%, on one of up to ${MAX_WINDOWS}`,
          'windows ("windows" column). A window that misses only the target is measured again from a fresh start if whepd made',
          'no hole over it: neither track was handed to the viewers with more gaps over 100 ms (`whepd_rtp_out_gaps_total`) than it',
          'came from FFmpeg with (`whepd_rtp_in_gaps_total`; both scraped before and after the window), and its main event loop',
          "never held up over 100 ms, so the miss arose outside whepd; if whepd made a hole, it fails at once. Why not every window: Chromium's A/V sync leaves skews it estimates under 30 ms alone (webrtc.org",
          '`kMinDeltaMs`), so where it settles in that band moves from run to run, and now and then it steps or plays the audio',
          "late for a moment: on 2026-12-01 53 of 60 windows met the target, Chromium's own sender 5 of 6, and one window in 78",
          'concealed 1.33% with no packet lost (see below). A window in which Chromium time-stretched more than',
          `${MAX_STRETCH * 100}% of the audio (NetEq samples removed for acceleration plus inserted for deceleration) was not at steady state:`,
          'if it misses the BT.1359 gate while whepd made no hole, it is measured again too; so is a window in which Chromium\'s own',
          `estimate (video minus audio \`estimatedPlayoutTimestamp\`, median) shows the measured skew past its ${RECEIVER_SYNC_MS} ms sync threshold, on the same`,
          `side and within ${RECEIVER_AGREES_MS} ms of the measured median, and whepd made no hole (the receiver sees the skew on whepd's reports and leaves it). Every window's line in the log`,
          'also gives the longest the player went without an audio packet (its audio inbound-rtp polled every 50 ms: report',
          "`timestamp` minus `lastPacketReceivedTimestamp`) and the main process's longest event-loop delay over it.",
          'Until 2026-12-01 the beep was timed by a WebAudio tap (an `AnalyserNode` on the track, its AudioContext time',
          'mapped with `getOutputTimestamp()`), whose figures the "WebAudio tap" column keeps: that tap hears the audio',
          "through a second output path (the source node's FIFO and its own context's latency), 14 to 34 ms later than",
          'the stream plays, by a different amount on every page. Every figure in the next section dated before 2026-12-01 is by the tap.',
          'Cross-check: `AV_SYNC_REFERENCE=1` adds a row for a plain `<video src=sync.mp4>`, still by the WebAudio tap (a media',
          'element has no `media-playout` stats; audio from `captureStream()`, 11.5 s from the start of the file). It read -24 to',
          "+14 ms from run to run (the element's audio reaches the tap in 21 ms chunks; Chromium sometimes shows the file's",
          "video a frame late). It also adds a row for Chromium's own sender (`in-page-loopback.ts`: a page-made flash and",
          'beep sent page to page over RTCPeerConnection, H264), measured and gated exactly as the player.',
          '',
          '| input | median | worst | flashes | offsets (ms) | concealed | windows | WebAudio tap: median / worst (how much later it heard) | Chromium | date | shards |',
          '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
          ...results.map(cell),
          '',
          'How these figures moved with each change, and what they were compared with, is in the next two sections',
          '(kept by hand; this script rewrites only this one).',
        ].join('\n'),
      );
      console.log(`browser av-sync: wrote ${PERF_DOC} (## Browser A/V sync)`);
    }
  } catch (err) {
    checks.failed++;
    console.log(`FAIL browser A/V sync setup: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await ctx?.close().catch(() => {});
    await whepd?.stop();
    rmSync(profile, { recursive: true, force: true });
  }
  console.log(`browser av-sync: runtime ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  console.log(checks.summary());
  return checks.failed === 0 ? 0 : 1;
}

process.exitCode = await main();
