/** ffprobe: what the input carries, so whepd can copy safe H264, re-encode the rest, or explain. */
import { execa } from 'execa';
import { buildProbeArgs, inputOptions } from './args.js';

/** The first video stream as ffprobe saw it. */
export interface ProbedVideo {
  codec: string;
  profile: string;
  pixFmt: string;
  hasBFrames: boolean;
  width: number;
  height: number;
  /** Frames per second, when the container says. */
  frameRate?: number;
}

/** The first audio stream as ffprobe saw it. */
export interface ProbedAudio {
  codec: string;
  sampleRate: number;
  channels: number;
}

/** What an input holds; a missing kind is undefined. */
export interface ProbeResult {
  video?: ProbedVideo;
  audio?: ProbedAudio;
}

/** Why a probe failed, in one sentence for state and logs. */
export class ProbeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProbeError';
  }
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  pix_fmt?: string;
  has_b_frames?: number;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  sample_rate?: string;
  channels?: number;
}

function rate(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const [n, d] = text.split('/').map(Number);
  if (!n || !d || !Number.isFinite(n / d)) return undefined;
  return n / d;
}

/** Interprets ffprobe's JSON; exported for tests. */
export function parseProbeOutput(json: string): ProbeResult {
  const parsed = JSON.parse(json) as { streams?: FfprobeStream[] };
  const streams = parsed.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video');
  const a = streams.find((s) => s.codec_type === 'audio');
  const result: ProbeResult = {};
  if (v) {
    const fr = rate(v.avg_frame_rate) ?? rate(v.r_frame_rate);
    result.video = {
      codec: v.codec_name ?? 'unknown',
      profile: v.profile ?? '',
      pixFmt: v.pix_fmt ?? '',
      hasBFrames: (v.has_b_frames ?? 0) > 0,
      width: v.width ?? 0,
      height: v.height ?? 0,
      ...(fr !== undefined && fr < 1000 ? { frameRate: fr } : {}),
    };
  }
  if (a) {
    result.audio = { codec: a.codec_name ?? 'unknown', sampleRate: Number(a.sample_rate ?? 0), channels: a.channels ?? 0 };
  }
  return result;
}

/**
 * True when browsers decode this H264 as it is: constrained baseline or baseline (no B-frames),
 * 4:2:0. Anything else (High with B-frames decodes at ~2 fps in Chromium) gets re-encoded.
 */
export function isWebRtcSafeH264(video: ProbedVideo): boolean {
  return (
    video.codec === 'h264' &&
    /^(constrained )?baseline$/i.test(video.profile) &&
    !video.hasBFrames &&
    (video.pixFmt === 'yuv420p' || video.pixFmt === 'yuvj420p')
  );
}

/** Runs ffprobe with a deadline; throws ProbeError with a sentence a person can act on. */
export async function probeInput(
  ffprobePath: string,
  input: string,
  inputArgs: readonly string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const result = await execa(ffprobePath, buildProbeArgs(input, inputArgs), {
    ...(signal ? { cancelSignal: signal } : {}),
    reject: false,
    timeout: timeoutMs,
    stdin: 'ignore',
    maxBuffer: 4 * 1024 * 1024,
    forceKillAfterDelay: 1000,
  });
  if ((result as { code?: string }).code === 'ENOENT') {
    throw new ProbeError(`${ffprobePath} is not installed (apt-get install ffmpeg), so whepd cannot read ${input}`);
  }
  if (result.isCanceled) throw new ProbeError('probe cancelled: the stream is closing');
  if (result.timedOut) throw new ProbeError(`probing ${input} took longer than ${timeoutMs} ms`);
  if (result.exitCode !== 0) {
    const last = String(result.stderr).trim().split('\n').pop() ?? '';
    throw new ProbeError(`cannot read input ${input}: ${last || `ffprobe exited with ${result.exitCode}`}`);
  }
  try {
    return parseProbeOutput(String(result.stdout));
  } catch (err) {
    throw new ProbeError(`ffprobe printed output whepd cannot parse for ${input}`, { cause: err });
  }
}

/** Bytes of ffprobe's `-show_data` hex dump ("00000000: 0000 02b5 0605 ...  ascii"). */
export function parseHexDump(dump: string): Buffer {
  const hex: string[] = [];
  for (const line of dump.split('\n')) {
    const m = /^[0-9a-f]{8}: ((?:[0-9a-f]{2,4} ){0,8}[0-9a-f]{2,4})/i.exec(line);
    if (m) hex.push((m[1] as string).replace(/ /g, ''));
  }
  return Buffer.from(hex.join(''), 'hex');
}

/** True when an H264 access unit (Annex B or 4-byte length-prefixed) contains an SPS NAL. */
export function accessUnitHasSps(au: Buffer): boolean {
  const annexB = au.subarray(0, 4).equals(Buffer.from([0, 0, 0, 1])) || au.subarray(0, 3).equals(Buffer.from([0, 0, 1]));
  if (annexB) {
    for (let i = 0; i + 3 < au.length; i++) {
      if (au[i] === 0 && au[i + 1] === 0 && au[i + 2] === 1 && ((au[i + 3] as number) & 0x1f) === 7) return true;
    }
    return false;
  }
  for (let off = 0; off + 4 < au.length; ) {
    const size = au.readUInt32BE(off);
    if (size === 0 || off + 4 + size > au.length) return false;
    if (((au[off + 4] as number) & 0x1f) === 7) return true;
    off += 4 + size;
  }
  return false;
}

/**
 * Whether the input's first video packet carries its SPS in band. FFmpeg 5.1 cannot run a
 * bitstream filter across -stream_loop (it flushes the filter at the first loop and then drops
 * all video), so a looping copy relies on parameter sets already being in the stream.
 */
export async function probeInBandSps(ffprobePath: string, input: string, inputArgs: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const result = await execa(
    ffprobePath,
    ['-hide_banner', '-v', 'error', ...inputOptions(input, inputArgs), '-select_streams', 'v:0', '-show_packets', '-show_data', '-read_intervals', '%+#1', '-of', 'json', '-i', input],
    { reject: false, timeout: timeoutMs, stdin: 'ignore', maxBuffer: 16 * 1024 * 1024, ...(signal ? { cancelSignal: signal } : {}) },
  );
  if (result.exitCode !== 0) return false;
  try {
    const packets = (JSON.parse(String(result.stdout)) as { packets?: { data?: string }[] }).packets ?? [];
    return accessUnitHasSps(parseHexDump(packets[0]?.data ?? ''));
  } catch {
    return false;
  }
}
