/**
 * A reference sender for the lip-sync measurement, run inside Chromium via page.evaluate()
 * (self-contained, like in-page-lip-sync.ts): the page makes its own flash + beep and sends it to
 * itself, Chromium to Chromium, over a pair of RTCPeerConnections, so the same measurement can be
 * taken on a stream that whepd never touched.
 *
 * Video: a 640x360 canvas, `captureStream(0)` with one `requestFrame()` per drawn frame at 30 fps,
 * dark and moving, three white frames per flash. Audio: a 440 Hz bed at 0.05 and a 1 kHz beep at
 * 0.8 for 100 ms, from oscillators into a MediaStreamAudioDestinationNode; each beep is scheduled
 * 3 ms ahead of the AudioContext's current time when its first white frame is drawn (the audio
 * leaves in 10 ms render quanta, so a beep may start up to about 10 ms after its frame). Flashes
 * come every 0.63-1.53 s, as in the fixtures. The receiving side is exposed as
 * `window.whepPlayer = { video, pc }`, as the player page does.
 */
export async function startLoopback(arg: { videoCodec: 'H264' | 'VP8' }): Promise<{ error?: string }> {
  // Headless Chromium gathers its loopback candidate only after a getUserMedia call.
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  mic.getTracks().forEach((t) => t.stop());
  const ctx = new AudioContext();
  await ctx.resume();
  const dest = ctx.createMediaStreamDestination();
  const tone = (hz: number, gain: number) => {
    const osc = ctx.createOscillator();
    osc.frequency.value = hz;
    const g = ctx.createGain();
    g.gain.value = gain;
    osc.connect(g).connect(dest);
    osc.start();
    return g;
  };
  tone(440, 0.05);
  const beep = tone(1000, 0);
  const canvas = document.createElement('canvas');
  canvas.width = 640;
  canvas.height = 360;
  const g2d = canvas.getContext('2d');
  if (!g2d) return { error: 'no 2d context' };
  const videoTrack = canvas.captureStream(0).getVideoTracks()[0] as CanvasCaptureMediaStreamTrack | undefined;
  const audioTrack = dest.stream.getAudioTracks()[0];
  if (!videoTrack || !audioTrack) return { error: 'no generated tracks' };

  let seed = 12345;
  const nextGapMs = () => 630 + ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 900;
  const start = performance.now();
  let frame = 0;
  let whiteLeft = 0;
  let nextFlashAt = start + 1000;
  const draw = () => {
    const now = performance.now();
    if (whiteLeft === 0 && now >= nextFlashAt) {
      whiteLeft = 3;
      const t = ctx.currentTime + 0.003;
      beep.gain.setValueAtTime(0.8, t);
      beep.gain.setValueAtTime(0, t + 0.1);
      nextFlashAt = now + nextGapMs();
    }
    if (whiteLeft > 0) {
      g2d.fillStyle = '#fff';
      g2d.fillRect(0, 0, 640, 360);
      whiteLeft--;
    } else {
      g2d.fillStyle = `hsl(${(frame * 7) % 360},60%,25%)`;
      g2d.fillRect(0, 0, 640, 360);
      g2d.fillStyle = '#333';
      g2d.fillRect((frame * 5) % 600, 100, 40, 40);
    }
    videoTrack.requestFrame();
    frame++;
    setTimeout(draw, Math.max(0, start + (frame * 1000) / 30 - performance.now()));
  };
  draw();

  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.width = 640;
  video.height = 360;
  document.body.appendChild(video);
  const sender = new RTCPeerConnection();
  const receiver = new RTCPeerConnection();
  sender.onicecandidate = (e) => void (e.candidate && receiver.addIceCandidate(e.candidate));
  receiver.onicecandidate = (e) => void (e.candidate && sender.addIceCandidate(e.candidate));
  const sent = new MediaStream([videoTrack, audioTrack]);
  sender.addTrack(videoTrack, sent);
  sender.addTrack(audioTrack, sent);
  const received = new MediaStream();
  receiver.ontrack = (e) => {
    received.addTrack(e.track);
    if (received.getTracks().length === 2) {
      video.srcObject = received;
      void video.play();
    }
  };
  const offer = await sender.createOffer();
  await sender.setLocalDescription(offer);
  await receiver.setRemoteDescription(offer);
  const codecs = (RTCRtpReceiver.getCapabilities('video')?.codecs ?? []).filter((c) => c.mimeType === `video/${arg.videoCodec}`);
  if (!codecs.length) return { error: `this browser cannot receive ${arg.videoCodec}` };
  for (const t of receiver.getTransceivers()) if (t.receiver.track.kind === 'video') t.setCodecPreferences(codecs);
  const answer = await receiver.createAnswer();
  await receiver.setLocalDescription(answer);
  await sender.setRemoteDescription(answer);
  (window as unknown as { whepPlayer: object }).whepPlayer = { video, pc: receiver };
  return {};
}
