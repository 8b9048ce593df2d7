/** What driver.ts and av-sync.ts share: the Chromium launch and the player page. */
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { waitUntil } from './checks.js';
import { describePlayer, readPlayer } from './in-page.js';
import type { PlayerState } from './in-page.js';

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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type { PlayerState } from './in-page.js';

/** The player page's state (window.whepPlayer and #status). */
export async function playerState(page: Page): Promise<PlayerState> {
  return page.evaluate(readPlayer);
}

/** Polls the player page every 100 ms until `cond`; throws with its state after `timeoutMs`. */
export async function waitPlayer(page: Page, cond: (s: PlayerState) => boolean, timeoutMs: number, what: string): Promise<PlayerState> {
  return waitUntil(() => playerState(page), cond, timeoutMs, (s) => `${what}: ${describePlayer(s, timeoutMs)}`);
}

export async function openPlayer(ctx: BrowserContext, url: string): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(url, { timeout: 10000, waitUntil: 'domcontentloaded' });
  return page;
}
