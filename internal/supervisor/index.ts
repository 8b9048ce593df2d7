/** Supervisor: runs one stream's FFmpeg (probe, bind, spawn, stall watchdog, backoff, on-demand) into a hub. */
export { FfmpegSupervisor } from './supervisor.js';
export type { FfmpegSupervisorOptions, RunSink } from './supervisor.js';
export { planVideo } from './video-plan.js';
