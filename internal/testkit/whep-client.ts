/**
 * A real WHEP client for tests and benchmarks: a node-datachannel PeerConnection bound to
 * loopback that POSTs its offer over HTTP and records every RTP packet it receives.
 */
import nodeDataChannel from 'node-datachannel';
import type { PeerConnection, Track } from 'node-datachannel';

const { PeerConnection: PeerConnectionCtor, Video, Audio, RtcpReceivingSession } = nodeDataChannel;

/** One received RTP packet, reduced to what tests check. */
export interface ReceivedPacket {
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  marker: boolean;
  /** The payload (H264 NAL header, VP8 descriptor or Opus TOC first), for the first `keepPayloads` packets. */
  payload: Buffer;
  at: number;
}

/** Options for {@link WhepClient.connect}. */
export interface WhepClientOptions {
  /** Full WHEP endpoint URL, e.g. http://127.0.0.1:8889/whep/demo */
  endpoint: string;
  videoPayloadType?: number;
  audioPayloadType?: number;
  /** The one video codec offered: H264 (default) or VP8, as a browser without H264 offers. */
  videoCodec?: 'h264' | 'vp8';
  /**
   * Trickle ICE: POST the offer without candidates, then PATCH them (RFC 9725 section 4.3.1)
   * with the session's ETag once gathering completes. Default false: wait for gathering.
   */
  trickle?: boolean;
  /** Keep the payload bytes of this many first packets per track (default 8). */
  keepPayloads?: number;
  /**
   * Offer the video as sendrecv, so the test can send its own RTCP with sendVideoRtcp() (a
   * recvonly libdatachannel track sends only what its media handler makes, never a NACK).
   */
  videoSendRecv?: boolean;
  /**
   * Record the server's RTCP sender reports in `senderReports`. libdatachannel's receiving
   * session consumes them, so this client installs none: it then sends no receiver reports
   * either, which whepd reads as a dead viewer after webrtc.rtcpTimeoutMs. For short tests.
   */
  recordSenderReports?: boolean;
  /** Local address for ICE (default 127.0.0.1); a viewer in a test network namespace uses its own. */
  bindAddress?: string;
  /**
   * Send no candidate at all (none in the offer, no trickle): the server then knows this client
   * only from where its checks come from (peer-reflexive), e.g. a relay in between.
   */
  hideCandidates?: boolean;
}

/** One sender report the client received. */
export interface ReceivedSenderReport {
  kind: 'video' | 'audio';
  ssrc: number;
  /** Wallclock of the report (Unix ms) and the RTP timestamp it maps to it. */
  ntpMs: number;
  rtp: number;
  packets: number;
  octets: number;
  /** CNAME from the SDES that came with it, if any. */
  cname: string | undefined;
  /** NTP middle 32 bits, what a receiver report echoes as LSR, and when it arrived (performance.now()). */
  lsr: number;
  receivedAt: number;
}

/** The HTTP answer to the POST. */
export interface PostResult {
  status: number;
  headers: Headers;
  body: string;
}

let clientSeq = 0;

function parseSenderReport(kind: 'video' | 'audio', msg: Buffer): ReceivedSenderReport | undefined {
  if (msg.length < 28 || msg[0]! >> 6 !== 2 || msg[1] !== 200) return undefined;
  let cname: string | undefined;
  const srEnd = (msg.readUInt16BE(2) + 1) * 4;
  if (msg.length >= srEnd + 10 && msg[srEnd + 1] === 202 && msg[srEnd + 8] === 1) {
    cname = msg.subarray(srEnd + 10, srEnd + 10 + msg[srEnd + 9]!).toString('utf8');
  }
  return {
    kind,
    ssrc: msg.readUInt32BE(4),
    ntpMs: (msg.readUInt32BE(8) - 2208988800) * 1000 + (msg.readUInt32BE(12) / 2 ** 32) * 1000,
    rtp: msg.readUInt32BE(16),
    packets: msg.readUInt32BE(20),
    octets: msg.readUInt32BE(24),
    cname,
    lsr: msg.readUInt32BE(10),
    receivedAt: performance.now(),
  };
}

function parseRtp(msg: Buffer, keep: boolean): ReceivedPacket | undefined {
  if (msg.length < 12 || msg[0]! >> 6 !== 2) return undefined;
  const b1 = msg[1]!;
  if (b1 >= 192 && b1 <= 223) return undefined; // RTCP
  const cc = msg[0]! & 0x0f;
  let off = 12 + cc * 4;
  if (msg[0]! & 0x10) off += 4 + msg.readUInt16BE(off + 2) * 4;
  return {
    pt: b1 & 0x7f,
    marker: (b1 & 0x80) !== 0,
    seq: msg.readUInt16BE(2),
    ts: msg.readUInt32BE(4),
    ssrc: msg.readUInt32BE(8),
    payload: keep ? Buffer.from(msg.subarray(off)) : Buffer.alloc(0),
    at: performance.timeOrigin + performance.now(),
  };
}

/** A receiving WHEP client. close() releases the peer and DELETEs the session. */
export class WhepClient {
  readonly video: ReceivedPacket[] = [];
  readonly audio: ReceivedPacket[] = [];
  /** Sender reports, with `recordSenderReports` only. */
  readonly senderReports: ReceivedSenderReport[] = [];
  readonly pc: PeerConnection;
  readonly offer: string;
  post: PostResult | undefined;
  resourceUrl: string | undefined;
  readonly #tracks: Track[] = [];
  readonly #handlers: unknown[] = [];
  #state = 'new';
  #closed = false;

  private constructor(pc: PeerConnection, offer: string) {
    this.pc = pc;
    this.offer = offer;
  }

  /** Peer connection state as node-datachannel reports it. */
  get state(): string {
    return this.#state;
  }

  /**
   * Creates the peer and its offer, POSTs it, and applies the answer if the POST returned 201.
   * libjuice (the client's ICE agent) sometimes closes a receiving peer that gets the server's
   * connectivity checks before its answer is applied (about 1 in 300 here); such an attempt is
   * DELETEd and retried with a fresh peer, at most twice, and counted in `attempts`. With a 201,
   * connect() resolves once the peer is connected (or after 5 s, or on the third attempt).
   */
  static async connect(o: WhepClientOptions): Promise<WhepClient> {
    for (let attempt = 1; ; attempt++) {
      const client = await WhepClient.#connectOnce(o);
      client.attempts = attempt;
      if (client.post?.status !== 201 || attempt === 3) return client;
      // Wait (bounded) for the outcome: connected is done; closed/failed is the race, retried.
      const deadline = Date.now() + 5000;
      let state = client.pc.state();
      while (state !== 'connected' && state !== 'closed' && state !== 'failed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
        state = client.pc.state();
      }
      if (state === 'connected') return client;
      await client.close();
    }
  }

  /** Status of each trickle PATCH sent. */
  readonly patchStatuses: number[] = [];
  /** Candidates sent by PATCH. */
  trickledCandidates = 0;

  /** How many peers connect() needed (1 unless the libjuice race above hit). */
  attempts = 1;

  static async #connectOnce(o: WhepClientOptions): Promise<WhepClient> {
    const pc = new PeerConnectionCtor(`client-${++clientSeq}`, { iceServers: [], bindAddress: o.bindAddress ?? '127.0.0.1', disableAutoNegotiation: true });
    const keep = o.keepPayloads ?? 8;
    const v = new Video('0', o.videoSendRecv ? 'SendRecv' : 'RecvOnly');
    if (o.videoCodec === 'vp8') v.addVP8Codec(o.videoPayloadType ?? 120);
    else v.addH264Codec(o.videoPayloadType ?? 108, 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f');
    const a = new Audio('1', 'RecvOnly');
    a.addOpusCodec(o.audioPayloadType ?? 111, 'minptime=10;useinbandfec=1');
    const vt = pc.addTrack(v);
    const at = pc.addTrack(a);
    let client: WhepClient | undefined;
    const gathered = new Promise<void>((resolve) => {
      pc.onGatheringStateChange((s) => {
        if (s === 'complete') resolve();
      });
    });
    pc.onStateChange((s) => {
      if (client) client.#state = s;
    });
    const local: { candidate: string; mid: string }[] = [];
    pc.onLocalCandidate((candidate, mid) => local.push({ candidate: candidate.replace(/^a=/, ''), mid }));
    pc.setLocalDescription('offer');
    if (!o.trickle) await gathered;
    let offer = pc.localDescription()?.sdp ?? '';
    // A trickling client sends no candidates in the offer, whatever was gathered already.
    if (o.trickle || o.hideCandidates) offer = offer.replace(/^a=(candidate:.*|end-of-candidates)\r?\n/gm, '');
    client = new WhepClient(pc, offer);
    client.#tracks.push(vt, at);
    for (const [track, into, kind] of [[vt, client.video, 'video'], [at, client.audio, 'audio']] as const) {
      if (!o.recordSenderReports) {
        const rtcp = new RtcpReceivingSession();
        track.setMediaHandler(rtcp);
        client.#handlers.push(rtcp);
      }
      track.onMessage((msg) => {
        const p = parseRtp(msg, into.length < keep);
        if (p) into.push(p);
        else if (o.recordSenderReports) {
          const sr = parseSenderReport(kind, msg);
          if (sr) client!.senderReports.push(sr);
        }
      });
    }
    const res = await fetch(o.endpoint, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
    client.post = { status: res.status, headers: res.headers, body: await res.text() };
    if (res.status === 201) {
      const loc = res.headers.get('location');
      if (loc) client.resourceUrl = new URL(loc, o.endpoint).href;
      try {
        pc.setRemoteDescription(client.post.body, 'answer');
      } catch (err) {
        // Only the race described on connect() is retried; anything else is the server's fault.
        if (!/without ICE transport/.test(String(err))) throw err;
      }
      if (o.trickle && client.resourceUrl) {
        await gathered;
        const frag = local.map((c) => `a=mid:${c.mid}\r\na=${c.candidate}\r\n`).join('') + 'a=end-of-candidates\r\n';
        const patch = await fetch(client.resourceUrl, {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': res.headers.get('etag') ?? '' },
          body: frag,
        });
        client.patchStatuses.push(patch.status);
        client.trickledCandidates = local.length;
      }
    }
    return client;
  }

  /** Resolves when `cond()` holds, polling every 20 ms; rejects after `timeoutMs`. */
  async waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what} (POST ${this.post?.status}, peer ${this.#state}, ` +
            `attempts ${this.attempts}, video ${this.video.length}, audio ${this.audio.length})`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends an RTCP packet (e.g. a NACK) on the video track; needs `videoSendRecv`. */
  sendVideoRtcp(rtcp: Buffer): void {
    (this.#tracks[0] as Track).sendMessageBinary(rtcp);
  }

  /** DELETEs the session (if any) and closes the peer. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.resourceUrl) await fetch(this.resourceUrl, { method: 'DELETE' }).catch(() => undefined);
    for (const track of this.#tracks) {
      try {
        track.close();
      } catch {
        // already closed
      }
    }
    try {
      this.pc.close();
    } catch {
      // already closed
    }
  }
}
