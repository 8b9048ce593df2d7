/**
 * A viewer program for the lossy-link test: it plays a WHEP endpoint for a while and sends its own
 * RFC 3550 receiver reports from what actually arrived (libdatachannel's receiver reports no
 * loss), then prints its own loss count as one JSON line. With `hide` it sends no candidates, so
 * whepd reaches it only through the relay its checks pass. Usage:
 * lossy-viewer.ts <endpoint> <bindAddress> <seconds> [hide]
 */
import { WhepClient } from './whep-client.js';

const [endpoint = '', bindAddress = '', seconds = '6', hide = ''] = process.argv.slice(2);

/** An RR with one report block (RFC 3550 section 6.4.2). */
function receiverReport(ssrc: number, fraction: number, lost: number, highest: number, lsr: number, dlsr: number): Buffer {
  const b = Buffer.alloc(32);
  b[0] = 0x81;
  b[1] = 201;
  b.writeUInt16BE(7, 2);
  b.writeUInt32BE(0x10553, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  b[12] = Math.min(255, Math.floor(fraction * 256));
  b.writeIntBE(Math.min(0x7fffff, lost), 13, 3);
  b.writeUInt32BE(highest >>> 0, 16);
  b.writeUInt32BE(lsr >>> 0, 24);
  b.writeUInt32BE(dlsr >>> 0, 28);
  return b;
}

const client = await WhepClient.connect({ endpoint, bindAddress, videoSendRecv: true, recordSenderReports: true, keepPayloads: 0, hideCandidates: hide === 'hide' });
if (client.post?.status !== 201) {
  console.log(JSON.stringify({ error: `POST answered ${client.post?.status}: ${client.post?.body}` }));
  process.exit(1);
}
const seen = new Set<number>();
let lastExpected = 0;
let lastReceived = 0;
const deadline = Date.now() + Number(seconds) * 1000;
let first = -1;
let max = 0;
const timer = setInterval(() => {
  for (const p of client.video.splice(0)) {
    if (first < 0) first = p.seq;
    const ext = (p.seq - first) & 0xffff;
    seen.add(ext);
    if (ext > max) max = ext;
  }
  const sr = client.senderReports.filter((s) => s.kind === 'video').at(-1);
  if (first < 0 || !sr) return;
  // RFC 3550 appendix A.3: expected from the sequence span, fraction over this interval.
  const expected = max + 1;
  const received = seen.size;
  const dExpected = expected - lastExpected;
  const fraction = dExpected > 0 ? Math.max(0, dExpected - (received - lastReceived)) / dExpected : 0;
  lastExpected = expected;
  lastReceived = received;
  const dlsr = Math.round(((performance.now() - sr.receivedAt) / 1000) * 65536);
  client.sendVideoRtcp(receiverReport(ssrcOf(), fraction, expected - received, first + max, sr.lsr, dlsr));
  if (Date.now() > deadline) {
    clearInterval(timer);
    console.log(JSON.stringify({ expected, received, lost: expected - received }));
    void client.close().then(() => process.exit(0));
  }
}, 1000);

function ssrcOf(): number {
  return client.senderReports.find((s) => s.kind === 'video')?.ssrc ?? 0;
}
