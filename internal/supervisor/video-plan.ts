/** Decides, from the probe, whether a run copies the input's H264 or re-encodes it. */
import { isWebRtcSafeH264, probeInBandSps, probeInput } from '../ffmpeg/index.js';
import type { ProbeResult } from '../ffmpeg/index.js';

/** What the decision needs to know about the stream. */
export interface VideoPlanInput {
  input: string;
  inputArgs: readonly string[];
  loop: boolean;
  video: 'auto' | 'copy' | 'transcode';
  /** VP8 output is always an encode: the copy questions do not arise. */
  videoCodec?: 'h264' | 'vp8';
  ffprobePath: string;
  probeTimeoutMs: number;
}

/**
 * Probes the input and decides: `transcode` forced, `copy` only for H264, `auto` copies what a
 * browser decodes as sent (constrained baseline, no B-frames). Rejects with a one-sentence reason.
 */
export async function planVideo(o: VideoPlanInput, signal: AbortSignal): Promise<{ probe: ProbeResult; transcode: boolean }> {
  const probe = await probeInput(o.ffprobePath, o.input, o.inputArgs, o.probeTimeoutMs, signal);
  if (!probe.video) throw new Error(`input ${o.input} has no video stream (whepd needs one video and one audio stream)`);
  if (!probe.audio) throw new Error(`input ${o.input} has no audio stream (whepd needs one video and one audio stream)`);
  let transcode: boolean;
  if (o.videoCodec === 'vp8' || o.video === 'transcode') transcode = true;
  else if (o.video === 'copy') {
    if (probe.video.codec !== 'h264') throw new Error(`stream is set to copy video but the input's video is ${probe.video.codec}, not H264`);
    transcode = false;
  } else transcode = !isWebRtcSafeH264(probe.video);
  if (!transcode && o.loop && !(await probeInBandSps(o.ffprobePath, o.input, o.inputArgs, o.probeTimeoutMs, signal))) {
    // See videoCodecArgs: a looping copy cannot add SPS/PPS, so re-encode (or refuse a forced copy).
    if (o.video === 'copy') throw new Error(`stream is set to copy video, but ${o.input} loops and keeps its SPS/PPS out of band; use "video": "auto"`);
    transcode = true;
  }
  return { probe, transcode };
}
