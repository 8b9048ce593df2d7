/**
 * Functions that run inside the browser via page.evaluate() (Chromium with Playwright, Firefox with
 * Puppeteer). Each is self-contained (no closures over this module): only its source text is sent.
 */

/** The player page's state, as `window.whepPlayer` and #status show it. */
export interface PlayerState {
  state: string;
  history: string[];
  ttffMs: number | undefined;
  status: string;
  /** Server-sent events the page heard, and the viewer count it shows. */
  events: string[];
  viewers: number | undefined;
}

/** Reads the player page's state (window.whepPlayer, #status). */
export function readPlayer(): PlayerState {
  const p = (window as unknown as { whepPlayer?: { state: string; history: string[]; ttffMs?: number; events?: string[]; viewers?: number } }).whepPlayer;
  return {
    state: p?.state ?? 'none',
    history: [...(p?.history ?? [])],
    ttffMs: p?.ttffMs,
    status: document.getElementById('status')?.textContent ?? '',
    events: [...(p?.events ?? [])],
    viewers: p?.viewers,
  };
}

/** Why a wait on the player failed: its state, status and last messages (runs in Node). */
export function describePlayer(s: PlayerState, timeoutMs: number): string {
  return `not within ${timeoutMs} ms (state ${s.state}, status "${s.status}", history ${JSON.stringify(s.history.slice(-6))})`;
}

/** One getStats() sample of a receiving peer. */
export interface StatsSample {
  /** performance.now() when the sample was read. */
  at: number;
  framesDecoded: number;
  /** The video codec's mimeType (its codec stats entry), e.g. video/H264 or video/VP8; '' if none. */
  videoCodec: string;
  width: number;
  height: number;
  fps: number;
  videoPacketsLost: number;
  audioPacketsLost: number;
  totalSamplesReceived: number;
  /** Audio RTP packets received (unlike totalSamplesReceived, concealment does not add to it). */
  audioPacketsReceived: number;
  audioLevel: number;
  /** Audio samples the receiver made up for lost or late packets (part of totalSamplesReceived). */
  concealedSamples: number;
}

/** What a stats window saw. */
export interface StatsWindow {
  samples: StatsSample[];
  error?: string;
}

type Pc = RTCPeerConnection;

/** Samples getStats() of `window.__pc()` every 500 ms for `ms`. */
export async function sampleStats(arg: { ms: number; source: string }): Promise<StatsWindow> {
  const w = window as unknown as { whepPlayer?: { pc?: Pc }; bare?: { pc: Pc } };
  const samples: StatsSample[] = [];
  const end = performance.now() + arg.ms;
  while (performance.now() < end) {
    const pc = arg.source === 'player' ? w.whepPlayer?.pc : w.bare?.pc;
    if (!pc) return { samples, error: 'no peer connection' };
    const report = await pc.getStats();
    let v: (Record<string, number> & { codecId?: string }) | undefined;
    let a: Record<string, number> | undefined;
    report.forEach((e: Record<string, number> & { type: string; kind: string; codecId?: string }) => {
      if (e.type === 'inbound-rtp' && e.kind === 'video') v = e;
      if (e.type === 'inbound-rtp' && e.kind === 'audio') a = e;
    });
    const codec = v?.codecId === undefined ? undefined : (report.get(String(v.codecId)) as { mimeType?: string } | undefined);
    samples.push({
      at: performance.now(),
      framesDecoded: v?.framesDecoded ?? 0,
      videoCodec: codec?.mimeType ?? '',
      width: v?.frameWidth ?? 0,
      height: v?.frameHeight ?? 0,
      fps: v?.framesPerSecond ?? 0,
      videoPacketsLost: v?.packetsLost ?? 0,
      audioPacketsLost: a?.packetsLost ?? 0,
      totalSamplesReceived: a?.totalSamplesReceived ?? 0,
      audioPacketsReceived: a?.packetsReceived ?? 0,
      audioLevel: a?.audioLevel ?? 0,
      concealedSamples: a?.concealedSamples ?? 0,
    });
    await new Promise((r) => setTimeout(r, 500));
  }
  return { samples };
}

/**
 * A bare WHEP session: RTCPeerConnection + fetch, no player code. Leaves `window.bare`. With
 * `onlyVideoCodec` (a MIME type) the offer lists only that video codec, as a browser without
 * H264 offers.
 */
export async function bareWhep(arg: { endpoint: string; trickle: boolean; timeoutMs: number; onlyVideoCodec?: string }): Promise<{ ok: boolean; detail: string; patches: number[]; ttffMs?: number; offer?: string }> {
  const deadline = performance.now() + arg.timeoutMs;
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const vt = pc.addTransceiver('video', { direction: 'recvonly' });
  if (arg.onlyVideoCodec) vt.setCodecPreferences((RTCRtpReceiver.getCapabilities('video')?.codecs ?? []).filter((c) => c.mimeType === arg.onlyVideoCodec));
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const media = new MediaStream();
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = false;
  video.srcObject = media;
  document.body.append(video);
  pc.ontrack = (e) => {
    media.addTrack(e.track);
    video.play().catch(() => {});
  };
  const patches: number[] = [];
  const queue: string[] = [];
  let resource: string | undefined;
  let etag: string | undefined;
  let done = false;
  let chain = Promise.resolve();
  const w = window as unknown as { bare?: unknown };
  // DELETE before pc.close(): closing first sends DTLS close_notify, and whepd may end the session
  // on that before the DELETE arrives (it then answers 204).
  const close = async () => {
    const status = resource ? (await fetch(resource, { method: 'DELETE' })).status : 0;
    pc.close();
    video.remove();
    return status;
  };
  w.bare = { pc, video, close };
  const flush = () => {
    if (!resource || !etag) return;
    const lines = queue.splice(0);
    const end = done;
    if (!lines.length && !end) return;
    const body = ['m=audio 9 RTP/AVP 0', 'a=mid:0', ...lines.map((l) => `a=${l}`), ...(end ? ['a=end-of-candidates'] : [])].join('\r\n') + '\r\n';
    const url = resource;
    const tag = etag;
    chain = chain.then(() =>
      fetch(url, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': tag }, body }).then((r) => {
        patches.push(r.status);
      }),
    );
    done = false;
  };
  if (arg.trickle) {
    pc.onicecandidate = (e) => {
      if (e.candidate?.candidate) queue.push(e.candidate.candidate);
      else done = true;
      flush();
    };
  }
  await pc.setLocalDescription(await pc.createOffer());
  if (!arg.trickle) {
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
      setTimeout(resolve, 3000);
    });
  }
  const postAt = performance.now();
  let firstFrameAt: number | undefined;
  video.requestVideoFrameCallback(() => {
    firstFrameAt = performance.now();
  });
  const res = await fetch(arg.endpoint, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription?.sdp ?? '' });
  const answer = await res.text();
  const offer = pc.localDescription?.sdp ?? '';
  if (res.status !== 201) return { ok: false, detail: `POST answered ${res.status}: ${answer.trim()}`, patches, offer };
  resource = new URL(res.headers.get('Location') ?? '', arg.endpoint).href;
  etag = res.headers.get('ETag') ?? undefined;
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  flush();
  while (firstFrameAt === undefined && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await chain;
  if (firstFrameAt === undefined) return { ok: false, detail: `no video frame within ${arg.timeoutMs} ms (ICE ${pc.iceConnectionState})`, patches };
  return { ok: true, detail: `connected, ICE ${pc.iceConnectionState}`, patches, ttffMs: firstFrameAt - postAt, offer };
}

/** Closes the bare session (DELETE) and returns the DELETE status. */
export async function closeBare(): Promise<number> {
  const w = window as unknown as { bare?: { close: () => Promise<number> } };
  return (await w.bare?.close()) ?? -1;
}

