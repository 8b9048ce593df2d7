/**
 * werift WHEP client (pure TypeScript WebRTC stack, not libdatachannel): subscribes to one whepd
 * stream and counts what arrives over SRTP.
 *
 *   node --import=tsx e2e/werift-client.ts <endpoint url> [options]
 *
 *   --trickle             POST the offer at once (no candidates) and PATCH each candidate with
 *                         If-Match: <ETag> (WHEP draft section 4.3); default: wait for ICE gathering
 *                         to complete and POST the full offer
 *   --order O             video-first (default) or audio-first: transceiver order
 *   --bundle P            werift bundlePolicy: max-compat (werift's default) or max-bundle
 *   --window-ms N         measure fps and Opus packets/s over N ms, 1 s after the first frame (default 3000)
 *   --timeout-ms N        give up N ms after the POST (default 20000)
 *   --save-offer FILE     write the offer as POSTed to FILE
 *
 * Video is not decoded: an H264 frame is an access unit, the RTP packets up to the marker bit
 * (RFC 6184 section 5.1), and the first one must hold an IDR slice (NAL type 5). Audio counts Opus
 * packets. Prints one JSON line; exits 0 when frames arrived at >= 20 fps and Opus at >= 40
 * packets/s, 1 otherwise. werift gathers on 127.0.0.1 only (see the RTCPeerConnection options), so
 * nothing leaves the machine and no network namespace is needed.
 */
import { writeFileSync } from 'node:fs';
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import type { RtpPacket } from 'werift';

interface Args {
  url: string;
  trickle: boolean;
  order: 'video-first' | 'audio-first';
  bundle: 'max-compat' | 'max-bundle';
  windowMs: number;
  timeoutMs: number;
  saveOffer: string | undefined;
}

const MIN_FPS = 20;
const MIN_OPUS_PPS = 40;
const HTTP_TIMEOUT_MS = 10000;
const GATHER_TIMEOUT_MS = 10000;

function parseArgs(argv: string[]): Args {
  const flags = new Set<string>();
  const opts = new Map<string, string>();
  let url: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--trickle') flags.add(a);
    else if (a.startsWith('--')) opts.set(a, argv[++i] ?? '');
    else url = a;
  }
  if (!url) {
    process.stderr.write('usage: node --import=tsx e2e/werift-client.ts <endpoint url> [--trickle] [--order video-first|audio-first] [--bundle max-compat|max-bundle] [--window-ms N] [--timeout-ms N] [--save-offer FILE]\n');
    process.exit(2);
  }
  const order = opts.get('--order') === 'audio-first' ? 'audio-first' : 'video-first';
  const bundle = opts.get('--bundle') === 'max-bundle' ? 'max-bundle' : 'max-compat';
  return {
    url,
    trickle: flags.has('--trickle'),
    order,
    bundle,
    windowMs: Number(opts.get('--window-ms') ?? 3000),
    timeoutMs: Number(opts.get('--timeout-ms') ?? 20000),
    saveOffer: opts.get('--save-offer'),
  };
}

/** NAL unit types an H264 RTP payload carries (single NAL, STAP-A, or the start of an FU-A). */
function nalTypes(payload: Buffer): number[] {
  if (payload.length === 0) return [];
  const type = (payload[0] as number) & 0x1f;
  if (type === 28) return payload.length > 1 && (payload[1] as number) & 0x80 ? [(payload[1] as number) & 0x1f] : [];
  if (type !== 24) return [type];
  const out: number[] = [];
  for (let off = 1; off + 2 < payload.length; ) {
    const size = payload.readUInt16BE(off);
    out.push((payload[off + 2] as number) & 0x1f);
    off += 2 + size;
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const result: Record<string, unknown> = { stack: 'werift', trickle: args.trickle, order: args.order, bundle: args.bundle, ok: false };
const frames: number[] = []; // arrival time (ms) of each complete access unit
const opus: number[] = [];
const patches: (number | string)[] = [];
let firstFrameHasIdr: boolean | undefined;
let auNals: number[] = [];
let postedAt: number | undefined;
let resource: string | undefined;
let etag: string | undefined;
let offerUfrag: string | undefined;
let offerPwd: string | undefined;
const pending: ({ candidate: string; mid: string } | undefined)[] = [];

const pc = new RTCPeerConnection({
  bundlePolicy: args.bundle,
  // Host candidates on 127.0.0.1 only. werift's iceInterfaceAddresses falls back to every
  // interface when none of them has the address (loopback is never listed), so host gathering is
  // turned off (iceUseIpv4/6 false only stop the interface scan) and 127.0.0.1 added by hand.
  iceUseIpv4: false,
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ['127.0.0.1'],
  codecs: {
    video: [
      new RTCRtpCodecParameters({
        mimeType: 'video/H264',
        clockRate: 90000,
        rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }],
        parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
      }),
    ],
    audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
  },
});

function onVideo(rtp: RtpPacket): void {
  if (firstFrameHasIdr === undefined) auNals.push(...nalTypes(rtp.payload));
  if (!rtp.header.marker) return;
  frames.push(performance.now());
  if (firstFrameHasIdr === undefined) firstFrameHasIdr = auNals.includes(5);
  auNals = [];
}

const kinds: ('video' | 'audio')[] = args.order === 'audio-first' ? ['audio', 'video'] : ['video', 'audio'];
for (const kind of kinds) {
  const t = pc.addTransceiver(kind, { direction: 'recvonly' });
  t.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((rtp) => {
      if (kind === 'video') onVideo(rtp);
      else opus.push(performance.now());
    });
  });
}

async function http(url: string, init: RequestInit): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
}

/** PATCHes one trickled candidate, or a=end-of-candidates (RFC 8840 fragment, WHEP section 4.3). */
async function patch(c: { candidate: string; mid: string } | undefined): Promise<void> {
  if (!resource) {
    pending.push(c);
    return;
  }
  const lines = [`a=ice-ufrag:${offerUfrag ?? ''}`, `a=ice-pwd:${offerPwd ?? ''}`];
  if (c) lines.push(`a=mid:${c.mid}`, `a=${c.candidate.replace(/^a=/, '')}`);
  else lines.push('a=end-of-candidates');
  const headers: Record<string, string> = { 'Content-Type': 'application/trickle-ice-sdpfrag' };
  if (etag) headers['If-Match'] = etag;
  try {
    const res = await http(resource, { method: 'PATCH', headers, body: `${lines.join('\r\n')}\r\n` });
    patches.push(res.status);
  } catch (err) {
    patches.push(String(err));
  }
}

async function post(sdp: string): Promise<void> {
  if (args.saveOffer) writeFileSync(args.saveOffer, sdp);
  offerUfrag = /^a=ice-ufrag:(.+)$/m.exec(sdp)?.[1]?.trim();
  offerPwd = /^a=ice-pwd:(.+)$/m.exec(sdp)?.[1]?.trim();
  result.offer_candidates = (sdp.match(/^a=candidate:/gm) ?? []).length;
  postedAt = performance.now();
  const res = await http(args.url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: sdp });
  const answer = await res.text();
  result.post_status = res.status;
  result.post_ms = Math.round(performance.now() - postedAt);
  if (res.status !== 201) throw new Error(`POST answered ${res.status}: ${answer.slice(0, 200)}`);
  resource = new URL(res.headers.get('location') ?? '', args.url).toString();
  etag = res.headers.get('etag') ?? undefined;
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  for (const c of pending.splice(0)) await patch(c);
}

function gathered(): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ICE gathering did not complete within ${GATHER_TIMEOUT_MS} ms`)), GATHER_TIMEOUT_MS);
    pc.iceGatheringStateChange.subscribe((state) => {
      if (state !== 'complete') return;
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Resolves once the window after the first frame is over; rejects at the deadline. */
function measured(): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const first = frames[0];
      if (first !== undefined && performance.now() - first >= args.windowMs + 1000) {
        clearInterval(timer);
        resolve();
      } else if (postedAt !== undefined && performance.now() - postedAt > args.timeoutMs) {
        clearInterval(timer);
        reject(new Error(first === undefined ? `no complete H264 frame within ${args.timeoutMs} ms of the POST` : 'measuring window did not end in time'));
      }
    }, 100);
  });
}

async function run(): Promise<string | undefined> {
  if (args.trickle) {
    pc.onIceCandidate.subscribe((c) => {
      if (c?.candidate) void patch({ candidate: c.candidate, mid: c.sdpMid ?? '0' });
    });
    pc.iceGatheringStateChange.subscribe((state) => {
      if (state === 'complete') void patch(undefined);
    });
  }
  const offer = await pc.createOffer();
  if (args.trickle) {
    // The offer as created, before setLocalDescription starts gathering: no candidates.
    const sdp = offer.sdp;
    await Promise.all([pc.setLocalDescription(offer), post(sdp)]);
  } else {
    await pc.setLocalDescription(offer);
    await gathered();
    await post(pc.localDescription?.sdp ?? '');
  }
  await measured();
  const problems: string[] = [];
  const first = frames[0] as number;
  const lo = first + 1000;
  const hi = lo + args.windowMs;
  const fps = Math.round((frames.filter((t) => t >= lo && t < hi).length / args.windowMs) * 10000) / 10;
  const pps = Math.round((opus.filter((t) => t >= lo && t < hi).length / args.windowMs) * 10000) / 10;
  result.ttff_ms = Math.round(first - (postedAt as number));
  result.fps = fps;
  result.opus_packets_per_s = pps;
  result.first_frame_idr = firstFrameHasIdr;
  if (fps < MIN_FPS) problems.push(`fps ${fps} < ${MIN_FPS}`);
  if (pps < MIN_OPUS_PPS) problems.push(`Opus ${pps} packets/s < ${MIN_OPUS_PPS}`);
  if (!firstFrameHasIdr) problems.push('the first frame has no IDR slice');
  if (args.trickle && (patches.length === 0 || patches.some((s) => s !== 204))) problems.push(`trickle PATCH statuses ${JSON.stringify(patches)}, expected all 204`);
  return problems.join('; ') || undefined;
}

const watchdog = setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ ...result, error: 'watchdog: still running after 60 s' })}\n`);
  process.exit(1);
}, 60000);

let error: string | undefined;
try {
  error = await run();
} catch (err) {
  error = err instanceof Error ? err.message : String(err);
}
result.frames = frames.length;
result.opus_packets = opus.length;
result.patch_statuses = patches;
if (resource) {
  try {
    result.delete_status = (await http(resource, { method: 'DELETE' })).status;
  } catch (err) {
    result.delete_status = String(err);
  }
}
result.ok = error === undefined;
if (error) result.error = error;
process.stdout.write(`${JSON.stringify(result)}\n`);
await pc.close().catch(() => undefined);
clearTimeout(watchdog);
process.exit(result.ok ? 0 : 1);
