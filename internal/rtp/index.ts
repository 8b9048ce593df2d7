/** RTP: packet parsing and rewriting (pure), H264 and VP8 keyframe detection, UDP ingest. */
export {
  checkRtp,
  isRtcp,
  payloadOffset,
  payloadEnd,
  sequenceNumber,
  timestamp,
  ssrc,
  payloadType,
  setPayloadType,
  setSsrc,
  RTP_HEADER_BYTES,
  MAX_RTP_BYTES,
} from './packet.js';
export type { RtpVerdict } from './packet.js';
export { keyframePart } from './h264.js';
export { vp8KeyframeStart } from './vp8.js';
export type { KeyframePart } from './h264.js';
export { RtpIngest } from './ingest.js';
export type { IngestCounters, IngestOptions, IngestSender, PacketHandler, SenderReportHandler } from './ingest.js';
export { MediaClock, readSenderReport, writeSenderReport, senderReportBytes } from './sender-report.js';
export type { ClockPoint, SenderReport } from './sender-report.js';
export { PacketHistory } from './packet-history.js';
export { PacketGaps } from './packet-gaps.js';
export type { PacketLookup, PacketHistoryCounters } from './packet-history.js';
export { nackedSequences, buildNack } from './rtcp.js';
export { readReceiverFeedback, buildReceiverReport, buildPli } from './receiver-report.js';
export type { ReportBlock, ReceiverFeedback } from './receiver-report.js';
