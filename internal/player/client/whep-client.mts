/**
 * Browser WHEP client (draft-ietf-wish-whep; RFC 9725 for PATCH/DELETE): one playback session
 * over one RTCPeerConnection. Knows nothing about the page; the player owns retries and UI.
 */
import { fetchIceServers } from './links.mjs';

/** A WHEP request that did not give a session; `status` 0 means the server was unreachable. */
export class WhepHttpError extends Error {
  /** HTTP status, or 0 for a network error. */
  readonly status: number;
  /** Seconds from `Retry-After` (RFC 9110 section 10.2.3), when the server sent one. */
  readonly retryAfterS: number | undefined;
  /** The server's short text body, trimmed. */
  readonly detail: string;

  constructor(status: number, detail: string, retryAfterS: number | undefined) {
    super(status === 0 ? `cannot reach the server: ${detail}` : `HTTP ${status}: ${detail}`);
    this.name = 'WhepHttpError';
    this.status = status;
    this.detail = detail;
    this.retryAfterS = retryAfterS;
  }
}

/** Options for {@link WhepSession.start}. */
export interface WhepSessionOptions {
  /** Absolute URL of the WHEP endpoint, e.g. http://host:8889/whep/demo */
  endpoint: string;
  /** Send candidates with PATCH as they are gathered (true) or wait and POST a complete offer. */
  trickle: boolean;
  /** Longest wait for ICE gathering when not trickling. */
  gatheringTimeoutMs?: number;
  /** Each remote track as it arrives. */
  onTrack: (ev: RTCTrackEvent) => void;
  /** performance.now() right before the offer POST leaves (time-to-first-frame starts here). */
  onPostSent?: (at: number) => void;
}

const SDP = 'application/sdp';
const SDPFRAG = 'application/trickle-ice-sdpfrag';

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const s = Number(value.trim());
  if (Number.isFinite(s) && s >= 0) return s;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function attr(sdp: string, name: string): string | undefined {
  const m = new RegExp(`^a=${name}:(.*)$`, 'm').exec(sdp);
  return m?.[1]?.trim();
}

/** One WHEP playback session. Call {@link WhepSession.close} exactly when the viewer leaves. */
export class WhepSession {
  /** The peer connection; read it for getStats() and state. */
  readonly pc: RTCPeerConnection;
  #resource: string | undefined;
  #etag: string | undefined;
  #link: string | null = null;
  #closed = false;
  #pending: RTCIceCandidate[] = [];
  #gatheringDone = false;
  #endSent = false;
  #trickleBroken = false;
  #patching: Promise<void> = Promise.resolve();

  private constructor(pc: RTCPeerConnection) {
    this.pc = pc;
  }

  /** The session URL from `Location` (undefined if the server gave none). */
  get resource(): string | undefined {
    return this.#resource;
  }

  /** The 201's Link header (ICE servers, extensions such as server-sent events). */
  get link(): string | null {
    return this.#link;
  }

  /** True once close() ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Creates the peer, POSTs the offer and applies the answer. Rejects with WhepHttpError when the
   * server refuses (409 not live, 503 full, ...); the peer is closed in that case.
   */
  static async start(o: WhepSessionOptions): Promise<WhepSession> {
    // TURN servers must be known before gathering starts, which is before the POST.
    const iceServers = await fetchIceServers(o.endpoint);
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers });
    const s = new WhepSession(pc);
    try {
      await s.#negotiate(o);
    } catch (err) {
      s.close();
      throw err;
    }
    return s;
  }

  async #negotiate(o: WhepSessionOptions): Promise<void> {
    const pc = this.pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.ontrack = o.onTrack;
    if (o.trickle) {
      pc.onicecandidate = (ev) => {
        // A null candidate (or an empty one) marks the end of gathering (RFC 8838 section 8.2).
        if (ev.candidate && ev.candidate.candidate) this.#pending.push(ev.candidate);
        else this.#gatheringDone = true;
        this.#flush();
      };
    }
    await pc.setLocalDescription(await pc.createOffer());
    if (!o.trickle) await this.#waitGathering(o.gatheringTimeoutMs ?? 2000);
    const offer = pc.localDescription?.sdp ?? '';
    let res: Response;
    o.onPostSent?.(performance.now());
    try {
      res = await fetch(o.endpoint, { method: 'POST', headers: { 'Content-Type': SDP }, body: offer });
    } catch (err) {
      throw new WhepHttpError(0, err instanceof Error ? err.message : String(err), undefined);
    }
    const body = await res.text();
    if (this.#closed) throw new WhepHttpError(0, 'closed while negotiating', undefined);
    if (res.status !== 201) throw new WhepHttpError(res.status, body.trim(), parseRetryAfter(res.headers.get('Retry-After')));
    const location = res.headers.get('Location');
    if (location) this.#resource = new URL(location, o.endpoint).href;
    this.#etag = res.headers.get('ETag') ?? undefined;
    this.#link = res.headers.get('Link');
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    this.#flush();
  }

  #waitGathering(timeoutMs: number): Promise<void> {
    const pc = this.pc;
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        pc.removeEventListener('icegatheringstatechange', check);
        resolve();
      }
      function check() {
        if (pc.iceGatheringState === 'complete') done();
      }
      pc.addEventListener('icegatheringstatechange', check);
    });
  }

  // PATCHes go one at a time, in order; candidates found meanwhile wait for the next one.
  #flush(): void {
    if (!this.#resource || !this.#etag || this.#closed || this.#trickleBroken) return;
    this.#patching = this.#patching.then(() => this.#patchOnce());
  }

  async #patchOnce(): Promise<void> {
    if (this.#closed || this.#trickleBroken || !this.#resource || !this.#etag) return;
    const candidates = this.#pending.splice(0);
    const end = this.#gatheringDone && !this.#endSent;
    if (candidates.length === 0 && !end) return;
    if (end) this.#endSent = true;
    const sdp = this.pc.localDescription?.sdp ?? '';
    // RFC 8840 section 9: ice-ufrag/pwd identify the generation; candidates sit under their m= / mid.
    const lines: string[] = [];
    const ufrag = attr(sdp, 'ice-ufrag');
    const pwd = attr(sdp, 'ice-pwd');
    if (ufrag) lines.push(`a=ice-ufrag:${ufrag}`);
    if (pwd) lines.push(`a=ice-pwd:${pwd}`);
    const byMid = new Map<string, string[]>();
    const firstMid = this.pc.getTransceivers()[0]?.mid ?? '0';
    for (const c of candidates) {
      const mid = c.sdpMid ?? firstMid;
      let list = byMid.get(mid);
      if (!list) byMid.set(mid, (list = []));
      list.push(`a=${c.candidate}`);
    }
    if (byMid.size === 0) byMid.set(firstMid, []);
    for (const [mid, list] of byMid) {
      lines.push('m=audio 9 RTP/AVP 0', `a=mid:${mid}`, ...list);
      if (end) lines.push('a=end-of-candidates');
    }
    try {
      const res = await fetch(this.#resource, {
        method: 'PATCH',
        headers: { 'Content-Type': SDPFRAG, 'If-Match': this.#etag },
        body: lines.join('\r\n') + '\r\n',
      });
      // 405/501: the server does not trickle; ICE can still succeed from the answer's candidates.
      if (res.status === 405 || res.status === 501) this.#trickleBroken = true;
    } catch {
      // A lost PATCH only costs candidates; connectivity checks may still find a path.
    }
  }

  /** Closes the peer and DELETEs the session (keepalive, so it survives page unload). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const resource = this.#resource;
    if (resource) fetch(resource, { method: 'DELETE', keepalive: true }).catch(() => {});
    this.pc.ontrack = null;
    this.pc.onicecandidate = null;
    this.pc.close();
  }
}
