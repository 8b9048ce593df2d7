/**
 * Firefox end-to-end checks: headless firefox-esr (Debian, no OpenH264, so its offers carry VP8,
 * VP9 and AV1 only) plays whepd's player page from the real binary, once with a complete offer and
 * once with trickle ICE. Run by e2e/firefox/run.sh inside a network namespace; prints PASS/FAIL
 * lines, `  note:` lines with time to first frame and fps, and `firefox driver: N passed, N failed`.
 *
 * Environment: FIREFOX (default /usr/bin/firefox-esr), WHEPD_MAIN (default dist/cmd/whepd/main.js),
 * E2E_PORT (default 8889), E2E_ICE_ADDRESS (whepd's webrtc.bindAddress, the namespace's address
 * Firefox gathers on; default 127.0.0.1), FIREFOX_DIR (where the profile and logs go; default a
 * new temp dir, removed at the end), FIREFOX_SAVE_OFFERS=<dir> (writes the offers Firefox POSTed
 * as firefox-esr-<major>.sdp and firefox-esr-<major>-trickle.sdp).
 */
import type { Page } from 'puppeteer-core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Checks, expect, firstGoodWindow, waitUntil } from '../browser/checks.js';
import { describePlayer, readPlayer, sampleStats } from '../browser/in-page.js';
import { startWhepd, whepdConfig } from '../browser/whepd-process.js';
import type { Whepd } from '../browser/whepd-process.js';
import { launchFirefox, newPage } from './firefox.js';
import type { Firefox } from './firefox.js';
import { recordWhep, whepRequests } from './in-page.js';
import type { WhepRequest } from './in-page.js';
import { figures, judgeAudio, judgeVideo } from './judge.js';
import type { Figures } from './judge.js';
import { describeOffer, formatOffer } from './offer.js';

const MAIN = resolve(process.env.WHEPD_MAIN ?? 'dist/cmd/whepd/main.js');
const FIREFOX = process.env.FIREFOX ?? '/usr/bin/firefox-esr';
const PORT = Number(process.env.E2E_PORT ?? 8889);
const ICE_ADDRESS = process.env.E2E_ICE_ADDRESS ?? '127.0.0.1';
const SAVE_OFFERS = process.env.FIREFOX_SAVE_OFFERS ?? '';

/** The player page in one mode, and the first POST it made (with whepd's answer). */
interface Visit {
  page: Page;
  post: WhepRequest;
}

/** Opens /play/demo with `trickle`, waits (bounded) for its first POST to be answered. */
async function visit(ff: Firefox, base: string, trickle: boolean): Promise<Visit> {
  const page = await newPage(ff.browser);
  await page.evaluateOnNewDocument(recordWhep);
  await page.goto(`${base}/play/demo?trickle=${trickle ? 1 : 0}`, { waitUntil: 'domcontentloaded', timeout: 10_000 });
  const posts = await waitUntil(
    () => page.evaluate(whepRequests),
    (r) => r.some((x) => x.method === 'POST' && x.status !== -1),
    15_000,
    (r) => `no answered POST from the player within 15 s (${r.length} WHEP requests; player ${JSON.stringify(r)})`,
  );
  return { page, post: posts.find((x) => x.method === 'POST')! };
}

/** Fails unless the POST got a session: whepd's refusal (406 until VP8 lands) is the message. */
function answered(post: WhepRequest): void {
  expect(post.status === 201, `whepd answered ${post.status}: ${post.answer.trim().replace(/\s+/g, ' ').slice(0, 400)}`);
}

// Stats windows read before giving up (see firstGoodWindow): the check is whether Firefox plays
// whepd's VP8, not whether the box was quiet for one particular 3 s.
const STATS_WINDOWS = 3;

/**
 * Waits for the first frame, lets 1 s pass, then reads 3 s stats windows of the player's peer
 * until one meets both judges (at most STATS_WINDOWS); returns that one, or the last.
 */
async function watch(page: Page): Promise<{ ttffMs: number; f: Figures; windows: number }> {
  const s = await waitUntil(() => page.evaluate(readPlayer), (x) => x.state === 'playing' && x.ttffMs !== undefined, 10_000, (x) => `first frame: ${describePlayer(x, 10_000)}`);
  await new Promise((r) => setTimeout(r, 1000));
  const good = await firstGoodWindow(
    async () => figures(await page.evaluate(sampleStats, { ms: 3000, source: 'player' })),
    (f) => `${judgeVideo(f, 'video/VP8')}; ${judgeAudio(f)}`,
    STATS_WINDOWS,
  );
  return { ttffMs: s.ttffMs!, f: good.value, windows: good.window };
}

function note(mode: string, ttffMs: number, f: Figures, windows: number): void {
  const which = windows > 1 ? ` (stats window ${windows} of ${STATS_WINDOWS})` : '';
  console.log(`  note: firefox ${mode}: first frame ${ttffMs.toFixed(0)} ms after POST; ${f.fps.toFixed(1)} fps; ${f.audioSamplesPerS.toFixed(0)} audio samples/s, ${(f.concealed * 100).toFixed(1)} % concealed${which}`);
}

async function main(): Promise<number> {
  const checks = new Checks('firefox driver');
  const dir = process.env.FIREFOX_DIR ?? mkdtempSync(join(tmpdir(), 'whepd-firefox-'));
  let whepd: Whepd | undefined;
  let ff: Firefox | undefined;
  try {
    const streams = [{ id: 'demo', input: 'fixtures/media/demo.mp4', loop: true }];
    whepd = await startWhepd(MAIN, whepdConfig(PORT, 8, streams, ICE_ADDRESS), PORT);
    ff = await launchFirefox(FIREFOX, dir);
    console.log(`firefox: ${ff.version} (pid ${ff.pid}), whepd pid ${whepd.pid} at ${whepd.url}, peers on ${ICE_ADDRESS} (log ${whepd.logPath})`);
    const major = ff.version.split('/')[1]?.split('.')[0] ?? 'unknown';

    // 1. Complete offer (the player waits for ICE gathering, then POSTs).
    const full = await visit(ff, whepd.url, false);
    if (SAVE_OFFERS) writeFileSync(join(SAVE_OFFERS, `firefox-esr-${major}.sdp`), full.post.body);
    const offer = describeOffer(full.post.body);
    await checks.run('firefox/offer-has-no-h264', 1000, async () => {
      const codecs = offer.sections.flatMap((m) => m.codecs.map((c) => c.toUpperCase()));
      expect(!codecs.includes('H264'), `the offer has H264 (this Firefox has OpenH264, so the VP8 fallback is not exercised): ${formatOffer(offer)}`);
      expect(offer.sections.some((m) => m.kind === 'video' && m.codecs.includes('VP8')), `no VP8 on a video m-line: ${formatOffer(offer)}`);
      return formatOffer(offer);
    });
    await checks.run('firefox/gathers-host-candidate', 1000, async () => {
      expect(offer.udpHosts.some((h) => h.startsWith(`${ICE_ADDRESS}:`)), `no UDP host candidate on ${ICE_ADDRESS}; candidates: ${JSON.stringify(offer.candidates)}`);
      return `UDP host ${offer.udpHosts.join(' ')}; ${offer.candidates.length} candidates in the offer`;
    });
    let seen: { ttffMs: number; f: Figures; windows: number } | undefined;
    await checks.run('firefox/vp8-decodes', 30_000, async () => {
      answered(full.post);
      seen = await watch(full.page);
      return `${judgeVideo(seen.f, 'video/VP8')}; first frame ${seen.ttffMs.toFixed(0)} ms after POST`;
    });
    await checks.run('firefox/audio-decodes', 1000, async () => {
      answered(full.post);
      expect(seen !== undefined, 'no stats window (the video check failed before it was read)');
      return judgeAudio(seen.f);
    });
    if (seen) note('non-trickle', seen.ttffMs, seen.f, seen.windows);
    await full.page.close({ runBeforeUnload: true });

    // 2. Trickle ICE (the player's default): the offer right after setLocalDescription, PATCHes.
    const tr = await visit(ff, whepd.url, true);
    if (SAVE_OFFERS) writeFileSync(join(SAVE_OFFERS, `firefox-esr-${major}-trickle.sdp`), tr.post.body);
    await checks.run('firefox/trickle', 35_000, async () => {
      answered(tr.post);
      const { ttffMs, f, windows } = await watch(tr.page);
      const patches = (await tr.page.evaluate(whepRequests)).filter((x) => x.method === 'PATCH').map((x) => x.status);
      expect(patches.length > 0 && patches.every((s) => s === 204), `PATCH answers ${JSON.stringify(patches)}, want 204s`);
      note('trickle', ttffMs, f, windows);
      return `${judgeVideo(f, 'video/VP8')}; ${judgeAudio(f)}; PATCH ${patches.join(' ')}; ${describeOffer(tr.post.body).candidates.length} candidates in the offer`;
    });
    await tr.page.close({ runBeforeUnload: true });
  } catch (err) {
    checks.failed++;
    console.log(`FAIL firefox/setup: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await ff?.close();
    await whepd?.stop();
    if (!process.env.FIREFOX_DIR) rmSync(dir, { recursive: true, force: true });
  }
  console.log(checks.summary());
  return checks.failed === 0 ? 0 : 1;
}

process.exitCode = await main();
