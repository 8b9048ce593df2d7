/** A network input that goes quiet without an error: whepd restarts FFmpeg after stallTimeoutS. */
import t from 'tap';
import { execa } from 'execa';
import { WhepClient, freePort, releaseWebRtc, startTestApp, waitLive, waitUntil } from '../testkit/index.js';

t.teardown(releaseWebRtc);

/** A live MPEG-TS source over loopback UDP, like a core's output. */
function publish(port: number) {
  return execa('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440', '-c:v', 'libx264', '-profile:v', 'baseline', '-tune', 'zerolatency', '-g', '30', '-x264-params', 'repeat-headers=1', '-c:a', 'aac', '-f', 'mpegts', `udp://127.0.0.1:${port}?pkt_size=1316`], { reject: false });
}

t.test('a stalled input tears viewers down and FFmpeg is restarted; media returns with the source', async (t) => {
  const port = await freePort();
  let source = publish(port);
  t.teardown(() => {
    source.kill('SIGKILL');
  });
  const app = await startTestApp({ streams: [{ id: 'live', input: `udp://127.0.0.1:${port}`, stallTimeoutS: 2 }], ffmpeg: { restartMinMs: 200, restartMaxMs: 1000 } });
  t.teardown(() => app.close());
  await waitLive(app, 'live', 40000);
  const stream = app.streams.get('live')!;
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/live` });
  t.teardown(() => client.close());
  await client.waitFor(() => client.video.length > 10, 8000, 'video');
  const pid = stream.pid;

  source.kill('SIGKILL');
  const stoppedAt = Date.now();
  await waitUntil(() => app.registry.total === 0, 10000, 'the viewer to be torn down');
  const tookMs = Date.now() - stoppedAt;
  t.ok(tookMs < 6000, `viewer torn down ${tookMs} ms after the source went quiet (stallTimeoutS 2)`);
  t.match(stream.lastError, /no video from ffmpeg for 2 s/);
  t.not(stream.live, true, 'not live while the source is gone');

  source = publish(port);
  await waitLive(app, 'live', 30000);
  t.not(stream.pid, pid, 'a new FFmpeg');
  const again = await WhepClient.connect({ endpoint: `${app.url}/whep/live` });
  t.teardown(() => again.close());
  await again.waitFor(() => again.video.length > 10, 8000, 'video after the source returned');
});
