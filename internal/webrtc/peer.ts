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
import { RTP_HEADER_BYTES, nackedSequences, setPayloadType } from '../rtp/index.js';
import { SENDER_REPORT_INTERVAL_MS, sendSenderReport } from './sender-reports.js';
import { CANDIDATE_HOLD_MS, holdBackCandidates } from './hold-candidates.js';
import { advertiseCandidates } from './advertise.js';
import { ReceptionQuality } from './quality.js';
import type { PeerMedia, PeerNetworkOptions, PeerState, PeerStats, TrackIdentity } from './types.js';

const { PeerConnection: PeerConnectionCtor, Video, Audio } = nodeDataChannel;

// One RTCP datagram may NACK thousands of packets; answer at most this many of them.
const MAX_RETRANSMITS_PER_RTCP = 64;

let peerSeq = 0;

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
  /** Remote candidates libdatachannel took (the offer's are all held back first, then added). */
  #remoteCandidates = 0;
  #releaseTimer: NodeJS.Timeout | undefined;
  #media: PeerMedia | undefined;
  #advertised: readonly string[] = [];
  #advertiseOnly = false;
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
  #quality: ReceptionQuality | undefined;
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
    if (net.udpPort !== undefined) {
      // One socket for every peer of this process: libjuice demultiplexes by ICE credentials.
      config.enableIceUdpMux = true;
      config.portRangeBegin = net.udpPort;
      config.portRangeEnd = net.udpPort;
    }
    const pc = new PeerConnectionCtor(`viewer-${++peerSeq}`, config);
    let peer: ViewerPeer | undefined;
    try {
      // Local tracks on the offer's mids: libdatachannel then answers with our descriptions
      // (codec, direction, SSRC) instead of reciprocating the offer's.
      const videoDesc = new Video(plan.video.mid, 'SendOnly');
      if (plan.video.codec === 'vp8') videoDesc.addVP8Codec(plan.video.payloadType);
      else videoDesc.addH264Codec(plan.video.payloadType, plan.video.fmtp);
      videoDesc.addSSRC(ids.video.ssrc, ids.video.cname, ids.video.streamId, ids.video.trackId);
      const audioDesc = new Audio(plan.audio.mid, 'SendOnly');
      audioDesc.addOpusCodec(plan.audio.payloadType, plan.audio.fmtp);
      audioDesc.addSSRC(ids.audio.ssrc, ids.audio.cname, ids.audio.streamId, ids.audio.trackId);
      const video = pc.addTrack(videoDesc);
      const audio = pc.addTrack(audioDesc);
      peer = new ViewerPeer(pc, video, audio);
      peer.#media = media;
      peer.#advertised = net.advertisedAddresses ?? [];
      peer.#advertiseOnly = net.advertiseOnly === true;
      peer.#videoSsrc = ids.video.ssrc;
      peer.#videoPt = plan.video.payloadType;
      peer.#ids = ids;
      peer.#quality = new ReceptionQuality(ids.video.ssrc, ids.audio.ssrc);
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
    const sentAt = performance.now();
    // Both SRs carry the same NTP time, so one remembered LSR serves both tracks' RRs.
    let lsr: number | undefined;
    if (this.#videoOpen) lsr = sendSenderReport(this.#video, { ssrc: ids.video.ssrc, ntpMs: nowMs, rtp: videoRtp, packets: this.#videoPackets, octets: this.#videoOctets }, this.#cname);
    if (this.#audioOpen) lsr = sendSenderReport(this.#audio, { ssrc: ids.audio.ssrc, ntpMs: nowMs, rtp: audioRtp, packets: this.#audioPackets, octets: this.#audioOctets }, this.#cname) ?? lsr;
    if (lsr !== undefined) this.#quality?.senderReportSent(lsr, sentAt);
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
      this.#quality?.rtcp('video', msg, performance.now());
      this.#onVideoRtcp(msg);
    });
    this.#audio.onMessage((msg) => {
      this.#rtcpReceived++;
      this.#quality?.rtcp('audio', msg, performance.now());
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
    return advertiseCandidates(this.#pc.localDescription()?.sdp ?? '', this.#advertised, this.#advertiseOnly);
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

  /** Figures for status pages and liveness; not for the packet path. */
  stats(): PeerStats {
    const open = !this.#closed;
    const rtt = open ? this.#pc.rtt() : -1;
    return {
      rtcpReceived: this.#rtcpReceived,
      bytesSent: open ? this.#pc.bytesSent() : 0,
      rttMs: rtt >= 0 ? rtt : undefined,
      videoReady: this.#videoOpen,
      audioReady: this.#audioOpen,
      remoteCandidateCount: open ? this.#remoteCandidates + this.#heldCandidates.length : 0,
      ...(this.#quality ? { quality: this.#quality.snapshot() } : {}),
    };
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
      this.#remoteCandidates++;
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
