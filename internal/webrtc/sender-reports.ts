/** whepd's own RTCP sender reports, one per track, written into one scratch buffer. */
import type { Track } from 'node-datachannel';
import { senderReportBytes, writeSenderReport } from '../rtp/index.js';
import type { SenderReport } from '../rtp/index.js';

/**
 * Sender report interval. RFC 3550's 5 s minimum is for large sessions; WebRTC senders report
 * about once a second, and receivers need two reports per track before they sync A/V.
 */
export const SENDER_REPORT_INTERVAL_MS = 1000;

// One SR at a time is built here and copied by node-datachannel when sent (CNAME <= 255 bytes).
const srScratch = Buffer.alloc(senderReportBytes(255));

/**
 * Sends one SR + SDES CNAME on `track`. An SR for a track that just closed is dropped (a send on
 * a closed track throws in node-datachannel). The report is a per-second call, not the packet path.
 */
export function sendSenderReport(track: Track, report: SenderReport, cname: Buffer): void {
  const length = writeSenderReport(srScratch, report, cname);
  try {
    // Without a media handler libdatachannel sends RTCP as SRTCP, whatever the direction.
    track.sendMessageBinary(srScratch.subarray(0, length));
  } catch {
    // the track closed under us
  }
}
