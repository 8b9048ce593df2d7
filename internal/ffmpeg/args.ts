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
  /** Read a file at its native rate (-re); always on for files so they play like live, never for SDP inputs. */
  realtime: boolean;
  /** Copy H264 as-is, or re-encode with libx264 constrained baseline (H264 output only). */
  transcodeVideo: boolean;
  /** The video codec sent: H264 (the default), or VP8 (always encoded; the fallback for viewers without H264). */
  videoCodec?: 'h264' | 'vp8';
  keyframeIntervalS: number;
  videoBitrateKbps: number;
  audioBitrateKbps: number;
  /** Frame rate of the input when known; used to turn the keyframe interval into frames. */
  frameRate?: number;
  videoPort: number;
  audioPort: number;
  /** How each output is sent, so that only FFmpeg's datagrams reach whepd (see RtpSender). */
  videoSender?: RtpSender;
  audioSender?: RtpSender;
  host?: string;
  /**
   * Wallclock origin of both RTP outputs (Unix microseconds): FFmpeg's sender reports then map
   * media time 0 of video and of audio to this same instant (see internal/rtp/sender-report.ts).
   * Defaults to each output's own header time, which differs between the two outputs.
   */
  startTimeRealtimeUs?: number;
}

/**
 * Where one RTP output comes from, chosen by whepd: its ingest is connect()ed to these local
 * ports and takes only this SSRC, so nothing else on the host can splice into the stream.
 */
export interface RtpSender {
  /** The RTP muxer's -ssrc (an unsigned 32-bit value; FFmpeg's option is a signed int). */
  ssrc: number;
  /** whepd's port for FFmpeg's RTCP sender reports. */
  rtcpPort: number;
  /** Local ports FFmpeg binds for its RTP and its RTCP socket (FFmpeg's rtp protocol opens two). */
  localRtpPort: number;
  localRtcpPort: number;
}

function rtpUrl(host: string, port: number, sender: RtpSender | undefined): string {
  const base = `rtp://${host}:${port}?pkt_size=${RTP_PACKET_BYTES}`;
  // Without a sender: rtcpport=<same port>, FFmpeg's sender reports arrive on the RTP socket
  // (RFC 5761 style) from an ephemeral port FFmpeg picked.
  if (!sender) return `${base}&rtcpport=${port}`;
  // FFmpeg 5.1 rtpproto.c: localrtpport/localrtcpport are the two sockets' local ports, and
  // localaddr binds them to the loopback address (FFmpeg binds 0.0.0.0 otherwise).
  return `${base}&rtcpport=${sender.rtcpPort}&localrtpport=${sender.localRtpPort}&localrtcpport=${sender.localRtcpPort}&localaddr=${host}`;
}

/** The RTP muxer flags of one output: its payload type and, when whepd chose one, its SSRC. */
function rtpMuxerArgs(payloadType: number, sender: RtpSender | undefined): string[] {
  const args = ['-f', 'rtp', '-payload_type', String(payloadType)];
  // FFmpeg's -ssrc is an int (INT_MIN..INT_MAX, 0 = random): pass the same 32 bits signed.
  if (sender) args.push('-ssrc', String(sender.ssrc | 0));
  return args;
}

/** The GOP flags: the keyframe interval in frames when the rate is known, else by time. */
function keyframeArgs(job: FfmpegJob): string[] {
  if (job.frameRate && job.frameRate > 0) {
    const gop = Math.max(1, Math.round(job.frameRate * job.keyframeIntervalS));
    return ['-g', String(gop), '-keyint_min', String(gop)];
  }
  // Unknown rate: force keyframes by time instead of by frame count.
  return ['-force_key_frames', `expr:gte(t,n_forced*${job.keyframeIntervalS})`];
}

/**
 * A libvpx VP8 encode for real time (RFC 7741 output): the realtime deadline at a fixed speed, no
 * frame lag and no alternate reference frames (both would hold frames back), error resilient
 * partitions, and CBR at the stream's video bitrate.
 *
 * The speed is fixed (a negative cpu-used, -6 as libwebrtc's VP8 encoder uses on desktops): a
 * positive cpu-used makes libvpx adapt its effort to fill (16 - cpu-used)/16 of each frame's time,
 * so cpu-used 8 took 50-75 % of a core at 720p30 here and fell behind real time (13.2 s for 10 s)
 * when the box was busy; -6 took 39-56 % (with Opus) and kept up (docs/performance.md).
 */
export function vp8CodecArgs(job: FfmpegJob): string[] {
  const kbps = job.videoBitrateKbps;
  return [
    '-c:v', 'libvpx',
    '-pix_fmt', 'yuv420p',
    '-deadline', 'realtime',
    '-cpu-used', '-6',
    '-lag-in-frames', '0',
    '-auto-alt-ref', '0',
    '-error-resilient', '1',
    '-b:v', `${kbps}k`,
    '-minrate', `${kbps}k`,
    '-maxrate', `${kbps}k`,
    '-bufsize', `${kbps}k`,
    '-qmin', '4',
    '-qmax', '56',
    '-threads', '2',
    ...keyframeArgs(job),
  ];
}

/** The video encoder flags: a copy with SPS/PPS forced in band, a WebRTC-safe x264 encode, or VP8. */
export function videoCodecArgs(job: FfmpegJob): string[] {
  if (job.videoCodec === 'vp8') return vp8CodecArgs(job);
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
  return [...args, ...keyframeArgs(job)];
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

/**
 * True for an SDP file input (FFmpeg's sdp demuxer): the file only describes a live RTP session
 * (RFC 8866), so it is read like any live input, never at -re and never looped.
 */
export function isSdpInput(input: string, inputArgs: readonly string[] = []): boolean {
  const forced = inputArgs.some((a, i) => a === '-f' && inputArgs[i + 1] === 'sdp');
  return forced || /\.sdp$/i.test(input);
}

/**
 * The input options, plus what an SDP input needs: FFmpeg's sdp demuxer only opens file, crypto
 * and data by default and refuses the session's rtp/udp URLs ("Protocol 'rtp' not on whitelist").
 * An operator's own -protocol_whitelist wins.
 */
export function inputOptions(input: string, inputArgs: readonly string[]): string[] {
  if (!isSdpInput(input, inputArgs) || inputArgs.includes('-protocol_whitelist')) return [...inputArgs];
  return ['-protocol_whitelist', 'file,udp,rtp', ...inputArgs];
}

/** The full argv (without the ffmpeg binary itself). Never passed through a shell. */
export function buildFfmpegArgs(job: FfmpegJob): string[] {
  const host = job.host ?? '127.0.0.1';
  const timeline = timelineArgs(job);
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'warning', '-nostats'];
  // -re on a live RTP session throttles reading it: FFmpeg 5.1 then starved the audio output
  // (0 Opus packets/s at the viewer instead of 50). Config refuses loop on one (whepd check).
  const live = isSdpInput(job.input, job.inputArgs);
  if (job.realtime && !live) args.push('-re');
  if (job.loop && !live) args.push('-stream_loop', '-1');
  args.push(...inputOptions(job.input, job.inputArgs), '-i', job.input);
  // Output 1: the first video stream only.
  args.push('-map', '0:v:0', ...videoCodecArgs(job), '-an', '-sn', '-dn');
  args.push(...timeline, ...rtpMuxerArgs(VIDEO_PT, job.videoSender), rtpUrl(host, job.videoPort, job.videoSender));
  // Output 2: the first audio stream only, as Opus 48 kHz stereo (RFC 7587 requires the 48k clock).
  args.push('-map', '0:a:0', '-vn', '-sn', '-dn');
  args.push('-c:a', 'libopus', '-ar', '48000', '-ac', '2', '-b:a', `${job.audioBitrateKbps}k`);
  args.push('-application', 'lowdelay', '-frame_duration', '20');
  args.push(...timeline, ...rtpMuxerArgs(AUDIO_PT, job.audioSender), rtpUrl(host, job.audioPort, job.audioSender));
  return args;
}

/** The ffprobe argv that lists an input's streams as JSON. */
export function buildProbeArgs(input: string, inputArgs: readonly string[]): string[] {
  return ['-hide_banner', '-v', 'error', ...inputOptions(input, inputArgs), '-show_streams', '-of', 'json', '-i', input];
}
