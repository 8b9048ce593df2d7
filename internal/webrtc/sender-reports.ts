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
 * Sends one SR + SDES CNAME on `track` and returns the SR's NTP middle 32 bits (what the viewer
 * echoes as LSR), or undefined when the track had just closed (a send on a closed track throws in
 * node-datachannel). The report is a per-second call, not the packet path.
 */
export function sendSenderReport(track: Track, report: SenderReport, cname: Buffer): number | undefined {
  const length = writeSenderReport(srScratch, report, cname);
  try {
    // Without a media handler libdatachannel sends RTCP as SRTCP, whatever the direction.
    track.sendMessageBinary(srScratch.subarray(0, length));
  } catch {
    // the track closed under us
    return undefined;
  }
  // NTP seconds at bytes 8..11, fraction at 12..15: the middle 32 bits start at byte 10.
  return srScratch.readUInt32BE(10);
}
