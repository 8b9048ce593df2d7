/** Stream: one stream's hub (identity, keyframe-gated fan-out, viewers, ordered teardown) and its deliveries. */
export { StreamHub } from './hub.js';
export type { PacketTap, StreamHubOptions } from './hub.js';
export { LocalDelivery, VIDEO_HISTORY_PACKETS, VIDEO_CLOCK_RATE, AUDIO_CLOCK_RATE } from './local-delivery.js';
export { PayloadTypeGroups } from './fanout.js';
export { ViewerFanout } from './viewer-fanout.js';
export { OUT_COUNTER_KEYS, emptyOutCounters } from './types.js';
export type {
  Delivery,
  HubStatus,
  OutCounters,
  RetransmitCounters,
  RunStatus,
  StreamEndReason,
  StreamIdentity,
  StreamMedia,
  StreamState,
  StreamStatus,
  StreamViewer,
} from './types.js';
