/** What driver.ts and av-sync.ts share: the Chromium launch, whepd's config, the player page. */
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { execFileSync } from 'node:child_process';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

/** Headless Chromium with a fresh profile in `profileDir`, audio not muted. */
export async function launchChromium(executablePath: string, profileDir: string): Promise<{ ctx: BrowserContext; version: string }> {
  const ctx = await chromium.launchPersistentContext(profileDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    ignoreDefaultArgs: ['--mute-audio'],
  });
  // tsx (esbuild keepNames) wraps functions in __name(); page.evaluate ships their source as-is.
  await ctx.addInitScript('globalThis.__name = (f) => f;');
  const version = ctx.browser()?.version() ?? execFileSync(executablePath, ['--version'], { encoding: 'utf8' }).trim();
  return { ctx, version };
}

/** whepd's config for a browser e2e run (E2E_SHARDS sets webrtc.shards). */
export function whepdConfig(port: number, viewersPerStream: number, streams: object[]): object {
  return {
    http: { listen: `127.0.0.1:${port}` },
    // E2E_SHARDS puts the viewers' peers in that many shard processes (webrtc.shards).
    webrtc: { bindAddress: '127.0.0.1', iceServers: [], shards: Number(process.env.E2E_SHARDS ?? 0) },
    limits: { viewersPerStream, viewersTotal: 64 },
    log: { level: 'info' },
    // A 5 s restart delay keeps the stream "not live" long enough for the player to say so.
    ffmpeg: { restartMinMs: 5000, restartMaxMs: 10000 },
    streams,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The player page's state, as `window.whepPlayer` and #status show it. */
export interface PlayerState {
  state: string;
  history: string[];
  ttffMs: number | undefined;
  status: string;
  /** Server-sent events the page heard, and the viewer count it shows. */
  events: string[];
  viewers: number | undefined;
}

export async function playerState(page: Page): Promise<PlayerState> {
  return page.evaluate(() => {
    const p = (window as unknown as { whepPlayer?: { state: string; history: string[]; ttffMs?: number; events?: string[]; viewers?: number } }).whepPlayer;
    return {
      state: p?.state ?? 'none',
      history: [...(p?.history ?? [])],
      ttffMs: p?.ttffMs,
      status: document.getElementById('status')?.textContent ?? '',
      events: [...(p?.events ?? [])],
      viewers: p?.viewers,
    };
  });
}

/** Polls the player page every 100 ms until `cond`; throws with its state after `timeoutMs`. */
export async function waitPlayer(page: Page, cond: (s: PlayerState) => boolean, timeoutMs: number, what: string): Promise<PlayerState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await playerState(page);
    if (cond(s)) return s;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (state ${s.state}, status "${s.status}", history ${JSON.stringify(s.history.slice(-6))})`);
    await sleep(100);
  }
}

export async function openPlayer(ctx: BrowserContext, url: string): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(url, { timeout: 10000, waitUntil: 'domcontentloaded' });
  return page;
}
