/**
 * One viewer's PeerConnection (node-datachannel): answers the viewer's offer with two sendonly
 * tracks on the offer's mids, then forwards RTP into them. RTCP sender reports are whepd's own,
 * on the stream's media clock (see internal/rtp/sender-report.ts for why not libdatachannel's);
 * NACKed video packets are resent from the stream's shared history (see PacketHistory), not
 * from a per-viewer store.
 */
import { EventEmitter } from 'node:events';
import nodeDataChannel from 'node-datachannel';
import type { PeerConnection, RtcConfig, Track } from 'node-datachannel';
import { GatewayTimeoutError, BadRequestError } from '../errors/index.js';
import type { OfferPlan } from './negotiate.js';
import { toRtcIceServers } from './ice-servers.js';
import { RTP_HEADER_BYTES, nackedSequences, senderReportBytes, setPayloadType, writeSenderReport } from '../rtp/index.js';
import type { MediaClock, PacketLookup, SenderReport } from '../rtp/index.js';
import type { IceServerInput } from './ice-servers.js';

const { PeerConnection: PeerConnectionCtor, Video, Audio } = nodeDataChannel;

/** Network options shared by every viewer peer. */
export interface PeerNetworkOptions {
  iceServers: readonly IceServerInput[];
  bindAddress?: string;
  portRangeBegin?: number;
  portRangeEnd?: number;
  /** Bound on waiting for ICE gathering before answering (504 when exceeded). */
  gatheringTimeoutMs: number;
}

/** The SSRC and naming the answer announces for one outgoing track. */
export interface TrackIdentity {
  ssrc: number;
  /** RTCP CNAME, the same for a stream's audio and video so players sync them (RFC 3550 6.5.1). */
  cname: string;
  /** MediaStream id (msid) shared by both tracks. */
  streamId: string;
  trackId: string;
}

/** Connection states a peer reports. */
export type PeerState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

/** The stream's side of a viewer: what lets the peer answer NACKs and send sender reports. */
export interface PeerMedia {
  /** The stream's recent video packets, looked up by sequence number. */
  videoHistory: PacketLookup;
  /** The stream's media clock; without it (or before FFmpeg's first SRs) no SR is sent. */
  clock?: MediaClock;
}

/**
 * Sender report interval. RFC 3550's 5 s minimum is for large sessions; WebRTC senders report
 * about once a second, and receivers need two reports per track before they sync A/V.
 */
export const SENDER_REPORT_INTERVAL_MS = 1000;
// One SR at a time is built here and copied by node-datachannel when sent (CNAME <= 255 bytes).
const srScratch = Buffer.alloc(senderReportBytes(255));
const srFields: SenderReport = { ssrc: 0, ntpMs: 0, rtp: 0, packets: 0, octets: 0 };
// One RTCP datagram may NACK thousands of packets; answer at most this many of them.
const MAX_RETRANSMITS_PER_RTCP = 64;

let peerSeq = 0;

// How long the offer's candidates are held back after answering (see holdBackCandidates).
const CANDIDATE_HOLD_MS = 30;

/**
 * Splits the offer's ICE candidates (and end-of-candidates) off, with the mid each belongs to.
 * whepd applies them CANDIDATE_HOLD_MS after it answered: had it applied them at once, its
 * connectivity checks and then its DTLS ClientHello would reach the viewer before the viewer had
 * the answer. RFC 5763 section 5 says an offerer must cope; libdatachannel-based players do not:
 * their ICE connects and their DTLS fails ("certificate verify failed") or waits a 1 s
 * retransmission. Meanwhile the viewer's own checks, sent once it has the answer, connect
 * anyway: whepd answers them whether or not it knows the viewer's candidates.
 */
export function holdBackCandidates(offer: string): { offer: string; candidates: { candidate: string; mid: string }[] } {
  const candidates: { candidate: string; mid: string }[] = [];
  const pending: string[] = [];
  let mid: string | undefined;
  const kept: string[] = [];
  for (const line of offer.split(/\r?\n/)) {
    if (line.startsWith('m=')) mid = undefined;
    const m = /^a=mid:(.+)$/.exec(line);
    if (m) mid = (m[1] as string).trim();
    if (line.startsWith('a=candidate:')) {
      const candidate = line.slice(2);
      if (mid === undefined) pending.push(candidate);
      else candidates.push({ candidate, mid });
      continue;
    }
    if (line === 'a=end-of-candidates') continue;
    kept.push(line);
    if (mid !== undefined && pending.length > 0) for (const c of pending.splice(0)) candidates.push({ candidate: c, mid });
  }
  return { offer: kept.join('\r\n'), candidates };
}

/**
 * A viewer's PeerConnection. Emits `state` (PeerState) on changes and `close` once. All sends are
 * safe at any time: before the track opens or after close they are dropped, never thrown.
 */
export class ViewerPeer extends EventEmitter {
  readonly #pc: PeerConnection;
  // Strong references: a garbage-collected Track silently stops delivering.
  readonly #video: Track;
  readonly #audio: Track;
  #rtcpReceived = 0;
  #heldCandidates: { candidate: string; mid: string }[] = [];
  #releaseTimer: NodeJS.Timeout | undefined;
  #media: PeerMedia | undefined;
  #videoSsrc = 0;
  #videoPt = 0;
  // Reused for every NACK this peer gets (RTCP is per viewer, about once a second).
  readonly #nacked: number[] = [];
  #videoOpen = false;
  #audioOpen = false;
  // Sender report state: what each track sent (RFC 3550 counts; read once a second).
  #ids: { video: TrackIdentity; audio: TrackIdentity } | undefined;
  #cname = Buffer.alloc(0);
  #videoPackets = 0;
  #videoOctets = 0;
  #audioPackets = 0;
  #audioOctets = 0;
  #reportTimer: NodeJS.Timeout | undefined;
  #state: PeerState = 'new';
  #closed = false;

  private constructor(pc: PeerConnection, video: Track, audio: Track) {
    super();
    this.#pc = pc;
    this.#video = video;
    this.#audio = audio;
  }

  /**
   * Creates the peer, applies the offer and resolves with the peer once ICE gathering completed
   * (its `answer` then lists every local candidate). Rejects 504 on gathering timeout, 400 when
   * libdatachannel refuses the offer; the peer is closed in both cases.
   */
  static async answer(
    offer: string,
    plan: OfferPlan,
    ids: { video: TrackIdentity; audio: TrackIdentity },
    media: PeerMedia | undefined,
    net: PeerNetworkOptions,
  ): Promise<ViewerPeer> {
    const config: RtcConfig = { iceServers: toRtcIceServers(net.iceServers) as RtcConfig['iceServers'], disableAutoNegotiation: true };
    if (net.bindAddress) config.bindAddress = net.bindAddress;
    if (net.portRangeBegin !== undefined) config.portRangeBegin = net.portRangeBegin;
    if (net.portRangeEnd !== undefined) config.portRangeEnd = net.portRangeEnd;
    const pc = new PeerConnectionCtor(`viewer-${++peerSeq}`, config);
    let peer: ViewerPeer | undefined;
    try {
      // Local tracks on the offer's mids: libdatachannel then answers with our descriptions
      // (codec, direction, SSRC) instead of reciprocating the offer's.
      const videoDesc = new Video(plan.video.mid, 'SendOnly');
      videoDesc.addH264Codec(plan.video.payloadType, plan.video.fmtp);
      videoDesc.addSSRC(ids.video.ssrc, ids.video.cname, ids.video.streamId, ids.video.trackId);
      const audioDesc = new Audio(plan.audio.mid, 'SendOnly');
      audioDesc.addOpusCodec(plan.audio.payloadType, plan.audio.fmtp);
      audioDesc.addSSRC(ids.audio.ssrc, ids.audio.cname, ids.audio.streamId, ids.audio.trackId);
      const video = pc.addTrack(videoDesc);
      const audio = pc.addTrack(audioDesc);
      peer = new ViewerPeer(pc, video, audio);
      peer.#media = media;
      peer.#videoSsrc = ids.video.ssrc;
      peer.#videoPt = plan.video.payloadType;
      peer.#ids = ids;
      peer.#cname = Buffer.from(ids.video.cname.slice(0, 255), 'utf8').subarray(0, 255);
      peer.#wire();
      const gathered = peer.#gathered(net.gatheringTimeoutMs);
      // If the offer is refused below, the peer closes and this rejects with nobody awaiting it:
      // mark it handled so it cannot surface as an unhandled rejection (which exits Node).
      gathered.catch(() => {});
      // Held candidates are applied later, where a refusal can no longer answer 400; planAnswer
      // (which made `plan`) checked their grammar before a viewer slot was reserved.
      const held = holdBackCandidates(offer);
      try {
        pc.setRemoteDescription(held.offer, 'offer');
        pc.setLocalDescription('answer');
      } catch (err) {
        throw new BadRequestError(`offer rejected: ${(err as Error).message}`, { cause: err });
      }
      await gathered;
      peer.#holdCandidates(held.candidates);
      return peer;
    } catch (err) {
      if (peer) peer.close();
      else pc.close();
      throw err;
    }
  }

  #holdCandidates(candidates: { candidate: string; mid: string }[]): void {
    if (candidates.length === 0) return;
    this.#heldCandidates = candidates;
    this.#releaseTimer = setTimeout(() => {
      this.#releaseTimer = undefined;
      const list = this.#heldCandidates;
      this.#heldCandidates = [];
      for (const c of list) {
        try {
          this.addRemoteCandidate(c.candidate, c.mid);
        } catch {
          // a candidate libdatachannel refuses is skipped, as it would have been in the offer
        }
      }
    }, CANDIDATE_HOLD_MS);
    this.#releaseTimer.unref();
  }

  /**
   * Sends both tracks' SRs, their RTP timestamps read off the stream's media clock at one
   * instant, so the receiver maps simultaneous audio and video samples to the same NTP time
   * whichever track left FFmpeg first. Nothing is sent before both tracks have a mapping.
   */
  sendSenderReports(nowMs: number = Date.now()): void {
    const clock = this.#media?.clock;
    const ids = this.#ids;
    if (this.#closed || !clock?.ready || !ids) return;
    const videoRtp = clock.videoRtpAt(nowMs);
    const audioRtp = clock.audioRtpAt(nowMs);
    if (videoRtp === undefined || audioRtp === undefined) return;
    if (this.#videoOpen) this.#report(this.#video, ids.video.ssrc, nowMs, videoRtp, this.#videoPackets, this.#videoOctets);
    if (this.#audioOpen) this.#report(this.#audio, ids.audio.ssrc, nowMs, audioRtp, this.#audioPackets, this.#audioOctets);
  }

  #report(track: Track, ssrc: number, ntpMs: number, rtp: number, packets: number, octets: number): void {
    const f = srFields;
    f.ssrc = ssrc;
    f.ntpMs = ntpMs;
    f.rtp = rtp;
    f.packets = packets;
    f.octets = octets;
    this.#sendRtcp(track, writeSenderReport(srScratch, f, this.#cname));
  }

  #sendRtcp(track: Track, length: number): void {
    try {
      // Without a media handler libdatachannel sends RTCP as SRTCP, whatever the direction.
      track.sendMessageBinary(srScratch.subarray(0, length));
    } catch {
      // the track closed under us
    }
  }

  // First reports as soon as both tracks are open, then once a second.
  #startReports(): void {
    if (this.#reportTimer || this.#closed || !this.#videoOpen || !this.#audioOpen) return;
    this.sendSenderReports();
    this.#reportTimer = setInterval(() => this.sendSenderReports(), SENDER_REPORT_INTERVAL_MS);
    this.#reportTimer.unref();
  }

  // Browsers repair Opus with in-band FEC and do not NACK it, so only video is resent.
  #onVideoRtcp(rtcp: Buffer): void {
    const history = this.#media?.videoHistory;
    if (!history || !this.#videoOpen) return;
    const nacked = this.#nacked;
    nacked.length = 0;
    const n = nackedSequences(rtcp, this.#videoSsrc, nacked, MAX_RETRANSMITS_PER_RTCP);
    for (let i = 0; i < n; i++) {
      // Found and missing packets are counted by the history, for the stream's status.
      const packet = history.get(nacked[i] as number);
      if (!packet) continue;
      // The history's bytes carry whichever payload type was set last; this viewer's goes in.
      setPayloadType(packet, this.#videoPt);
      try {
        this.#video.sendMessageBinary(packet);
      } catch {
        // the track closed under us
      }
    }
  }

  #wire(): void {
    // Incoming RTCP (receiver reports, NACK, PLI) is the proof that the viewer is still there.
    this.#video.onMessage((msg) => {
      this.#rtcpReceived++;
      this.#onVideoRtcp(msg);
    });
    this.#audio.onMessage(() => {
      this.#rtcpReceived++;
    });
    this.#video.onOpen(() => {
      this.#videoOpen = true;
      this.#startReports();
    });
    this.#audio.onOpen(() => {
      this.#audioOpen = true;
      this.#startReports();
    });
    this.#video.onClosed(() => {
      this.#videoOpen = false;
    });
    this.#audio.onClosed(() => {
      this.#audioOpen = false;
    });
    this.#pc.onStateChange((s) => {
      if (this.#closed) return;
      this.#state = s as PeerState;
      this.emit('state', this.#state);
    });
  }

  #gathered(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new GatewayTimeoutError(`ICE gathering did not complete within ${timeoutMs} ms`)), timeoutMs);
      this.#pc.onGatheringStateChange((s) => {
        if (s === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      });
      this.once('close', () => {
        clearTimeout(timer);
        reject(new GatewayTimeoutError('peer closed while gathering ICE candidates'));
      });
    });
  }

  /** The local SDP answer (complete with candidates once `answer()` resolved). */
  get answerSdp(): string {
    return this.#pc.localDescription()?.sdp ?? '';
  }

  /** Remote ICE candidates known so far (from the offer and trickled PATCHes). */
  get remoteCandidateCount(): number {
    if (this.#closed) return 0;
    return (this.#pc.remoteDescription()?.sdp.match(/^a=candidate:/gm) ?? []).length + this.#heldCandidates.length;
  }

  /** RTCP packets received from the viewer so far. */
  get rtcpReceived(): number {
    return this.#rtcpReceived;
  }

  /** True once the audio track is open and can take packets. */
  get audioReady(): boolean {
    return this.#audioOpen;
  }

  /** True once the video track is open and can take packets. */
  get videoReady(): boolean {
    return this.#videoOpen;
  }

  /** Current connection state. */
  get state(): PeerState {
    return this.#state;
  }

  /** True once close() ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes sent on the transport (SRTP and RTCP). */
  get bytesSent(): number {
    return this.#closed ? 0 : this.#pc.bytesSent();
  }

  /** Round-trip time in ms as libdatachannel measured it, if any. */
  get rttMs(): number | undefined {
    if (this.#closed) return undefined;
    const rtt = this.#pc.rtt();
    return rtt >= 0 ? rtt : undefined;
  }

  /** Sends one rewritten video RTP packet. Never throws (hot path). */
  sendVideo(packet: Buffer): void {
    if (!this.#send(this.#video, this.#videoOpen, packet)) return;
    // The SR's counts: FFmpeg's RTP has a bare 12-byte header (no CSRCs, no extensions).
    this.#videoPackets++;
    this.#videoOctets += packet.length - RTP_HEADER_BYTES;
  }

  /** Sends one rewritten audio RTP packet. Never throws (hot path). */
  sendAudio(packet: Buffer): void {
    if (!this.#send(this.#audio, this.#audioOpen, packet)) return;
    this.#audioPackets++;
    this.#audioOctets += packet.length - RTP_HEADER_BYTES;
  }

  // A send before the track opened or after it closed throws in node-datachannel: skip it.
  #send(track: Track, open: boolean, packet: Buffer): boolean {
    if (!open) return false;
    try {
      track.sendMessageBinary(packet);
      return true;
    } catch {
      // closed between the open check and the send
      return false;
    }
  }

  /** Adds one trickled remote candidate (`candidate:...` or `a=candidate:...`) for a mid. */
  addRemoteCandidate(candidate: string, mid: string): void {
    if (this.#closed) return;
    try {
      this.#pc.addRemoteCandidate(candidate.replace(/^a=/, ''), mid);
    } catch (err) {
      throw new BadRequestError(`candidate rejected: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Closes tracks and the PeerConnection; idempotent; emits `close` once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#releaseTimer) clearTimeout(this.#releaseTimer);
    if (this.#reportTimer) clearInterval(this.#reportTimer);
    this.#reportTimer = undefined;
    this.#heldCandidates = [];
    this.#videoOpen = false;
    this.#audioOpen = false;
    this.#state = 'closed';
    // Closing the tracks first releases node-datachannel's per-track callbacks; closing only the
    // PeerConnection leaves them registered and keeps the process alive.
    for (const track of [this.#video, this.#audio]) {
      try {
        track.close();
      } catch {
        // already closed with the transport
      }
    }
    try {
      this.#pc.close();
    } catch {
      // libdatachannel may already have torn the transport down.
    }
    this.emit('close');
  }
}
