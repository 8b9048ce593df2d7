/** FFmpeg: argv building (pure), probing, one supervised run, and restart backoff. */
export { buildFfmpegArgs, buildProbeArgs, inputOptions, isSdpInput, videoCodecArgs, VIDEO_PT, AUDIO_PT, RTP_PACKET_BYTES } from './args.js';
export type { FfmpegJob, RtpSender } from './args.js';
export { probeInput, parseProbeOutput, isWebRtcSafeH264, ProbeError, probeInBandSps, accessUnitHasSps, parseHexDump } from './probe.js';
export type { ProbeResult, ProbedVideo, ProbedAudio } from './probe.js';
export { FfmpegProcess, explainStderr, spawnCommand } from './process.js';
export type { FfmpegExit, FfmpegProcessOptions } from './process.js';
export { RestartBackoff } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
