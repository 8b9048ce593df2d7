/** FFmpeg argv building: pure functions, so every flag is unit-tested without spawning. */

/** Payload types FFmpeg stamps on its RTP; whepd rewrites them to each viewer's own. */
export const VIDEO_PT = 96;
export const AUDIO_PT = 97;

/** RTP payload size cap: leaves room for SRTP, RTP extensions and IPv6 under a 1280-byte path MTU. */
export const RTP_PACKET_BYTES = 1200;

/** Everything that decides one FFmpeg invocation. */
export interface FfmpegJob {
  input: string;
  inputArgs: readonly string[];
  /** Replay a file forever (adds -stream_loop -1). */
  loop: boolean;
  /** Read a file at its native rate (-re); always on for files so they play like live. */
  realtime: boolean;
  /** Copy H264 as-is, or re-encode with libx264 constrained baseline. */
  transcodeVideo: boolean;
  keyframeIntervalS: number;
  videoBitrateKbps: number;
  audioBitrateKbps: number;
  /** Frame rate of the input when known; used to turn the keyframe interval into frames. */
  frameRate?: number;
  videoPort: number;
  audioPort: number;
  host?: string;
  /**
   * Wallclock origin of both RTP outputs (Unix microseconds): FFmpeg's sender reports then map
   * media time 0 of video and of audio to this same instant (see internal/rtp/sender-report.ts).
   * Defaults to each output's own header time, which differs between the two outputs.
   */
  startTimeRealtimeUs?: number;
}

function rtpUrl(host: string, port: number): string {
  // rtcpport=<same port>: FFmpeg's sender reports arrive on the ingest socket (RFC 5761 style)
  // instead of port+1, which whepd does not own.
  return `rtp://${host}:${port}?pkt_size=${RTP_PACKET_BYTES}&rtcpport=${port}`;
}

/** The video encoder flags: a copy with SPS/PPS forced in band, or a WebRTC-safe x264 encode. */
export function videoCodecArgs(job: FfmpegJob): string[] {
  if (!job.transcodeVideo) {
    // mp4/flv carry SPS/PPS out of band (avcC); h264_mp4toannexb puts them before every IDR.
    // Not with -stream_loop: FFmpeg 5.1 flushes the filter at the first loop and then drops all
    // video ("A non-NULL packet sent after an EOF"); looping copies need in-band SPS instead.
    return job.loop ? ['-c:v', 'copy'] : ['-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb'];
  }
  const kbps = job.videoBitrateKbps;
  const args = [
    '-c:v', 'libx264',
    '-profile:v', 'baseline', // x264's baseline is constrained baseline (42e0xx): no B-frames, no FMO/ASO
    '-level:v', '3.1',
    '-pix_fmt', 'yuv420p',
    '-preset', 'veryfast',
    '-tune', 'zerolatency',
    '-bf', '0',
    '-b:v', `${kbps}k`,
    '-maxrate', `${kbps}k`,
    '-bufsize', `${kbps * 2}k`,
    '-sc_threshold', '0',
    // repeat-headers puts SPS/PPS before every IDR, so a viewer can start at any keyframe.
    '-x264-params', 'repeat-headers=1',
  ];
  if (job.frameRate && job.frameRate > 0) {
    const gop = Math.max(1, Math.round(job.frameRate * job.keyframeIntervalS));
    args.push('-g', String(gop), '-keyint_min', String(gop));
  } else {
    // Unknown rate: force keyframes by time instead of by frame count.
    args.push('-force_key_frames', `expr:gte(t,n_forced*${job.keyframeIntervalS})`);
  }
  return args;
}

/**
 * Muxer options of each RTP output that keep the two outputs on one media timeline: the same
 * sender-report origin, and no per-output shift of negative timestamps (FFmpeg would otherwise
 * move the Opus output, whose first packet carries the encoder delay at pts -312, by 6.5 ms).
 */
export function timelineArgs(job: FfmpegJob): string[] {
  const args = ['-avoid_negative_ts', 'disabled'];
  if (job.startTimeRealtimeUs !== undefined) args.push('-start_time_realtime', String(Math.round(job.startTimeRealtimeUs)));
  return args;
}

/** The full argv (without the ffmpeg binary itself). Never passed through a shell. */
export function buildFfmpegArgs(job: FfmpegJob): string[] {
  const host = job.host ?? '127.0.0.1';
  const timeline = timelineArgs(job);
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'warning', '-nostats'];
  if (job.realtime) args.push('-re');
  if (job.loop) args.push('-stream_loop', '-1');
  args.push(...job.inputArgs, '-i', job.input);
  // Output 1: the first video stream only.
  args.push('-map', '0:v:0', ...videoCodecArgs(job), '-an', '-sn', '-dn');
  args.push(...timeline, '-f', 'rtp', '-payload_type', String(VIDEO_PT), rtpUrl(host, job.videoPort));
  // Output 2: the first audio stream only, as Opus 48 kHz stereo (RFC 7587 requires the 48k clock).
  args.push('-map', '0:a:0', '-vn', '-sn', '-dn');
  args.push('-c:a', 'libopus', '-ar', '48000', '-ac', '2', '-b:a', `${job.audioBitrateKbps}k`);
  args.push('-application', 'lowdelay', '-frame_duration', '20');
  args.push(...timeline, '-f', 'rtp', '-payload_type', String(AUDIO_PT), rtpUrl(host, job.audioPort));
  return args;
}

/** The ffprobe argv that lists an input's streams as JSON. */
export function buildProbeArgs(input: string, inputArgs: readonly string[]): string[] {
  return ['-hide_banner', '-v', 'error', ...inputArgs, '-show_streams', '-of', 'json', '-i', input];
}
