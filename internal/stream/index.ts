/** Stream: one input's FFmpeg run, ingest, keyframe gate, fan-out and teardown. */
export { Stream, VIDEO_HISTORY_PACKETS, VIDEO_CLOCK_RATE, AUDIO_CLOCK_RATE } from './stream.js';
export type { StreamOptions } from './stream.js';
export { PayloadTypeGroups } from './fanout.js';
export { ViewerFanout } from './viewer-fanout.js';
export { emptyOutCounters } from './types.js';
export type { StreamViewer, StreamState, StreamIdentity, StreamStatus, StreamOutlet, OutCounters } from './types.js';
