/**
 * Offer analysis: which m-lines whepd answers on and with which payload types. Pure (sdp-transform
 * parses; nothing touches a socket), so it is tested against real browser offers.
 */
import { parse } from 'sdp-transform';
import type { MediaDescription } from 'sdp-transform';
import { BadRequestError, CodecNotAcceptableError } from '../errors/index.js';

/** The codec whepd answers on one m-line. */
export interface NegotiatedCodec {
  /** The offer's mid for this m-line. */
  mid: string;
  /** The offer's payload type, which every forwarded packet is rewritten to. */
  payloadType: number;
  /** fmtp parameters for the answer. */
  fmtp: string;
}

/** The outcome of reading an offer. */
export interface OfferPlan {
  video: NegotiatedCodec;
  audio: NegotiatedCodec;
  /** ICE ufrag of the offer (session or first m-line), used to detect ICE restarts. */
  iceUfrag: string | undefined;
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

function rtpmaps(m: MediaDescription, codec: string): { payload: number; fmtp: string }[] {
  const out: { payload: number; fmtp: string }[] = [];
  for (const r of m.rtp ?? []) {
    // sdp-transform turns an all-digit encoding name into a number.
    if (String(r.codec).toLowerCase() !== codec) continue;
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

/** Chooses the offer's Opus PT (48 kHz, 2 channels as RFC 7587 section 7 requires). */
export function pickOpus(m: MediaDescription): { payload: number; fmtp: string } | undefined {
  const opus = (m.rtp ?? []).find((r) => String(r.codec).toLowerCase() === 'opus' && r.rate === 48000);
  if (!opus) return undefined;
  // whepd sends stereo; say so (RFC 7587 section 7.1).
  return { payload: opus.payload, fmtp: 'minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1' };
}

function canReceive(m: MediaDescription): boolean {
  return m.port !== 0 && m.direction !== 'sendonly' && m.direction !== 'inactive';
}

/**
 * Reads an offer and picks what whepd answers: the first video m-line with a usable H264 and the
 * first audio m-line with Opus. Throws 400 when the SDP does not parse, 406 naming a missing codec.
 */
export function planAnswer(offer: string): OfferPlan {
  if (!/^v=0\r?\n/.test(offer)) throw new BadRequestError('body is not an SDP offer (must start with v=0)');
  let session;
  try {
    session = parse(offer);
  } catch (err) {
    throw new BadRequestError('SDP offer does not parse', { cause: err });
  }
  const media = session.media ?? [];
  if (media.length === 0) throw new BadRequestError('SDP offer has no m= lines');
  const videos = media.filter((m) => m.type === 'video' && canReceive(m));
  const audios = media.filter((m) => m.type === 'audio' && canReceive(m));
  const missing: string[] = [];
  let video: NegotiatedCodec | undefined;
  let audio: NegotiatedCodec | undefined;
  for (const m of videos) {
    const c = pickH264(m);
    if (c && m.mid !== undefined) {
      video = { mid: String(m.mid), payloadType: c.payload, fmtp: c.fmtp };
      break;
    }
  }
  for (const m of audios) {
    const c = pickOpus(m);
    if (c && m.mid !== undefined) {
      audio = { mid: String(m.mid), payloadType: c.payload, fmtp: c.fmtp };
      break;
    }
  }
  if (!video) missing.push(videos.length ? 'H264 with packetization-mode=1' : 'a receiving video m-line (H264 with packetization-mode=1)');
  if (!audio) missing.push(audios.length ? 'Opus/48000/2' : 'a receiving audio m-line (Opus/48000/2)');
  if (missing.length > 0 || !video || !audio) {
    throw new CodecNotAcceptableError(`offer lacks ${missing.join(' and ')}; whepd sends H264 and Opus`);
  }
  const ufrag = session.iceUfrag ?? media[0]?.iceUfrag;
  return { video, audio, iceUfrag: ufrag === undefined ? undefined : String(ufrag) };
}
