/**
 * Offer analysis: which m-lines whepd answers on and with which payload types. Pure (sdp-transform
 * parses; nothing touches a socket), so it is tested against real browser offers.
 */
import { parse } from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import { BadRequestError, CodecNotAcceptableError } from '../errors/index.js';
import { checkSdpCandidates } from './candidate.js';

/** The codec whepd answers on one m-line. */
export interface NegotiatedCodec {
  /** The offer's mid for this m-line. */
  mid: string;
  /** The offer's payload type, which every forwarded packet is rewritten to. */
  payloadType: number;
  /** fmtp parameters for the answer. */
  fmtp: string;
}

/** The video codec whepd answers with: H264, or VP8 for a player without H264 (streams[].fallbackVideo). */
export type VideoCodecName = 'h264' | 'vp8';

/** The video m-line's codec, and which of the stream's encodings it needs. */
export interface NegotiatedVideo extends NegotiatedCodec {
  codec: VideoCodecName;
}

/** What the stream can send besides H264. */
export interface PlanOptions {
  /** The stream has a VP8 encoding for offers without a usable H264. */
  vp8?: boolean;
}

/** The outcome of reading an offer. */
export interface OfferPlan {
  video: NegotiatedVideo;
  audio: NegotiatedCodec;
  /** ICE ufrag of the offer (session level or the first m-line with one), used to detect ICE restarts. */
  iceUfrag: string | undefined;
  /** ICE pwd from the same place as the ufrag; a PATCH with another one is an ICE restart. */
  icePwd: string | undefined;
}

/** Parses `a=fmtp` parameters into a lower-cased map. */
export function parseFmtp(config: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of config.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return params;
}

/**
 * How well a viewer's H264 profile-level-id decodes whepd's constrained baseline (lower is
 * better; undefined = not usable). RFC 6184 section 8.1: profile_idc 0x42 with constraint_set1
 * (0x40 in profile-iop) is constrained baseline; baseline, main and high decoders all decode it.
 */
export function h264ProfileRank(profileLevelId: string | undefined): number | undefined {
  const id = (profileLevelId ?? '42001f').toLowerCase();
  if (!/^[0-9a-f]{6}$/.test(id)) return undefined;
  const idc = parseInt(id.slice(0, 2), 16);
  const iop = parseInt(id.slice(2, 4), 16);
  if (idc === 0x42) return iop & 0x40 ? 0 : 1;
  if (idc === 0x4d && iop & 0x80) return 0; // main with constraint_set0 is also constrained baseline
  if (idc === 0x4d) return 2;
  if (idc === 0x58) return 3; // extended
  if (idc === 0x64 || idc === 0x6e || idc === 0x7a || idc === 0xf4) return 4;
  return undefined;
}

/**
 * Whether an rtpmap's payload type is one RTP can carry: an integer 0-127 (7 bits, RFC 3550 section
 * 5.1). sdp-transform leaves `a=rtpmap: opus/48000/2` as '' and `a=rtpmap:007 ...` as '007'
 * (strings), which node-datachannel refuses with a 500 ("We expect (Number) as param").
 */
function validPayloadType(pt: unknown): pt is number {
  return Number.isInteger(pt) && (pt as number) >= 0 && (pt as number) <= 127;
}

function rtpmaps(m: MediaDescription, codec: string): { payload: number; fmtp: string }[] {
  const out: { payload: number; fmtp: string }[] = [];
  for (const r of m.rtp ?? []) {
    // sdp-transform turns an all-digit encoding name into a number.
    if (String(r.codec).toLowerCase() !== codec || !validPayloadType(r.payload)) continue;
    const f = (m.fmtp ?? []).find((x) => x.payload === r.payload);
    out.push({ payload: r.payload, fmtp: f?.config ?? '' });
  }
  return out;
}

/** Chooses the offer's H264 PT with packetization-mode=1 and the best profile; undefined if none. */
export function pickH264(m: MediaDescription): { payload: number; fmtp: string } | undefined {
  let best: { payload: number; fmtp: string; rank: number } | undefined;
  for (const c of rtpmaps(m, 'h264')) {
    const p = parseFmtp(c.fmtp);
    if (p.get('packetization-mode') !== '1') continue;
    const rank = h264ProfileRank(p.get('profile-level-id'));
    if (rank === undefined) continue;
    if (!best || rank < best.rank) best = { ...c, rank };
  }
  return best && { payload: best.payload, fmtp: best.fmtp };
}

/** Chooses the offer's first VP8 PT (RFC 7741, 90 kHz); undefined if none. */
export function pickVp8(m: MediaDescription): { payload: number; fmtp: string } | undefined {
  const vp8 = (m.rtp ?? []).find((r) => String(r.codec).toLowerCase() === 'vp8' && r.rate === 90000 && validPayloadType(r.payload));
  return vp8 && { payload: vp8.payload, fmtp: '' };
}

/** Chooses the offer's Opus PT (48 kHz, 2 channels as RFC 7587 section 7 requires). */
export function pickOpus(m: MediaDescription): { payload: number; fmtp: string } | undefined {
  const opus = (m.rtp ?? []).find((r) => String(r.codec).toLowerCase() === 'opus' && r.rate === 48000 && validPayloadType(r.payload));
  if (!opus) return undefined;
  // whepd sends stereo; say so (RFC 7587 section 7.1).
  return { payload: opus.payload, fmtp: 'minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1' };
}

/** The BUNDLE groups of an offer, each as its list of mids (RFC 9143 section 7.1). */
function bundleGroups(session: SessionDescription): string[][] {
  return (session.groups ?? []).filter((g) => g.type === 'BUNDLE').map((g) => String(g.mids).split(/\s+/).filter(Boolean));
}

/** How a refusal names an m-line: its kind and mid, or its position when it has no mid. */
function label(m: MediaDescription, index: number): string {
  return m.mid === undefined ? `offer's ${m.type} m-line (m-line ${index + 1})` : `offer's ${m.type} m-line (mid ${String(m.mid)})`;
}

/**
 * Why whepd cannot send on this m-line, in words; undefined when it can (given a codec).
 *
 * Port 0 normally means the offerer disabled the m-line (RFC 3264 sections 5.1 and 8.2). A max-bundle
 * offerer (JSEP, RFC 9429 section 5.2.1; the WHEP draft, section 4.5.1, requires max-bundle) sends
 * every m-line but the offerer-tagged one with port 0 and a=bundle-only instead: it asks to receive
 * that media only over the BUNDLE transport, and the answerer accepts it by giving it the
 * bundle's port (RFC 9143 sections 6 and 7.3). So port 0 is a rejection only without
 * a=bundle-only, or when the mid is in no BUNDLE group (bundle-only then has nothing to join).
 */
function unusable(m: MediaDescription, bundled: ReadonlySet<string>): string | undefined {
  if (m.mid === undefined) return 'has no a=mid, so the answer cannot name it';
  if (m.port === 0) {
    if (m.bundleOnly === undefined) return 'was rejected by the offerer (port 0 without a=bundle-only)';
    if (!bundled.has(String(m.mid))) return `was rejected by the offerer (port 0, a=bundle-only, but mid ${String(m.mid)} is in no BUNDLE group)`;
  }
  if (m.direction === 'sendonly' || m.direction === 'inactive') return `is ${m.direction}`;
  return undefined;
}

/**
 * The first m-line of `kind` whepd can send `codec` on; otherwise the reason the first m-line of
 * that kind was refused (the one a player means), or that there is none.
 */
function choose(
  media: readonly MediaDescription[],
  kind: 'video' | 'audio',
  bundled: ReadonlySet<string>,
  pick: (m: MediaDescription) => { payload: number; fmtp: string } | undefined,
  codecMissing: string,
): NegotiatedCodec | string {
  let refusal: string | undefined;
  for (const [index, m] of media.entries()) {
    if (m.type !== kind) continue;
    const why = unusable(m, bundled);
    const c = why === undefined ? pick(m) : undefined;
    if (c) return { mid: String(m.mid), payloadType: c.payload, fmtp: c.fmtp };
    refusal ??= `${label(m, index)} ${why ?? codecMissing}`;
  }
  return refusal ?? `offer has no ${kind} m-line`;
}

const NO_H264 = 'has no H264 with packetization-mode=1 and a profile that decodes constrained baseline';

/**
 * The video m-line and codec: H264 on the first m-line that has it; else, when the stream has a
 * VP8 encoding, VP8 on the first m-line that has that (a browser without H264, e.g. a Firefox
 * without its OpenH264 plugin); else the refusal.
 */
function chooseVideo(media: readonly MediaDescription[], bundled: ReadonlySet<string>, o: PlanOptions): NegotiatedVideo | string {
  const h264 = choose(media, 'video', bundled, pickH264, o.vp8 ? `${NO_H264}, and no VP8` : NO_H264);
  if (typeof h264 !== 'string') return { ...h264, codec: 'h264' };
  if (!o.vp8) return h264;
  const vp8 = choose(media, 'video', bundled, pickVp8, `${NO_H264}, and no VP8`);
  return typeof vp8 === 'string' ? h264 : { ...vp8, codec: 'vp8' };
}

/**
 * Reads an offer and picks what whepd answers: the first video m-line with a usable H264 (or,
 * with `vp8`, VP8 when no m-line has H264) and the first audio m-line with Opus, bundle-only
 * m-lines included. Throws 400 when the SDP does not parse or an ICE candidate breaks the grammar,
 * and 406 naming the m-line that was refused and why (codec, direction or port).
 */
export function planAnswer(offer: string, o: PlanOptions = {}): OfferPlan {
  if (!/^v=0\r?\n/.test(offer)) throw new BadRequestError('body is not an SDP offer (must start with v=0)');
  let session: SessionDescription;
  try {
    session = parse(offer);
  } catch (err) {
    throw new BadRequestError('SDP offer does not parse', { cause: err });
  }
  const media = session.media ?? [];
  if (media.length === 0) throw new BadRequestError('SDP offer has no m= lines');
  checkSdpCandidates(offer);
  const bundled = new Set(bundleGroups(session).flat());
  const video = chooseVideo(media, bundled, o);
  const audio = choose(media, 'audio', bundled, pickOpus, 'has no Opus/48000/2');
  const refusals = [video, audio].filter((x): x is string => typeof x === 'string');
  if (refusals.length > 0 || typeof video === 'string' || typeof audio === 'string') {
    const sends = o.vp8 ? 'H264 (packetization-mode=1) or VP8' : 'H264 (packetization-mode=1)';
    throw new CodecNotAcceptableError(`${refusals.join(', and ')}; whepd sends ${sends} and Opus/48000/2`);
  }
  // Session-level credentials, else those of the first m-line that has them (a bundle-only
  // m-line may carry none, JSEP section 5.2.1).
  const ufrag = session.iceUfrag ?? media.find((m) => m.iceUfrag !== undefined)?.iceUfrag;
  const pwd = session.icePwd ?? media.find((m) => m.icePwd !== undefined)?.icePwd;
  return { video, audio, iceUfrag: ufrag === undefined ? undefined : String(ufrag), icePwd: pwd === undefined ? undefined : String(pwd) };
}
