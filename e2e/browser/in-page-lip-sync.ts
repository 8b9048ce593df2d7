/**
 * The steady-state lip-sync measurement, run inside Chromium via page.evaluate() (self-contained,
 * like everything in in-page.ts: Playwright sends only the function's source text).
 */
/** Audio inbound-rtp counters, as getStats() gives them (only the ones the lip-sync check reads). */
export interface AudioCounters {
  totalSamplesReceived: number;
  concealedSamples: number;
  silentConcealedSamples: number;
  concealmentEvents: number;
  insertedSamplesForDeceleration: number;
  removedSamplesForAcceleration: number;
  packetsLost: number;
  /** Packets NetEq threw away for arriving after their time had been played (concealed). */
  packetsDiscarded: number;
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
  /** media-playout: summed device delay of the audio samples played so far (s), and their count. */
  totalPlayoutDelay: number;
  totalPlayoutSamples: number;
}

/** What a steady-state lip-sync window saw; times are performance.now() ms. */
export interface LipSyncWindow {
  /** First white frame of each flash, at its requestVideoFrameCallback expectedDisplayTime. */
  flashes: number[];
  /** Flashes left out because the callback missed the frame before their first white one. */
  uncertainFlashes: number;
  /**
   * 1 kHz beep onsets (|sample| > 0.3 after >= 300 ms of quiet) as they leave the audio output.
   * 'player': the time the track handed the sample to the output (MediaStreamTrackProcessor, whose
   * chunks carry it) plus the output's own delay as Chromium reports it (media-playout
   * totalPlayoutDelay / totalSamplesCount over the window). 'element': the WebAudio tap below.
   */
  beeps: number[];
  /**
   * The same onsets through a WebAudio tap: an AnalyserNode on the track in a muted AudioContext,
   * its time mapped with getOutputTimestamp(), i.e. when they leave that context's output. This is
   * a second output path (the source node's FIFO and the context's own latency), not the one that
   * plays the stream; the player figures report it beside the first.
   */
  tapBeeps: number[];
  /** media-playout's mean output delay over the window (ms; player only). */
  outputDelayMs?: number;
  windowStart: number;
  windowEnd: number;
  frames: number;
  /** Frames presented that the callback did not see (presentedFrames jumps). */
  missedFrames: number;
  /** Audio counters at the start and at the end of the window (player source only). */
  audioStart?: AudioCounters;
  audioEnd?: AudioCounters;
  /** The player replaced its RTCPeerConnection during the window (a reconnect). */
  reconnected: boolean;
  latencyMs: { base: number; output: number };
  /** Median lag from a chunk's delivery to reading it on the page (ms; player only). */
  sinkReadLagMs?: number;
  /**
   * The longest the player's RTCPeerConnection went without an audio packet (ms; player only), as
   * seen by polling its audio inbound-rtp every 50 ms: the most any report's `timestamp` was past
   * its `lastPacketReceivedTimestamp`. Both are Chromium's, so a late poll does not read as a hole
   * (it sees how long ago the last packet came); a hole reads up to a poll interval short.
   */
  arrivalHoleMs?: number;
  error?: string;
}

/**
 * Measures flashes and beeps for `ms` on the player page (`source: 'player'`: the audio track of
 * the player's MediaStream, its RTCPeerConnection's audio inbound-rtp counters) or on a plain
 * `<video>` playing a file (`source: 'element'`: the audio of `video.captureStream()`, the same
 * MediaStreamAudioSourceNode path). Flash: mean luma > 200 of a 32x18 drawImage in
 * requestVideoFrameCallback, timed at expectedDisplayTime. Beep: see LipSyncWindow.beeps; the
 * WebAudio tap polls its AnalyserNode every 10 ms.
 *
 * Why the player's beeps are not timed by the WebAudio tap: on 2026-12-01 the tap heard each beep
 * 44-64 ms after the track handed it to the output, a figure that changed from one AudioContext to
 * the next (the source node's FIFO) and of which Chromium's output accounts for 30 ms; so the tap
 * read 14-34 ms of audio lateness that the stream does not have, differently on every page.
 * MediaStreamTrackProcessor chunks of a remote track are stamped when the audio renderer pulls them
 * for the device (read on the page 0.2-0.4 ms later, median), and media-playout reports the
 * device's delay from there. A media element has no media-playout stats, so 'element' keeps the tap.
 *
 * `settleMs`: the taps (AudioContext, track processor, frame callback) start at once and counting
 * starts this much later. Why: started at the window, they disturbed what they measure. In 3 of
 * 16 windows by hand on 2026-12-01 Chromium's own skew estimate jumped by 26-155 ms in the first
 * seconds of the window, NetEq then removed 1526-7475 samples (0-654 in the other 13), and the
 * offsets settled 15-25 ms further audio-early than before it; a CI failure (median -57 ms) began
 * the same way. Started with the settle, any such jolt is over before counting.
 */
export async function measureLipSync(arg: { ms: number; source: 'player' | 'element'; settleMs?: number }): Promise<LipSyncWindow> {
  type Player = { video: HTMLVideoElement; pc?: RTCPeerConnection };
  const player = (window as unknown as { whepPlayer?: Player }).whepPlayer;
  const video = arg.source === 'player' ? player?.video : document.querySelector('video');
  const latencyMs = { base: 0, output: 0 };
  const empty = { flashes: [], uncertainFlashes: 0, beeps: [], tapBeeps: [], windowStart: 0, windowEnd: 0, frames: 0, missedFrames: 0, reconnected: false, latencyMs };
  if (!video) return { ...empty, error: 'no video element' };
  let track: MediaStreamTrack | undefined;
  if (arg.source === 'player') {
    track = (video.srcObject as MediaStream | null)?.getAudioTracks()[0];
  } else {
    track = (video as HTMLVideoElement & { captureStream(): MediaStream }).captureStream().getAudioTracks()[0];
  }
  if (!track) return { ...empty, error: 'no audio track' };
  const pc = arg.source === 'player' ? player?.pc : undefined;
  if (arg.source === 'player' && !pc) return { ...empty, error: 'no peer connection' };
  type Chunk = { timestamp: number; numberOfFrames: number; sampleRate: number; copyTo(d: Float32Array, o: { planeIndex: number; format: string }): void; close(): void };
  type Processor = new (o: { track: MediaStreamTrack; maxBufferSize?: number }) => { readable: ReadableStream<Chunk> };
  const Processor = (window as unknown as { MediaStreamTrackProcessor?: Processor }).MediaStreamTrackProcessor;
  if (arg.source === 'player' && !Processor) return { ...empty, error: 'this browser has no MediaStreamTrackProcessor' };
  const counters = async (): Promise<AudioCounters | undefined> => {
    if (!pc) return undefined;
    let a: AudioCounters | undefined;
    let po: { totalPlayoutDelay?: number; totalSamplesCount?: number } = {};
    (await pc.getStats()).forEach((e: AudioCounters & { type: string; kind: string; totalSamplesCount?: number }) => {
      if (e.type === 'inbound-rtp' && e.kind === 'audio') a = e;
      if (e.type === 'media-playout') po = e;
    });
    if (!a) return undefined;
    return {
      totalSamplesReceived: a.totalSamplesReceived ?? 0,
      concealedSamples: a.concealedSamples ?? 0,
      silentConcealedSamples: a.silentConcealedSamples ?? 0,
      concealmentEvents: a.concealmentEvents ?? 0,
      insertedSamplesForDeceleration: a.insertedSamplesForDeceleration ?? 0,
      removedSamplesForAcceleration: a.removedSamplesForAcceleration ?? 0,
      packetsLost: a.packetsLost ?? 0,
      packetsDiscarded: a.packetsDiscarded ?? 0,
      jitterBufferDelay: a.jitterBufferDelay ?? 0,
      jitterBufferEmittedCount: a.jitterBufferEmittedCount ?? 0,
      totalPlayoutDelay: po.totalPlayoutDelay ?? 0,
      totalPlayoutSamples: po.totalSamplesCount ?? 0,
    };
  };

  const ctx = new AudioContext();
  await ctx.resume();
  const src = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 8192; // 170 ms: a late poll (main-thread jank) still finds every sample
  const sink = ctx.createGain();
  sink.gain.value = 0;
  src.connect(analyser);
  analyser.connect(sink);
  sink.connect(ctx.destination);
  const canvas = document.createElement('canvas');
  canvas.width = 32;
  canvas.height = 18;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  if (!g) return { ...empty, error: 'no 2d context' };

  // Let the AudioContext run for a moment so getOutputTimestamp() is meaningful.
  await new Promise((r) => setTimeout(r, 300));
  const flashes: number[] = [];
  const tapBeeps: number[] = [];
  let uncertainFlashes = 0;
  let frames = 0;
  let missedFrames = 0;
  let bright = false;
  let lastPresented: number | undefined;
  let running = true;
  // Counting starts after the settle (see arg.settleMs); the taps run from here.
  let collecting = false;
  const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
    if (!running) return;
    const missed = lastPresented !== undefined && meta.presentedFrames - lastPresented > 1;
    if (collecting && missed && lastPresented !== undefined) missedFrames += meta.presentedFrames - lastPresented - 1;
    lastPresented = meta.presentedFrames;
    if (collecting) frames++;
    g.drawImage(video, 0, 0, 32, 18);
    const px = g.getImageData(0, 0, 32, 18).data;
    let sum = 0;
    for (let i = 0; i < px.length; i += 4) sum += 0.299 * (px[i] ?? 0) + 0.587 * (px[i + 1] ?? 0) + 0.114 * (px[i + 2] ?? 0);
    const luma = sum / (px.length / 4);
    // fixtures/README.md: flash frames have mean luma ~235, the rest stays below ~70.
    if (collecting && luma > 200 && !bright) {
      // A frame the callback did not see just before may have been the flash's first one.
      if (missed) uncertainFlashes++;
      else flashes.push(meta.expectedDisplayTime);
    }
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
        if (t - lastLoud > 0.3) tapBeeps.push(toPerf(t));
        lastLoud = t;
      }
    }
    scannedUntil = endCtx;
  };
  // The player's beeps where its track hands them to the audio output. Each chunk (10 ms) carries
  // the time of that hand-over in microseconds on the monotonic clock that performance.now() counts
  // from its own origin: the offset is the smallest delivery-to-read lag seen. A buffer of 1 s keeps
  // a busy main thread from dropping chunks (a dropped first chunk of a beep would read it late).
  const sinkOnsetsUs: number[] = [];
  const readLags: number[] = [];
  let sinkDone: Promise<void> = Promise.resolve();
  if (Processor && arg.source === 'player') {
    const reader = new Processor({ track, maxBufferSize: 100 }).readable.getReader();
    let samples = new Float32Array(0);
    let lastLoudUs = -Infinity;
    sinkDone = (async () => {
      while (running) {
        const { value, done } = await reader.read();
        if (done || !value) break;
        if (collecting) readLags.push(performance.now() - value.timestamp / 1000);
        if (samples.length < value.numberOfFrames) samples = new Float32Array(value.numberOfFrames);
        value.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
        for (let i = 0; i < value.numberOfFrames; i++) {
          if (Math.abs(samples[i] ?? 0) <= 0.3) continue;
          const us = value.timestamp + (i * 1e6) / value.sampleRate;
          if (collecting && us - lastLoudUs > 300000) sinkOnsetsUs.push(us);
          lastLoudUs = us;
        }
        value.close();
      }
      await reader.cancel();
    })();
  }
  const audioReceiver = pc?.getReceivers().find((r) => r.track.kind === 'audio');
  let arrivalHoleMs = 0;
  let arrivalsDone: Promise<void> = Promise.resolve();
  await new Promise((r) => setTimeout(r, arg.settleMs ?? 0));
  collecting = true;
  const audioStart = await counters();
  const windowStart = performance.now();
  scannedUntil = ctx.currentTime;
  const timer = setInterval(poll, 10);
  if (audioReceiver) {
    arrivalsDone = (async () => {
      while (running) {
        (await audioReceiver.getStats()).forEach((e: { type: string; timestamp: number; lastPacketReceivedTimestamp?: number }) => {
          if (e.type === 'inbound-rtp' && e.lastPacketReceivedTimestamp !== undefined) arrivalHoleMs = Math.max(arrivalHoleMs, e.timestamp - e.lastPacketReceivedTimestamp);
        });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  }
  await new Promise((r) => setTimeout(r, arg.ms));
  clearInterval(timer);
  poll();
  running = false;
  await sinkDone;
  await arrivalsDone;
  const windowEnd = performance.now();
  const audioEnd = await counters();
  latencyMs.base = ctx.baseLatency * 1000;
  latencyMs.output = (ctx.outputLatency ?? 0) * 1000;
  await ctx.close();
  if (arg.source === 'element') return { flashes, uncertainFlashes, beeps: tapBeeps, tapBeeps, windowStart, windowEnd, frames, missedFrames, reconnected: false, latencyMs };
  const played = (audioEnd?.totalPlayoutSamples ?? 0) - (audioStart?.totalPlayoutSamples ?? 0);
  if (!audioStart || !audioEnd || played <= 0) return { ...empty, error: 'no media-playout stats (audio output delay) over the window' };
  const outputDelayMs = ((audioEnd.totalPlayoutDelay - audioStart.totalPlayoutDelay) / played) * 1000;
  readLags.sort((x, y) => x - y);
  const origin = readLags[0] ?? NaN;
  const beeps = sinkOnsetsUs.map((us) => us / 1000 + origin + outputDelayMs);
  const sinkReadLagMs = (readLags[readLags.length >> 1] ?? NaN) - origin;
  const reconnected = player?.pc !== pc;
  return { flashes, uncertainFlashes, beeps, tapBeeps, outputDelayMs, sinkReadLagMs, arrivalHoleMs: audioReceiver ? arrivalHoleMs : undefined, windowStart, windowEnd, frames, missedFrames, audioStart, audioEnd, reconnected, latencyMs };
}
