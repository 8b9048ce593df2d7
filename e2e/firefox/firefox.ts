/** Headless Firefox (Debian's firefox-esr) driven by puppeteer-core over WebDriver BiDi. */
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Preferences on top of Puppeteer's own automation profile. Host candidates are written as
 * addresses: by default Firefox hides them behind mDNS names (RFC 8828 section 5.2), which nothing
 * in the test namespace resolves. No other pref is needed; e2e/firefox/run.sh explains the network
 * side (an address that is not loopback, and a default route).
 */
export const FIREFOX_PREFS: Readonly<Record<string, unknown>> = {
  'media.peerconnection.ice.obfuscate_host_addresses': false,
};

/** A running Firefox; `close()` ends it (gracefully, then by PID) and is safe to call twice. */
export interface Firefox {
  browser: Browser;
  /** e.g. firefox/153.8.0 */
  version: string;
  pid: number | undefined;
  close: () => Promise<void>;
}

/**
 * Launches `executablePath` headless with a fresh profile in `dir`/profile; HOME is `dir` too, so
 * Firefox's caches and its Downloads folder land there and not in the user's home.
 */
export async function launchFirefox(executablePath: string, dir: string): Promise<Firefox> {
  const profile = join(dir, 'profile');
  mkdirSync(profile, { recursive: true });
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath,
    headless: true,
    userDataDir: profile,
    extraPrefsFirefox: { ...FIREFOX_PREFS },
    env: { ...process.env, HOME: dir },
    timeout: 30_000,
  });
  const child = browser.process();
  const pid = child?.pid;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([browser.close().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
      // Only the PID Puppeteer started; its content processes go with it (run.sh ends any leftover
      // process of its namespace).
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    })());
  return { browser, version: await browser.version(), pid, close };
}

/**
 * A new tab. tsx (esbuild keepNames) wraps functions in __name(); page.evaluate ships their source
 * as it is, so the page gets a no-op __name before its own scripts run.
 */
export async function newPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  await page.evaluateOnNewDocument('globalThis.__name = (f) => f;');
  return page;
}
