/**
 * Issue 11's reference: the steady-state lip sync of whepd and of Janus (Debian's `janus`,
 * streaming plugin, RTP mountpoint) measured by the same harness, alternating, in one headless
 * Chromium. Both get the same fixture from the same FFmpeg argv (internal/ffmpeg buildFfmpegArgs,
 * the video plan of internal/supervisor planVideo: copy or x264, libopus, -start_time_realtime,
 * RTCP SRs to each output's rtcp port); both are measured by in-page-lip-sync.ts (20 s settle from
 * "playing", 20 s window) and judged by lip-sync-figures.ts, and Chromium's own sync counters
 * (in-page-sync-stats.ts) are sampled over the same window. Not part of `make e2e`: run it with
 * e2e/browser/reference-janus.sh (a namespace with lo and a veth pair for Janus's ICE).
 *
 * Environment: REF_INPUTS (ids, default sync-mp4,sync-high; also sync-ts), REF_ROUNDS (default 3),
 * REF_SERVERS (default whepd,janus), JANUS_ICE_ADDRESS (default 10.99.0.1), E2E_PORT (default 18890;
 * whepd on +7, Janus HTTP on +8, the reference page on +9), REF_OUT (a JSON file for every figure).
 */
import type { BrowserContext, Page } from 'playwright-core';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildFfmpegArgs } from '../../internal/ffmpeg/index.js';
import { planVideo } from '../../internal/supervisor/index.js';
import { measureLipSync } from './in-page-lip-sync.js';
import { sampleSyncStats } from './in-page-sync-stats.js';
import type { SyncSnapshot } from './in-page-sync-stats.js';
import { describe, figures, ms } from './lip-sync-figures.js';
import { describeSync, summarizeSync } from './sync-summary.js';
import type { SyncSummary } from './sync-summary.js';
import type { Figures } from './lip-sync-figures.js';
import { JanusViewer, mountPorts, startJanus } from './janus-process.js';
import type { Janus, MountPorts } from './janus-process.js';
import { startWhepd, whepdConfig } from './whepd-process.js';
import type { Whepd } from './whepd-process.js';
import { launchChromium, openPlayer, sleep, waitPlayer } from './shared.js';

const MAIN = resolve(process.env.WHEPD_MAIN ?? 'dist/cmd/whepd/main.js');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const BASE = Number(process.env.E2E_PORT ?? 18890);
const ROUNDS = Math.min(10, Number(process.env.REF_ROUNDS ?? 3));
const SERVERS = (process.env.REF_SERVERS ?? 'whepd,janus').split(',') as ('whepd' | 'janus')[];
const ICE_ADDRESS = process.env.JANUS_ICE_ADDRESS ?? '10.99.0.1';
// The same as av-sync.ts.
const SETTLE_MS = 20000;
const WINDOW_MS = 20000;

const ALL_INPUTS = [
  { id: 'sync-ts', input: 'fixtures/media/sync.ts', kind: 'copied MPEG-TS' },
  { id: 'sync-mp4', input: 'fixtures/media/sync.mp4', kind: 'copied MP4' },
  { id: 'sync-high', input: 'fixtures/media/sync-high.mp4', kind: 're-encoded' },
];
const INPUTS = (process.env.REF_INPUTS ?? 'sync-mp4,sync-high').split(',').map((id) => {
  const i = ALL_INPUTS.findIndex((x) => x.id === id);
  if (i < 0) throw new Error(`REF_INPUTS: unknown input ${id}`);
  return { ...ALL_INPUTS[i]!, ports: mountPorts(i + 1) };
});

/** One measurement: which server, which input, the figures and the machine's load. */
interface Row {
  round: number;
  server: 'whepd' | 'janus';
  input: string;
  startedAt: string;
  load: number[];
  f?: Figures;
  sync?: SyncSummary;
  snapshots?: SyncSnapshot[];
  error?: string;
}

/** Waits for "playing", the settle, then the lip-sync window and the stats sampling side by side. */
async function measure(page: Page, row: Row): Promise<void> {
  const playingAt = Date.now();
  await sleep(Math.max(0, playingAt + SETTLE_MS - Date.now()));
  row.load = loadavg().map((v) => Number(v.toFixed(2)));
  const [w, st] = await Promise.all([
    page.evaluate(measureLipSync, { ms: WINDOW_MS, source: 'player' as const }),
    page.evaluate(sampleSyncStats, { ms: WINDOW_MS, everyMs: 1000 }),
  ]);
  if (w.error) throw new Error(w.error);
  if (w.reconnected) throw new Error('the player reconnected during the measurement');
  row.f = figures(row.input, w);
  row.snapshots = st.snapshots;
  const sync = summarizeSync(st.snapshots);
  if (sync) row.sync = sync;
}

async function measureWhepd(ctx: BrowserContext, whepd: Whepd, input: (typeof INPUTS)[number], row: Row): Promise<void> {
  const page = await openPlayer(ctx, `${whepd.url}/play/${input.id}?muted=0`);
  try {
    await waitPlayer(page, (s) => s.state === 'playing', 15000, 'playing');
    const muted = () => page.evaluate(() => (window as unknown as { whepPlayer: { video: HTMLVideoElement } }).whepPlayer.video.muted);
    if (await muted()) await page.click('#unmute');
    if (await muted()) throw new Error('player is still muted');
    await measure(page, row);
  } finally {
    await page.close({ runBeforeUnload: true });
  }
}

// The player page's video styling (internal/player/pages.ts), so both play at the same size.
const PAGE = '<!doctype html><html><head><meta charset="utf-8"><style>html,body{margin:0;height:100%;background:#000}video{position:absolute;inset:0;width:100%;height:100%;object-fit:contain;background:#000}</style></head><body><video id="v" autoplay playsinline></video></body></html>';

async function pageServer(port: number): Promise<Server> {
  const server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE));
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(port, '127.0.0.1', ok));
  return server;
}

/** In the page: answers Janus's offer (non-trickle: after gathering) and plays the tracks; exposes window.whepPlayer. */
async function answerInPage(offer: string): Promise<string> {
  const video = document.getElementById('v') as HTMLVideoElement;
  const pc = new RTCPeerConnection({ iceServers: [] });
  const media = new MediaStream();
  pc.ontrack = (ev) => {
    media.addTrack(ev.track);
    if (video.srcObject !== media) video.srcObject = media;
    video.play().catch(() => {});
  };
  (window as unknown as { whepPlayer: object }).whepPlayer = { video, pc };
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  await pc.setLocalDescription(await pc.createAnswer());
  await new Promise<void>((ok) => {
    if (pc.iceGatheringState === 'complete') return ok();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && ok());
    setTimeout(ok, 3000);
  });
  return pc.localDescription!.sdp;
}

/** Spawns the input's FFmpeg exactly as whepd's supervisor would, towards the mountpoint's ports. */
async function spawnFfmpeg(input: { input: string }, p: MountPorts): Promise<{ pid: number; stop: () => Promise<void>; stderr: () => string }> {
  const { probe, transcode } = await planVideo({ input: input.input, inputArgs: [], loop: true, video: 'auto', ffprobePath: 'ffprobe', probeTimeoutMs: 10000 }, AbortSignal.timeout(15000));
  const ssrc = () => (Math.random() * 0xffffffff) >>> 0;
  const args = buildFfmpegArgs({
    input: input.input,
    inputArgs: [],
    loop: true,
    realtime: true,
    transcodeVideo: transcode,
    keyframeIntervalS: 1,
    videoBitrateKbps: 2500,
    audioBitrateKbps: 96,
    ...(probe.video?.frameRate ? { frameRate: probe.video.frameRate } : {}),
    videoPort: p.videoPort,
    audioPort: p.audioPort,
    videoSender: { ssrc: ssrc(), rtcpPort: p.videoRtcpPort, localRtpPort: p.ffmpegVideoRtp, localRtcpPort: p.ffmpegVideoRtcp },
    audioSender: { ssrc: ssrc(), rtcpPort: p.audioRtcpPort, localRtpPort: p.ffmpegAudioRtp, localRtcpPort: p.ffmpegAudioRtcp },
    startTimeRealtimeUs: Date.now() * 1000,
  });
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  let exited = false;
  const exit = new Promise<void>((ok) => child.once('exit', () => ((exited = true), ok())));
  if (child.pid === undefined) throw new Error('ffmpeg did not start');
  return {
    pid: child.pid,
    stderr: () => err,
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(t);
    },
  };
}

async function measureJanus(ctx: BrowserContext, janus: Janus, pageUrl: string, input: (typeof INPUTS)[number], row: Row): Promise<void> {
  // FFmpeg starts with the viewer, as whepd's on-demand stream does with its POST.
  const ffmpeg = await spawnFfmpeg(input, input.ports);
  const page = await ctx.newPage();
  let viewer: JanusViewer | undefined;
  try {
    await page.goto(pageUrl, { timeout: 10000, waitUntil: 'domcontentloaded' });
    viewer = await JanusViewer.open(janus.url);
    const offer = await viewer.watch(input.ports.id);
    const answer = await page.evaluate(answerInPage, offer);
    await viewer.start(answer);
    await page.waitForFunction(() => {
      const v = document.getElementById('v') as HTMLVideoElement;
      return v.currentTime > 0 && !v.paused && (v.srcObject as MediaStream | null)?.getAudioTracks().length === 1;
    }, undefined, { timeout: 15000, polling: 100 });
    if (await page.evaluate(() => (document.getElementById('v') as HTMLVideoElement).muted)) throw new Error('reference page is muted');
    await measure(page, row);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; ffmpeg: ${ffmpeg.stderr().slice(-300)}`);
  } finally {
    await page.close();
    await viewer?.close();
    await ffmpeg.stop();
  }
}

function line(r: Row): string {
  const s = r.sync;
  const sync = s ? `; ${describeSync(s)}` : '';
  return `round ${r.round} ${r.server} ${r.input} (load ${r.load.join(' ')}): ${r.f ? describe(r.f) + sync : `not measured: ${r.error}`}`;
}

async function main(): Promise<number> {
  const profile = mkdtempSync(join(tmpdir(), 'whepd-chromium-'));
  const rows: Row[] = [];
  let whepd: Whepd | undefined;
  let janus: Janus | undefined;
  let server: Server | undefined;
  let ctx: BrowserContext | undefined;
  try {
    if (SERVERS.includes('whepd')) {
      const streams = INPUTS.map((i) => ({ id: i.id, input: i.input, loop: true, onDemand: true, idleTimeoutS: 1, startTimeoutS: 20 }));
      whepd = await startWhepd(MAIN, whepdConfig(BASE + 7, 4, streams), BASE + 7);
      console.log(`reference: whepd pid ${whepd.pid} (log ${whepd.logPath})`);
    }
    if (SERVERS.includes('janus')) {
      janus = await startJanus({ httpPort: BASE + 8, iceAddress: ICE_ADDRESS, mounts: INPUTS.map((i) => ({ name: i.id, ports: i.ports })) });
      server = await pageServer(BASE + 9);
      console.log(`reference: janus pid ${janus.pid} (log ${janus.logPath})`);
    }
    const launched = await launchChromium(CHROMIUM, profile);
    ctx = launched.ctx;
    console.log(`reference: Chromium ${launched.version}, ${ROUNDS} rounds of ${INPUTS.map((i) => i.id).join(', ')} on ${SERVERS.join(', ')}`);
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate which server goes first, so neither always follows the other.
      const order = round % 2 ? SERVERS : [...SERVERS].reverse();
      for (const input of INPUTS) {
        for (const srv of order) {
          const row: Row = { round, server: srv, input: input.id, startedAt: new Date().toISOString(), load: loadavg().map((v) => Number(v.toFixed(2))) };
          rows.push(row);
          try {
            if (srv === 'whepd') await measureWhepd(ctx, whepd!, input, row);
            else await measureJanus(ctx, janus!, `http://127.0.0.1:${BASE + 9}/`, input, row);
          } catch (err) {
            row.error = err instanceof Error ? err.message : String(err);
          }
          console.log(line(row));
          // whepd's on-demand FFmpeg stops 1 s after its viewer left.
          await sleep(2000);
        }
      }
    }
  } catch (err) {
    console.log(`reference: setup failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await ctx?.close().catch(() => {});
    await whepd?.stop();
    await janus?.stop();
    server?.close();
    rmSync(profile, { recursive: true, force: true });
  }
  console.log('\n| input | round | server | median | worst | paired | concealed | video jb / target | audio jb / target | est. playout v-a | load (1/5/15 min) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of [...rows].sort((x, y) => x.input.localeCompare(y.input) || x.round - y.round || x.server.localeCompare(y.server))) {
    const f = r.f;
    const s = r.sync;
    const c = f?.concealed ? `${(f.concealed.ratio * 100).toFixed(2)}%` : 'n/a';
    console.log(
      f
        ? `| ${r.input} | ${r.round} | ${r.server} | ${ms(f.medianMs)} | ${ms(f.worstMs)} | ${f.offsetsMs.length} | ${c} | ${s ? `${s.videoJitterBufferMs.toFixed(0)} / ${s.videoTargetMs.toFixed(0)}` : ''} | ${s ? `${s.audioJitterBufferMs.toFixed(0)} / ${s.audioTargetMs.toFixed(0)}` : ''} | ${s?.playoutSkewMs ? ms(s.playoutSkewMs.median) : ''} | ${r.load.join(' ')} |`
        : `| ${r.input} | ${r.round} | ${r.server} | not measured | | | | | | | ${r.load.join(' ')} |`,
    );
  }
  if (process.env.REF_OUT) writeFileSync(process.env.REF_OUT, JSON.stringify(rows, null, 2));
  return rows.length > 0 && rows.every((r) => r.f) ? 0 : 1;
}

process.exitCode = await main();
