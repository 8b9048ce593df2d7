/**
 * Headless Chromium in a viewer namespace of e2e/nat/run.sh or e2e/turn/run.sh: opens whepd's own
 * player page (http://203.0.113.10:<port>/play/demo), waits (bounded) for it to play, then reads
 * the <video> element over a short window. Prints one JSON line and never judges: the advertised
 * run expects playing, the control expects it not to, and run.sh decides.
 *
 *   { "state": "playing", "ttff_ms": 812, "width": 640, "height": 360, "fps": 30, "history": [...],
 *     "ice": { "peers": 1, "states": ["checking>connected"], "local": ["relay/udp"],
 *              "pairs": { "succeeded": 1 }, "pair": { "local": "relay/udp", "remote": "host" } } }
 *
 * ttff_ms is the player's own time to first frame (window.whepPlayer.ttffMs, from its POST);
 * playing_ms is from the page load to the first poll that saw it playing (100 ms polls), so it
 * includes the OPTIONS, the TURN allocation and gathering. fps counts decoded frames of the
 * <video> element (getVideoPlaybackQuality) over --measure-ms. `ice` sums up getStats() of every
 * peer the player made (recordIce): their ICE state histories, the local candidate kinds (a relay
 * one with its relayProtocol, the transport between the browser and the TURN server), the last
 * peer's candidate pairs by state and the last selected pair. --relay makes every
 * RTCPeerConnection of the page use iceTransportPolicy "relay" (relay candidates only).
 *
 *   node --import=tsx e2e/nat/chromium.ts <player URL> [--wait-ms 15000] [--measure-ms 3000] [--relay]
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
const relay = process.argv.includes('--relay');

/** What the page's ICE recorder keeps per RTCPeerConnection (see recordIce). */
interface IceRecord {
  states: string[];
  local: string[];
  pairs: Record<string, number>;
  pair: { local: string | null; remote: string | null } | null;
}

/**
 * Runs in the page before its scripts (an init script, so self-contained): wraps
 * RTCPeerConnection so that each peer the player makes (it makes a new one per retry) is recorded
 * in window.__iceRecords: its ICE connection states, and at each state change a getStats()
 * snapshot of the local candidates (relay ones with their relayProtocol, the transport to the
 * TURN server), the candidate pairs by state and the selected pair. Snapshots are taken at the
 * change itself because a player that gives up closes its peer at once. With `relay` every peer
 * gets iceTransportPolicy "relay".
 */
function recordIce(relay: boolean): void {
  const Native = window.RTCPeerConnection;
  const records: IceRecord[] = [];
  (window as unknown as { __iceRecords: IceRecord[] }).__iceRecords = records;
  const kind = (c: Record<string, unknown> | undefined): string | null =>
    c === undefined ? null : c.candidateType === 'relay' ? `relay/${String(c.relayProtocol)}` : String(c.candidateType);
  const snapshot = (pc: RTCPeerConnection, rec: IceRecord): Promise<void> =>
    pc.getStats().then((report) => {
      const byId = new Map<string, Record<string, unknown>>();
      report.forEach((st: Record<string, unknown>) => byId.set(String(st.id), st));
      const local = new Set(rec.local);
      const pairs: Record<string, number> = {};
      for (const st of byId.values()) {
        if (st.type === 'local-candidate') local.add(kind(st) ?? '?');
        if (st.type === 'candidate-pair') pairs[String(st.state)] = (pairs[String(st.state)] ?? 0) + 1;
        if (st.type === 'transport' && typeof st.selectedCandidatePairId === 'string') {
          const p = byId.get(st.selectedCandidatePairId);
          rec.pair = { local: kind(byId.get(String(p?.localCandidateId))), remote: kind(byId.get(String(p?.remoteCandidateId))) };
        }
      }
      rec.local = [...local].sort();
      if (Object.keys(pairs).length > 0) rec.pairs = pairs;
    });
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super(relay ? { ...config, iceTransportPolicy: 'relay' } : config);
      const rec: IceRecord = { states: [], local: [], pairs: {}, pair: null };
      records.push(rec);
      this.addEventListener('iceconnectionstatechange', () => {
        rec.states.push(this.iceConnectionState);
        void snapshot(this, rec).catch(() => undefined);
      });
      (this as unknown as { __snapshot: () => Promise<void> }).__snapshot = () => snapshot(this, rec);
    }
  };
}

/** The records of every peer the page made, the live one's refreshed first. */
async function iceRecords(): Promise<IceRecord[]> {
  const pc = (window as unknown as { whepPlayer?: { pc?: { __snapshot?: () => Promise<void> } } }).whepPlayer?.pc;
  await pc?.__snapshot?.().catch(() => undefined);
  return (window as unknown as { __iceRecords?: IceRecord[] }).__iceRecords ?? [];
}

/** One summary over every peer: how many, their state histories, every local candidate kind, the
 * last peer's pairs by state and the last selected pair. */
function summarize(records: IceRecord[]): object {
  const last = records.at(-1);
  return {
    peers: records.length,
    states: records.map((r) => r.states.join('>')),
    local: [...new Set(records.flatMap((r) => r.local))].sort(),
    pairs: last?.pairs ?? {},
    pair: [...records].reverse().find((r) => r.pair !== null)?.pair ?? null,
  };
}

setTimeout(() => {
  console.error('chromium.ts: watchdog fired');
  process.exit(3);
}, waitMs + measureMs + 45_000).unref();

const profile = mkdtempSync(join(tmpdir(), 'whepd-nat-chromium-'));
const { ctx, version } = await launchChromium(chromiumPath, profile);
try {
  await ctx.addInitScript(recordIce, relay);
  const loadedAt = Date.now();
  const page = await openPlayer(ctx, url);
  const deadline = Date.now() + waitMs;
  let s = await playerState(page);
  while (s.state !== 'playing' && Date.now() < deadline) {
    await sleep(100);
    s = await playerState(page);
  }
  const playingMs = s.state === 'playing' ? Date.now() - loadedAt : null;
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
      playing_ms: playingMs,
      width: b.w,
      height: b.h,
      fps: Math.round(((b.n - a.n) * 10000) / (Date.now() - t0)) / 10,
      status: s.status,
      history: s.history.slice(-6),
      ice: summarize(await page.evaluate(iceRecords)),
    }),
  );
  // Leaving the page fires pagehide: the player DELETEs its session (keepalive) instead of
  // leaving whepd to notice the silence.
  await page.goto('about:blank', { timeout: 2000 }).catch(() => undefined);
  await sleep(300);
} finally {
  await ctx.close().catch(() => undefined);
  rmSync(profile, { recursive: true, force: true });
}
