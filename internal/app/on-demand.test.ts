/** On-demand streams: FFmpeg starts on the first POST and stops after the idle timeout. */
import t from 'tap';
import { WhepClient, processRunning, releaseWebRtc, startTestApp, waitUntil } from '../testkit/index.js';

t.teardown(releaseWebRtc);

t.test('an on-demand stream starts on the first POST and stops when the last viewer leaves', async (t) => {
  const app = await startTestApp({ streams: [{ id: 'od', input: 'fixtures/media/demo.mp4', loop: true, onDemand: true, idleTimeoutS: 0.5 }] });
  t.teardown(() => app.close());
  const stream = app.streams.get('od')!;
  await new Promise((r) => setTimeout(r, 300));
  t.equal(stream.state, 'idle', 'no FFmpeg before anyone asks');
  t.equal(stream.pid, undefined);
  t.equal((await fetch(`${app.url}/readyz`)).status, 200, 'on-demand streams do not hold readiness back');

  const started = Date.now();
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/od` });
  t.teardown(() => client.close());
  t.equal(client.post?.status, 201, `the first POST waits for the stream and gets 201 (${Date.now() - started} ms)`);
  await client.waitFor(() => client.video.length > 10 && client.audio.length > 10, 8000, 'media');
  const pid = stream.pid!;
  t.ok(processRunning(pid), 'FFmpeg runs while watched');

  await client.close();
  await waitUntil(() => stream.state === 'idle', 5000, 'the stream to go idle');
  await waitUntil(() => !processRunning(pid), 3000, 'FFmpeg to exit');
  t.pass('FFmpeg stopped after the idle timeout');

  const again = await WhepClient.connect({ endpoint: `${app.url}/whep/od` });
  t.teardown(() => again.close());
  t.equal(again.post?.status, 201, 'and starts again for the next viewer');
  await again.waitFor(() => again.video.length > 5, 8000, 'media again');
});

t.test('an on-demand stream that cannot go live answers 409 after its start timeout', async (t) => {
  const app = await startTestApp({ streams: [{ id: 'bad', input: 'fixtures/media/video-only.mp4', onDemand: true, startTimeoutS: 1, idleTimeoutS: 0.2 }] });
  t.teardown(() => app.close());
  const started = Date.now();
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/bad` });
  t.teardown(() => client.close());
  t.equal(client.post?.status, 409);
  t.ok(Number(client.post?.headers.get('retry-after')) > 0, 'Retry-After');
  t.ok(Date.now() - started >= 900, 'waited for the start timeout');
  await waitUntil(() => app.streams.get('bad')!.state === 'idle', 5000, 'the stream to stop again');
});

t.test('an on-demand stream whose FFmpeg died under its viewers still stops once nobody watches', async (t) => {
  const app = await startTestApp({ ffmpeg: { restartMinMs: 200 }, streams: [{ id: 'od', input: 'fixtures/media/demo.mp4', loop: true, onDemand: true, idleTimeoutS: 0.5 }] });
  t.teardown(() => app.close());
  const stream = app.streams.get('od')!;
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/od` });
  t.teardown(() => client.close());
  t.equal(client.post?.status, 201);
  await client.waitFor(() => client.video.length > 10, 8000, 'media');
  const pid = stream.pid!;
  process.kill(pid, 'SIGKILL');
  await waitUntil(() => stream.viewerCount === 0, 5000, 'the viewer torn down with its FFmpeg');
  // The supervisor restarts FFmpeg after the backoff; with nobody watching, the idle timeout
  // must then stop it again instead of leaving it running for good.
  await waitUntil(() => stream.state === 'idle', 8000, 'the stream to go idle after the restart');
  t.equal(stream.pid, undefined, 'no FFmpeg runs');
});
