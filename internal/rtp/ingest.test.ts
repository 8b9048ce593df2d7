/** RtpIngest over real UDP on 127.0.0.1. Loopback keeps datagram order, so a trailing valid
 * "sentinel" packet proves every datagram sent before it has been handled. The "FFmpeg" sockets
 * bind the local ports the ingest reserved for FFmpeg, as FFmpeg itself would. */
import t from 'tap';
import type { Test } from 'tap';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { RtpIngest } from './ingest.js';
import { senderReportBytes, writeSenderReport } from './sender-report.js';
import type { SenderReport } from './sender-report.js';

const HOST = '127.0.0.1';
/** The SSRC rtp() stamps; the ingests below expect it, as FFmpeg is told it with -ssrc. */
const SSRC = 0x11223344;

function rtp(seq: number, pt = 96, payload: number[] = [0x41, 0x9a, seq & 0xff]): Buffer {
  const b = Buffer.from([0x80, pt, 0, 0, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, ...payload]);
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 3000, 4);
  return b;
}

/** Polls `cond` every 5 ms; rejects after `timeoutMs` naming `what`. */
async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function send(sock: Socket, port: number, msg: Buffer): Promise<void> {
  return new Promise((resolve, reject) => sock.send(msg, port, HOST, (err) => (err ? reject(err) : resolve())));
}

/** A UDP socket bound to `port` (0: any), closed at teardown. */
async function sender(t: Test, port = 0): Promise<Socket> {
  const sock = createSocket('udp4');
  t.teardown(() => sock.close());
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, HOST, resolve);
  });
  return sock;
}

/** The socket FFmpeg sends RTP from: bound to the port the ingest reserved for it. */
function ffmpegRtp(t: Test, ingest: RtpIngest): Promise<Socket> {
  return sender(t, ingest.sender.localRtpPort);
}

/** Opens an ingest whose delivered packets (copied) land in `received`. */
async function openIngest(t: Test, onPacket?: (p: Buffer) => void): Promise<{ ingest: RtpIngest; received: Buffer[] }> {
  const received: Buffer[] = [];
  const ingest = await RtpIngest.open({
    payloadType: 96,
    ssrc: SSRC,
    onPacket: (p) => {
      received.push(Buffer.from(p));
      onPacket?.(p);
    },
  });
  t.teardown(() => ingest.close());
  return { ingest, received };
}

t.test('RtpIngest.open() binds an ephemeral loopback port', async (t) => {
  const { ingest } = await openIngest(t);
  t.ok(ingest.port > 0 && ingest.port < 65536, `port ${ingest.port}`);
  t.equal(ingest.closed, false);
  t.same(ingest.counters, { packets: 0, bytes: 0, junk: 0, rtcp: 0, senderReports: 0, gapsOver50ms: 0, gapsOver100ms: 0, gapsOver250ms: 0 });
});

t.test('RtpIngest.open() rejects when the port is taken', async (t) => {
  const { ingest } = await openIngest(t);
  await t.rejects(RtpIngest.open({ payloadType: 96, port: ingest.port, onPacket: () => {} }), { code: 'EADDRINUSE' });
});

t.test('RtpIngest delivers valid packets in order and counts packets and bytes', async (t) => {
  const { ingest, received } = await openIngest(t);
  const sock = await ffmpegRtp(t, ingest);
  const sent: Buffer[] = [];
  for (let seq = 0; seq < 50; seq++) {
    const p = rtp(seq, seq % 2 ? 96 | 0x80 : 96); // every other packet has the marker bit
    sent.push(p);
    await send(sock, ingest.port, p);
  }
  await waitFor(() => received.length >= 50, 2000, '50 packets');
  t.equal(received.length, 50);
  t.same(received.map((p) => p.readUInt16BE(2)), [...Array(50).keys()], 'in sequence order');
  t.ok(received.every((p, i) => p.equals(sent[i] as Buffer)), 'bytes unchanged');
  t.equal(ingest.counters.packets, 50);
  t.equal(ingest.counters.bytes, sent.reduce((n, p) => n + p.length, 0));
  t.equal(ingest.counters.junk, 0);
  t.equal(ingest.counters.rtcp, 0);
});

t.test('RtpIngest counts arrival gaps: a packet over 50, 100 or 250 ms after the one before', async (t) => {
  const { ingest, received } = await openIngest(t);
  const sock = await ffmpegRtp(t, ingest);
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await send(sock, ingest.port, rtp(0)); // the first packet opens no gap
  await send(sock, ingest.port, rtp(1));
  await pause(300);
  await send(sock, ingest.port, rtp(2)); // over 250 ms (and 100, 50)
  await pause(130);
  await send(sock, ingest.port, rtp(3)); // over 100 ms, under 250 (a timer fires late, never early)
  await waitFor(() => received.length >= 4, 2000, '4 packets');
  const c = ingest.counters;
  // At least these: a busy box can only make gaps longer (the first two packets may come apart).
  t.ok(c.gapsOver50ms >= 2 && c.gapsOver100ms >= 2 && c.gapsOver250ms >= 1, `gaps over 50/100/250 ms: ${c.gapsOver50ms}/${c.gapsOver100ms}/${c.gapsOver250ms} (want >= 2/2/1)`);
  t.ok(c.gapsOver50ms <= 3, 'one packet, one gap: never more gaps than packets after the first');
});

t.test('RtpIngest counts junk and never delivers it', async (t) => {
  const { ingest, received } = await openIngest(t);
  const sock = await ffmpegRtp(t, ingest);
  const random = Buffer.from([0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09]); // version 0
  const wrongPt = rtp(1, 97);
  const version1 = rtp(2);
  version1[0] = 0x40;
  const csrcOverrun = Buffer.from([0x8f, 96, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0x65]); // CC=15 on 13 bytes
  const short = Buffer.from([0x80, 96, 0, 4]);
  const long = Buffer.concat([rtp(5), Buffer.alloc(1500)]);
  for (const junk of [random, wrongPt, version1, csrcOverrun, short, long]) await send(sock, ingest.port, junk);
  const sentinel = rtp(100);
  await send(sock, ingest.port, sentinel);
  await waitFor(() => received.length >= 1, 2000, 'the sentinel packet');
  t.equal(received.length, 1, 'only the sentinel was delivered');
  t.same(received[0], sentinel);
  t.equal(ingest.counters.junk, 6);
  t.equal(ingest.counters.packets, 1);
  t.equal(ingest.counters.bytes, sentinel.length, 'junk bytes are not counted as media');
  t.equal(ingest.counters.rtcp, 0);
});

t.test('RtpIngest counts RTCP on the same port without delivering it', async (t) => {
  const { ingest, received } = await openIngest(t);
  const sock = await ffmpegRtp(t, ingest);
  const sr = Buffer.alloc(28);
  sr[0] = 0x80;
  sr[1] = 200; // sender report
  sr.writeUInt16BE(6, 2);
  await send(sock, ingest.port, sr);
  const rr = Buffer.alloc(32);
  rr[0] = 0x81; // one report block
  rr[1] = 201; // receiver report
  rr.writeUInt16BE(7, 2);
  await send(sock, ingest.port, rr);
  await send(sock, ingest.port, rtp(7));
  await waitFor(() => received.length >= 1, 2000, 'the sentinel packet');
  t.equal(ingest.counters.rtcp, 2);
  t.equal(ingest.counters.junk, 0);
  t.equal(ingest.counters.packets, 1);
  t.equal(received.length, 1);
  t.equal(received[0]?.readUInt16BE(2), 7);
});

t.test("RtpIngest hands FFmpeg's sender reports (its SSRC only, on the RTCP port) to onSenderReport", async (t) => {
  const reports: SenderReport[] = [];
  const received: Buffer[] = [];
  const ingest = await RtpIngest.open({ payloadType: 96, ssrc: SSRC, onPacket: (p) => received.push(Buffer.from(p)), onSenderReport: (r) => reports.push(r) });
  t.teardown(() => ingest.close());
  const sock = await ffmpegRtp(t, ingest);
  // FFmpeg sends RTCP from a second socket, bound to localrtcpport, to whepd's rtcpPort.
  const rtcp = await sender(t, ingest.sender.localRtcpPort);
  const sr = (ssrc: number, rtpTs: number) => {
    const b = Buffer.alloc(senderReportBytes(1));
    writeSenderReport(b, { ssrc, ntpMs: 1796051857554, rtp: rtpTs, packets: 0, octets: 0 }, Buffer.from('x'));
    return b;
  };
  await send(rtcp, ingest.sender.rtcpPort, sr(SSRC, 1000));
  await send(rtcp, ingest.sender.rtcpPort, sr(0x55555555, 2000)); // not the SSRC FFmpeg was given
  await send(rtcp, ingest.sender.rtcpPort, rtp(50)); // not RTCP at all
  await send(sock, ingest.port, rtp(1));
  await send(rtcp, ingest.sender.rtcpPort, sr(SSRC, 3000));
  await send(sock, ingest.port, rtp(2));
  await waitFor(() => received.length >= 2 && reports.length >= 2, 2000, 'the sentinel packet and the second report');
  t.same(reports.map((r) => r.rtp), [1000, 3000], "only the stream's own SRs, in order");
  t.equal(reports[0]?.ntpMs, 1796051857554);
  t.equal(ingest.counters.rtcp, 3, 'all three SRs counted as RTCP');
  t.equal(ingest.counters.senderReports, 2);
  t.equal(ingest.counters.junk, 1, 'RTP on the RTCP port is junk');
});

t.test('RtpIngest.open() gives FFmpeg a fixed SSRC and two distinct local ports to send from', async (t) => {
  const a = await RtpIngest.open({ payloadType: 96, onPacket: () => {} });
  t.teardown(() => a.close());
  const b = await RtpIngest.open({ payloadType: 96, onPacket: () => {} });
  t.teardown(() => b.close());
  const ports = [a.port, a.sender.rtcpPort, a.sender.localRtpPort, a.sender.localRtcpPort, b.port, b.sender.rtcpPort, b.sender.localRtpPort, b.sender.localRtcpPort];
  t.equal(new Set(ports).size, ports.length, `all ports distinct: ${ports.join(' ')}`);
  t.ok(a.sender.ssrc > 0 && a.sender.ssrc < 2 ** 32, 'a 32-bit SSRC');
  t.not(a.sender.ssrc, b.sender.ssrc, 'a random SSRC per ingest');
  // FFmpeg can bind both reserved ports (they were released).
  await sender(t, a.sender.localRtpPort);
  await sender(t, a.sender.localRtcpPort);
});

t.test('RtpIngest takes FFmpeg even when another local sender got there first with the right payload type (issue 12 defect 2)', async (t) => {
  const { ingest, received } = await openIngest(t);
  const other = await sender(t);
  // The other process's packets are valid RTP of the right payload type, with its own SSRC.
  const foreign = (seq: number) => {
    const p = rtp(seq);
    p.writeUInt32BE(0x0badf00d, 8);
    return p;
  };
  for (let seq = 0; seq < 20; seq++) await send(other, ingest.port, foreign(1000 + seq));
  // ... even with FFmpeg's own SSRC: only FFmpeg's port is heard.
  await send(other, ingest.port, rtp(2000));
  const ffmpeg = await ffmpegRtp(t, ingest);
  for (let seq = 0; seq < 20; seq++) {
    await send(ffmpeg, ingest.port, rtp(seq));
    await send(other, ingest.port, foreign(1100 + seq));
  }
  // From FFmpeg's port, a foreign SSRC is junk too.
  await send(ffmpeg, ingest.port, foreign(3000));
  await send(ffmpeg, ingest.port, rtp(20));
  await waitFor(() => received.length >= 21, 2000, "FFmpeg's 21 packets");
  t.same(received.map((p) => p.readUInt16BE(2)), [...Array(21).keys()], "exactly FFmpeg's packets, in order");
  t.equal(ingest.counters.packets, 21);
  t.equal(ingest.counters.junk, 1, "the kernel dropped the other sender's datagrams; the foreign SSRC from FFmpeg's port is junk");
});

t.test('RtpIngest.close() stops delivery at once, even for datagrams already queued', async (t) => {
  let ingestRef: RtpIngest | undefined;
  const { ingest, received } = await openIngest(t, () => ingestRef?.close());
  ingestRef = ingest;
  const closed = new Promise<void>((resolve) => ingest.once('close', () => resolve()));
  const sock = await ffmpegRtp(t, ingest);
  // Queue several packets before the first is handled; the handler closes on the first one.
  await Promise.all([1, 2, 3, 4, 5].map((seq) => send(sock, ingest.port, rtp(seq))));
  await waitFor(() => received.length >= 1, 2000, 'the first packet');
  await closed;
  // Give any straggler a chance to show up (loopback delivers within microseconds).
  await new Promise((r) => setTimeout(r, 50));
  t.equal(received.length, 1, 'only the packet that triggered close() was delivered');
  t.equal(received[0]?.readUInt16BE(2), 1);
  t.equal(ingest.counters.packets, 1);
  t.equal(ingest.closed, true);
});

t.test('RtpIngest.close() is idempotent and emits close exactly once', async (t) => {
  const { ingest, received } = await openIngest(t);
  let closes = 0;
  ingest.on('close', () => closes++);
  ingest.close();
  t.equal(closes, 1, 'close emitted synchronously');
  t.equal(ingest.closed, true);
  ingest.close();
  ingest.close();
  t.equal(closes, 1, 'no second close event');
  // The port is released: a new ingest can bind it (proves the socket really closed).
  const again = await RtpIngest.open({ payloadType: 96, port: ingest.port, onPacket: (p) => received.push(p) });
  t.teardown(() => again.close());
  t.equal(again.port, ingest.port);
  t.equal(received.length, 0);
});
