/**
 * Issue 12, defect 2: another local process sends valid-looking RTP (the right payload type, its
 * own SSRC) to a stream's ingest ports before FFmpeg's first packet. whepd must still take
 * FFmpeg's packets at once, and never the other sender's.
 */
import t from 'tap';
import { createSocket } from 'node:dgram';
import { AUDIO_PT, VIDEO_PT } from '../ffmpeg/index.js';
import { WhepClient, releaseWebRtc, startTestApp, waitLive, waitUntil } from '../testkit/index.js';

t.teardown(releaseWebRtc);

const FOREIGN_SSRC = 0x0badf00d;

/** A valid RTP packet of payload type `pt` from a foreign SSRC (an IDR-looking H264 or Opus payload). */
function foreign(pt: number, seq: number): Buffer {
  const p = Buffer.alloc(60);
  p[0] = 0x80;
  p[1] = pt;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(seq * 3000, 4);
  p.writeUInt32BE(FOREIGN_SSRC, 8);
  p[12] = pt === VIDEO_PT ? 0x65 : 0xfc;
  return p;
}

t.test('a foreign sender that reaches the ingest ports before FFmpeg: FFmpeg is still taken at once, the foreigner never', async (t) => {
  const app = await startTestApp({ rateLimit: { perSecond: 0 } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const stream = app.streams.get('demo')!;
  const oldPorts = stream.ingestPorts;
  const sock = createSocket('udp4');
  t.teardown(() => sock.close());
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));

  // Restart FFmpeg and catch the new run's ports the moment they are bound: FFmpeg needs tens of
  // milliseconds to open its input, the poll below needs well under one.
  stream.restart();
  const deadline = Date.now() + 10000;
  while (!(stream.ingestPorts && stream.ingestPorts.video !== oldPorts?.video) && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  const ports = stream.ingestPorts;
  t.ok(ports && ports.video !== oldPorts?.video, 'the new run bound new ingest ports');
  let seq = 0;
  let sent = 0;
  const spray = () => {
    for (const [port, pt] of [[ports!.video, VIDEO_PT], [ports!.audio, AUDIO_PT]] as const) {
      sock.send(foreign(pt, seq), port, '127.0.0.1');
      sent++;
    }
    seq++;
  };
  spray();
  // Keep sending all along, as a misbehaving neighbour would.
  const timer = setInterval(spray, 5);
  t.teardown(() => clearInterval(timer));

  // Before the fix the foreign SSRC was latched and FFmpeg's packets were junk until the stall
  // watchdog (20 s before a first packet) restarted FFmpeg.
  await waitLive(app, 'demo', 8000);
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => client.close());
  await client.waitFor(() => client.video.length > 30 && client.audio.length > 30, 8000, "FFmpeg's media at the viewer");
  clearInterval(timer);
  const status = stream.status();
  t.comment(`sent ${sent} foreign datagrams; ingest counted video ${status.video.packets} packets / ${status.video.junk} junk, audio ${status.audio.packets} / ${status.audio.junk}`);
  t.ok(sent > 10, 'the foreign sender was sending during the start');
  t.ok(status.video.packets > 30 && status.audio.packets > 30, "FFmpeg's packets are taken");
  // A spliced-in foreign packet would break the audio's sequence (audio is never retransmitted).
  const audioSeqBreaks = client.audio.filter((p, i) => i > 0 && ((p.seq - client.audio[i - 1]!.seq) & 0xffff) !== 1).length;
  t.equal(audioSeqBreaks, 0, 'the viewer got one unbroken audio sequence: no foreign packet in it');
  await waitUntil(() => stream.live, 1000, 'still live');
});
