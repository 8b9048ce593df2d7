/**
 * Junk on the ingest ports from another local process while two real viewers watch: random
 * bytes, truncated RTP, wrong version, wrong payload type, overrunning CSRC/extension/padding
 * fields, oversized datagrams. The ingest sockets are connect()ed to FFmpeg's sending ports
 * (issue 12 defect 2), so the kernel drops every one before whepd reads it: whepd must not crash,
 * count none of it (nothing reached it; the ingest's own validation is tested datagram by
 * datagram in internal/rtp/ingest.test.ts), restart nothing, and the viewers must keep receiving
 * video without sequence gaps. JUNK_COUNT (default 200,000; the full run is 1,000,000) and
 * JUNK_SEED scale it.
 */
import t from 'tap';
import { createSocket } from 'node:dgram';
import { AUDIO_PT, VIDEO_PT } from '../ffmpeg/index.js';
import { checkRtp } from '../rtp/index.js';
import type { ReceivedPacket } from '../testkit/index.js';
import { WhepClient, releaseWebRtc, startTestApp, waitLive, waitUntil } from '../testkit/index.js';

t.teardown(releaseWebRtc);

const COUNT = Number(process.env.JUNK_COUNT ?? 200_000);
const SEED = Number(process.env.JUNK_SEED ?? 7);
// Datagrams in flight at once, between yields to the event loop that carries the media.
const BATCH = 200;

/** xorshift32: a reproducible stream of 32-bit values. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

// Random bytes come from a seeded 64 KiB pool at random offsets: reproducible and cheap.
const POOL = (() => {
  const r = prng(SEED ^ 0x5eed);
  const b = Buffer.alloc(65536);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE(r(), i);
  return b;
})();

const KINDS = ['randomBadVersion', 'short', 'wrongPayloadType', 'csrcOverrun', 'extensionOverrun', 'badPadding', 'oversized', 'truncatedHeader'] as const;
type Kind = (typeof KINDS)[number];

/** One datagram of `kind` that is certainly not valid RTP of payload type `pt`. */
function junk(kind: Kind, pt: number, rnd: () => number): Buffer {
  const bytes = (n: number) => {
    const from = rnd() % (POOL.length - n);
    return Buffer.from(POOL.subarray(from, from + n)); // a copy: the test rewrites header bytes
  };
  const rtp = (n: number) => {
    const b = bytes(n);
    b[0] = 0x80; // V=2, no padding, no extension, no CSRC
    b[1] = ((b[1] as number) & 0x80) | pt;
    return b;
  };
  switch (kind) {
    case 'randomBadVersion': {
      const b = bytes(12 + (rnd() % 1400));
      const version = [0, 1, 3][rnd() % 3] as number;
      b[0] = (version << 6) | ((b[0] as number) & 0x3f);
      return b;
    }
    case 'short': {
      // Under 12 bytes; not version 2, else 8..11 bytes with an RTCP type would be RTCP (counted apart).
      const b = bytes(1 + (rnd() % 11));
      b[0] = (b[0] as number) & 0x3f;
      return b;
    }
    case 'wrongPayloadType': {
      const b = rtp(12 + (rnd() % 1200));
      let wrong = rnd() % 128;
      if (wrong === pt) wrong = (wrong + 1) % 128;
      // Marker 0: with the marker set, PT 64..95 reads as RTCP (RFC 5761 section 4), counted apart.
      b[1] = wrong;
      b.writeUInt32BE(rnd(), 8); // and a foreign SSRC
      return b;
    }
    case 'csrcOverrun': {
      const b = rtp(12 + (rnd() % 60)); // 15 CSRCs need 72 bytes
      b[0] = 0x8f;
      return b;
    }
    case 'extensionOverrun': {
      const b = rtp(16 + (rnd() % 1000));
      b[0] = 0x90;
      b.writeUInt16BE(0xffff, 14); // 262,140 bytes of extension announced
      return b;
    }
    case 'badPadding': {
      const b = rtp(13 + (rnd() % 1000));
      b[0] = 0xa0;
      b[b.length - 1] = rnd() % 2 ? 0 : 255; // zero padding, or more padding than payload
      if (b.length >= 12 + 255) b[b.length - 1] = 0;
      return b;
    }
    case 'oversized': {
      const b = rtp(1501 + (rnd() % 2500));
      return b;
    }
    case 'truncatedHeader': {
      // A plausible header with CSRCs and an extension, cut inside the extension header.
      const b = rtp(40);
      b[0] = 0x90 | 4; // X=1, CC=4: extension header at 28..31
      return b.subarray(0, 12 + 16 + (rnd() % 3));
    }
  }
}

function seqGaps(packets: readonly ReceivedPacket[]): { gaps: number; dups: number; detail: string[] } {
  let gaps = 0;
  let dups = 0;
  const detail: string[] = [];
  for (let i = 1; i < packets.length; i++) {
    const d = ((packets[i]!.seq - packets[i - 1]!.seq) & 0xffff) >>> 0;
    if (d === 1) continue;
    if (d === 0 || d > 0x8000) dups++; // a NACK retransmission or a reordered packet
    else {
      gaps++;
      if (detail.length < 5) detail.push(`${packets[i - 1]!.seq} -> ${packets[i]!.seq}`);
    }
  }
  return { gaps, dups, detail };
}

const metric = (text: string, kind: string) => Number(new RegExp(`^whepd_rtp_junk_packets_total\\{stream="demo",kind="${kind}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);

t.test(`${COUNT} junk datagrams on the ingest ports while two viewers watch: the kernel drops them all, no crash, no gaps`, async (t) => {
  const app = await startTestApp({ rateLimit: { perSecond: 0 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const stream = app.streams.get('demo')!;
  const clients = await Promise.all([0, 1].map(() => WhepClient.connect({ endpoint: `${app.url}/whep/demo` })));
  for (const c of clients) t.teardown(() => c.close());
  await Promise.all(clients.map((c) => c.waitFor(() => c.video.length > 30 && c.audio.length > 30, 10000, 'media before the junk')));
  const ports = stream.ingestPorts!;
  const pid = stream.pid;
  const before = stream.status();
  const videoAtStart = clients.map((c) => c.video.length);
  const watchStart = Date.now();
  const firstIndex = clients.map((c) => c.video.length - 1);

  const sock = createSocket('udp4');
  t.teardown(() => sock.close());
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const rnd = prng(SEED);
  const perKind = new Map<Kind, number>(KINDS.map((k) => [k, 0]));
  let sentVideo = 0;
  let sentAudio = 0;
  const started = Date.now();
  const midway: number[][] = [];
  // A timeline of each viewer's video count, once a second: a stall shows up as a flat stretch.
  const timeline: string[] = [];
  const tick = setInterval(() => timeline.push(clients.map((c) => c.video.length).join('/')), 1000);
  t.teardown(() => clearInterval(tick));
  for (let sent = 0; sent < COUNT; ) {
    const n = Math.min(BATCH, COUNT - sent);
    const pending: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const kind = KINDS[rnd() % KINDS.length]!;
      const toVideo = (rnd() & 1) === 0;
      const pt = toVideo ? VIDEO_PT : AUDIO_PT;
      const d = junk(kind, pt, rnd);
      const verdict = checkRtp(d, pt);
      if (verdict === 'ok' || verdict === 'rtcp') throw new Error(`generator bug: ${kind} produced a ${verdict} datagram`);
      perKind.set(kind, perKind.get(kind)! + 1);
      if (toVideo) sentVideo++;
      else sentAudio++;
      pending.push(new Promise<void>((resolve, reject) => sock.send(d, toVideo ? ports.video : ports.audio, '127.0.0.1', (err) => (err ? reject(err) : resolve()))));
    }
    await Promise.all(pending);
    sent += n;
    await new Promise((r) => setImmediate(r));
    if (sent % 100_000 < BATCH) midway.push(clients.map((c) => c.video.length));
  }
  const ms = Date.now() - started;
  const after = stream.status();
  t.comment(`sent ${sentVideo + sentAudio} junk datagrams (${sentVideo} video, ${sentAudio} audio) in ${ms} ms (${Math.round(((sentVideo + sentAudio) * 1000) / ms)}/s); by kind ${JSON.stringify(Object.fromEntries(perKind))}`);
  t.equal(sentVideo + sentAudio, COUNT, 'every datagram was sent');
  t.equal(after.video.junk - before.video.junk, 0, 'no video junk reached whepd: the kernel dropped it');
  t.equal(after.audio.junk - before.audio.junk, 0, 'no audio junk reached whepd: the kernel dropped it');
  t.equal(stream.pid, pid, 'FFmpeg was not restarted');
  t.ok(stream.live, 'the stream is still live');
  t.equal(app.registry.total, 2, 'both viewers are still there');

  const text = await (await app.http.request('/metrics')).text();
  t.equal(metric(text, 'video'), after.video.junk, '/metrics shows the video junk');
  t.equal(metric(text, 'audio'), after.audio.junk, '/metrics shows the audio junk');

  const duringJunk = clients.map((c) => c.video.length);
  await waitUntil(() => clients.every((c, i) => c.video.length > duringJunk[i]! + 30), 5000, 'video after the junk').catch(() => undefined);
  clearInterval(tick);
  t.comment(`video packets per viewer, once a second: ${timeline.join(' ')}`);
  t.comment(`viewer states ${clients.map((c) => c.state).join(',')}; sessions ${app.registry.list().map((s) => `${s.peerState}/videoReady=${s.videoReady}`).join(',')}; out ${JSON.stringify(stream.status().out)}`);
  for (const [i, c] of clients.entries()) t.ok(c.video.length > duringJunk[i]! + 30, `viewer ${i} keeps receiving video after the junk (${Math.round((Date.now() - watchStart) / 1000)} s of watching)`);
  for (const [i, c] of clients.entries()) {
    t.ok(duringJunk[i]! > videoAtStart[i]!, `viewer ${i} received video during the junk (${duringJunk[i]! - videoAtStart[i]!} packets)`);
    for (const m of midway) t.ok(m[i]! > videoAtStart[i]!, `viewer ${i} was receiving at a checkpoint`);
    const { gaps, dups, detail } = seqGaps(c.video.slice(firstIndex[i]!));
    t.comment(`viewer ${i}: ${c.video.length - firstIndex[i]!} video packets checked, ${gaps} gaps, ${dups} duplicates/reorders`);
    t.equal(gaps, 0, `viewer ${i} has no video sequence gaps`, { detail });
    t.equal(c.state, 'connected');
  }
  // Let tap's report show the receive rate stayed sane: no starvation of the media path.
  t.ok(after.video.packets > before.video.packets, 'FFmpeg video kept arriving during the junk');
});

t.test('a valid-PT packet with a foreign SSRC from another local process: never reaches whepd', async (t) => {
  const app = await startTestApp({ rateLimit: { perSecond: 0 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const stream = app.streams.get('demo')!;
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => client.close());
  await client.waitFor(() => client.audio.length > 30, 8000, 'audio');
  const sock = createSocket('udp4');
  t.teardown(() => sock.close());
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const lastSeq = client.audio.at(-1)!.seq;
  const injectedFrom = (lastSeq + 20000) & 0xffff;
  const N = 50;
  const before = stream.status();
  for (let i = 0; i < N; i++) {
    const p = Buffer.alloc(60);
    p[0] = 0x80;
    p[1] = AUDIO_PT;
    p.writeUInt16BE((injectedFrom + i) & 0xffff, 2);
    p.writeUInt32BE(0xdeadbeef + i, 4);
    p.writeUInt32BE(0x0badf00d, 8); // not FFmpeg's SSRC
    p[12] = 0xfc; // an Opus TOC byte
    await new Promise<void>((r) => sock.send(p, stream.ingestPorts!.audio, '127.0.0.1', () => r()));
  }
  await new Promise((r) => setTimeout(r, 500));
  const after = stream.status();
  const accepted = after.audio.packets - before.audio.packets;
  const junked = after.audio.junk - before.audio.junk;
  const injectedSeqs = new Set(Array.from({ length: N }, (_, i) => (injectedFrom + i) & 0xffff));
  const forwarded = client.audio.filter((p) => injectedSeqs.has(p.seq)).length;
  t.comment(`${N} foreign-SSRC packets: counted as junk ${junked}, forwarded to the viewer ${forwarded} (with the stream's SSRC ${client.audio.at(-1)?.ssrc})`);
  // Issue 7: junk with a wrong SSRC must not reach viewers ("without gaps they did not cause").
  t.equal(forwarded, 0, 'no foreign-SSRC packet reaches a viewer');
  // Issue 12 defect 2: the ingest hears FFmpeg's port only; the kernel drops the rest unread.
  t.equal(junked, 0, 'foreign packets never reach the ingest (dropped by the kernel)');
  t.ok(accepted > 0, "FFmpeg's packets kept coming");
  await waitUntil(() => client.audio.length > 0, 1000, 'audio');
  t.ok(stream.live, 'the stream is still live');
});
