/**
 * Headless Chromium in the `viewer` namespace of e2e/nat/run.sh: opens whepd's own player page
 * through the NAT (http://203.0.113.10:<port>/play/demo), waits (bounded) for it to play, then
 * reads the <video> element over a short window. Prints one JSON line and never judges: the
 * advertised run expects playing, the control expects it not to, and run.sh decides.
 *
 *   { "state": "playing", "ttff_ms": 812, "width": 640, "height": 360, "fps": 30, "history": [...] }
 *
 * ttff_ms is the player's own time to first frame (window.whepPlayer.ttffMs); fps counts decoded
 * frames of the <video> element (getVideoPlaybackQuality) over --measure-ms.
 *
 *   node --import=tsx e2e/nat/chromium.ts <player URL> [--wait-ms 15000] [--measure-ms 3000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, openPlayer, playerState, sleep } from '../browser/shared.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}
const url = process.argv[2] ?? '';
const waitMs = Number(arg('wait-ms', '15000'));
const measureMs = Number(arg('measure-ms', '3000'));
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

setTimeout(() => {
  console.error('chromium.ts: watchdog fired');
  process.exit(3);
}, waitMs + measureMs + 45_000).unref();

const profile = mkdtempSync(join(tmpdir(), 'whepd-nat-chromium-'));
const { ctx, version } = await launchChromium(chromiumPath, profile);
try {
  const page = await openPlayer(ctx, url);
  const deadline = Date.now() + waitMs;
  let s = await playerState(page);
  while (s.state !== 'playing' && Date.now() < deadline) {
    await sleep(100);
    s = await playerState(page);
  }
  const frames = (): Promise<{ n: number; w: number; h: number }> =>
    page.evaluate(() => {
      const v = document.querySelector('video');
      return { n: v?.getVideoPlaybackQuality().totalVideoFrames ?? 0, w: v?.videoWidth ?? 0, h: v?.videoHeight ?? 0 };
    });
  const a = await frames();
  const t0 = Date.now();
  await sleep(measureMs);
  const b = await frames();
  s = await playerState(page);
  console.log(
    JSON.stringify({
      chromium: version,
      state: s.state,
      ttff_ms: s.ttffMs === undefined ? null : Math.round(s.ttffMs),
      width: b.w,
      height: b.h,
      fps: Math.round(((b.n - a.n) * 10000) / (Date.now() - t0)) / 10,
      status: s.status,
      history: s.history.slice(-6),
    }),
  );
} finally {
  await ctx.close().catch(() => undefined);
  rmSync(profile, { recursive: true, force: true });
}
