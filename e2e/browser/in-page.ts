/**
 * Functions that run inside Chromium via page.evaluate(). Each is self-contained (no closures over
 * this module): Playwright sends only the function's source text.
 */

/** One getStats() sample of a receiving peer. */
export interface StatsSample {
  framesDecoded: number;
  width: number;
  height: number;
  fps: number;
  videoPacketsLost: number;
  audioPacketsLost: number;
  totalSamplesReceived: number;
  audioLevel: number;
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
    let v: Record<string, number> | undefined;
    let a: Record<string, number> | undefined;
    report.forEach((e: Record<string, number> & { type: string; kind: string }) => {
      if (e.type === 'inbound-rtp' && e.kind === 'video') v = e;
      if (e.type === 'inbound-rtp' && e.kind === 'audio') a = e;
    });
    samples.push({
      framesDecoded: v?.framesDecoded ?? 0,
      width: v?.frameWidth ?? 0,
      height: v?.frameHeight ?? 0,
      fps: v?.framesPerSecond ?? 0,
      videoPacketsLost: v?.packetsLost ?? 0,
      audioPacketsLost: a?.packetsLost ?? 0,
      totalSamplesReceived: a?.totalSamplesReceived ?? 0,
      audioLevel: a?.audioLevel ?? 0,
    });
    await new Promise((r) => setTimeout(r, 500));
  }
  return { samples };
}

/** A bare WHEP session: RTCPeerConnection + fetch, no player code. Leaves `window.bare`. */
export async function bareWhep(arg: { endpoint: string; trickle: boolean; timeoutMs: number }): Promise<{ ok: boolean; detail: string; patches: number[]; ttffMs?: number }> {
  const deadline = performance.now() + arg.timeoutMs;
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  pc.addTransceiver('video', { direction: 'recvonly' });
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
  if (res.status !== 201) return { ok: false, detail: `POST answered ${res.status}: ${answer.trim()}`, patches };
  resource = new URL(res.headers.get('Location') ?? '', arg.endpoint).href;
  etag = res.headers.get('ETag') ?? undefined;
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  flush();
  while (firstFrameAt === undefined && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await chain;
  if (firstFrameAt === undefined) return { ok: false, detail: `no video frame within ${arg.timeoutMs} ms (ICE ${pc.iceConnectionState})`, patches };
  return { ok: true, detail: `connected, ICE ${pc.iceConnectionState}`, patches, ttffMs: firstFrameAt - postAt };
}

/** Closes the bare session (DELETE) and returns the DELETE status. */
export async function closeBare(): Promise<number> {
  const w = window as unknown as { bare?: { close: () => Promise<number> } };
  return (await w.bare?.close()) ?? -1;
}

/** Result of an A/V sync measurement. */
export interface AvSync {
  flashes: number[];
  beeps: number[];
  offsetsMs: number[];
  /** AudioContext base and output latency in ms, as the browser reports them. */
  latencyMs?: { base: number; output: number };
  error?: string;
}

/**
 * Measures when the white flash is shown (requestVideoFrameCallback, mean luma of a downscaled
 * drawImage) and when the 1 kHz beep is heard (AnalyserNode on the received audio track), both on
 * the performance.now() clock, and pairs them. Positive offset = audio late.
 */
export async function measureAvSync(arg: { ms: number; source: string }): Promise<AvSync> {
  const w = window as unknown as { whepPlayer?: { video: HTMLVideoElement }; bare?: { video: HTMLVideoElement } };
  const video = arg.source === 'player' ? w.whepPlayer?.video : w.bare?.video;
  const stream = video?.srcObject as MediaStream | null | undefined;
  const track = stream?.getAudioTracks()[0];
  if (!video || !track) return { flashes: [], beeps: [], offsetsMs: [], error: 'no video element or audio track' };
  const ctx = new AudioContext();
  await ctx.resume();
  const src = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  const sink = ctx.createGain();
  sink.gain.value = 0;
  src.connect(analyser);
  analyser.connect(sink);
  sink.connect(ctx.destination);
  const canvas = document.createElement('canvas');
  canvas.width = 32;
  canvas.height = 18;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  if (!g) return { flashes: [], beeps: [], offsetsMs: [], error: 'no 2d context' };
  const flashes: number[] = [];
  const beeps: number[] = [];
  let bright = false;
  let running = true;
  const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
    if (!running) return;
    g.drawImage(video, 0, 0, 32, 18);
    const px = g.getImageData(0, 0, 32, 18).data;
    let sum = 0;
    for (let i = 0; i < px.length; i += 4) sum += 0.299 * (px[i] ?? 0) + 0.587 * (px[i + 1] ?? 0) + 0.114 * (px[i + 2] ?? 0);
    const luma = sum / (px.length / 4);
    // fixtures/README.md: flash frames have mean luma ~235, the pattern stays well below 200.
    if (luma > 200 && !bright) flashes.push(meta.expectedDisplayTime);
    bright = luma > 200;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  const buf = new Float32Array(analyser.fftSize);
  const sr = ctx.sampleRate;
  let scannedUntil = 0;
  let lastLoud = -10;
  const poll = () => {
    analyser.getFloatTimeDomainData(buf);
    const endCtx = ctx.currentTime;
    const ts = ctx.getOutputTimestamp();
    const toPerf = (t: number) => (ts.performanceTime ?? 0) + (t - (ts.contextTime ?? 0)) * 1000;
    for (let i = 0; i < buf.length; i++) {
      const t = endCtx - (buf.length - i) / sr;
      if (t <= scannedUntil) continue;
      // Beep amplitude 0.8, bed tone 0.05: |s| > 0.3 is the beep.
      if (Math.abs(buf[i] ?? 0) > 0.3) {
        if (t - lastLoud > 0.3) beeps.push(toPerf(t));
        lastLoud = t;
      }
    }
    scannedUntil = endCtx;
  };
  const timer = setInterval(poll, 15);
  await new Promise((r) => setTimeout(r, arg.ms));
  const latencyMs = { base: ctx.baseLatency * 1000, output: (ctx.outputLatency ?? 0) * 1000 };
  running = false;
  clearInterval(timer);
  await ctx.close();
  const offsetsMs: number[] = [];
  for (const f of flashes) {
    let best: number | undefined;
    for (const b of beeps) if (Math.abs(b - f) < 500 && (best === undefined || Math.abs(b - f) < Math.abs(best - f))) best = b;
    if (best !== undefined) offsetsMs.push(best - f);
  }
  return { flashes, beeps, offsetsMs, latencyMs };
}
