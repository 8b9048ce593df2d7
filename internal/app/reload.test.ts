/** Config reload: added streams start, removed ones stop, changed ones restart, untouched ones keep their viewers. */
import t from 'tap';
import { parseConfig } from '../config/index.js';
import { WhepClient, releaseWebRtc, startTestApp, waitLive, waitUntil } from '../testkit/index.js';

t.teardown(releaseWebRtc);

const base = {
  http: { listen: '127.0.0.1:0' },
  webrtc: { bindAddress: '127.0.0.1' },
  log: { level: 'silent' },
  ffmpeg: { restartMinMs: 200, restartMaxMs: 2000 },
};

t.test('App.reload() applies stream changes without touching untouched streams', async (t) => {
  const app = await startTestApp({
    streams: [
      { id: 'keep', input: 'fixtures/media/demo.mp4', loop: true },
      { id: 'gone', input: 'fixtures/media/demo.mp4', loop: true },
      { id: 'change', input: 'fixtures/media/demo.mp4', loop: true },
    ],
  });
  t.teardown(() => app.close());
  await Promise.all(['keep', 'gone', 'change'].map((id) => waitLive(app, id)));
  const keepPid = app.streams.get('keep')!.pid;
  const changePid = app.streams.get('change')!.pid;
  const keeper = await WhepClient.connect({ endpoint: `${app.url}/whep/keep` });
  const leaver = await WhepClient.connect({ endpoint: `${app.url}/whep/gone` });
  t.teardown(() => keeper.close());
  t.teardown(() => leaver.close());
  await keeper.waitFor(() => keeper.video.length > 10, 8000, 'keep media');
  const keepSession = app.registry.list('keep')[0]!;
  const goneSession = app.registry.list('gone')[0]!;

  const next = parseConfig({
    ...base,
    limits: { viewersPerStream: 4, viewersTotal: 10 },
    streams: [
      { id: 'keep', input: 'fixtures/media/demo.mp4', loop: true },
      { id: 'change', input: 'fixtures/media/demo.mp4', loop: true, video: 'transcode' },
      { id: 'new', input: 'fixtures/media/demo.mp4', loop: true },
    ],
  });
  const result = await app.reload(next);
  t.same(result.added, ['new']);
  t.same(result.removed, ['gone']);
  t.same(result.restarted, ['change']);
  t.same(result.kept, ['keep']);
  t.ok(goneSession.closed, 'viewers of a removed stream are torn down');
  t.notOk(keepSession.closed, 'viewers of an untouched stream stay');
  t.equal(app.streams.get('keep')!.pid, keepPid, 'untouched stream keeps its FFmpeg');
  t.notOk(app.streams.has('gone'));
  t.throws(() => process.kill(changePid!, 0), 'the changed stream\'s old FFmpeg is gone');
  await Promise.all([waitLive(app, 'new'), waitLive(app, 'change', 20000)]);
  t.equal(app.streams.get('change')!.status().transcoding, true, 'changed settings apply');
  const before = keeper.video.length;
  await waitUntil(() => keeper.video.length > before + 30, 5000, 'the kept viewer to keep receiving');
  t.pass('the kept viewer kept receiving');
  const res = await fetch(`${app.url}/whep/gone`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0\r\n' });
  t.equal(res.status, 404, 'a removed stream is unknown');
});

t.test('App.reload() after close() started rejects and starts nothing (issue 12 defect 4)', async (t) => {
  const app = await startTestApp({ streams: [{ id: 'a', input: 'fixtures/media/demo.mp4', onDemand: true }] });
  // Whatever a faulty reload might have started is closed too (its FFmpeg is ours to end).
  t.teardown(async () => {
    for (const s of app.streams.values()) s.close();
    await Promise.all([...app.streams.values()].map((s) => s.stopped()));
  });
  const next = parseConfig({ ...base, streams: [{ id: 'a', input: 'fixtures/media/demo.mp4', onDemand: true }, { id: 'b', input: 'fixtures/media/demo.mp4', loop: true }] });
  // SIGHUP during shutdown: close() has started, then the reload comes.
  const closing = app.close();
  await t.rejects(app.reload(next), /shutting down/, 'the reload is refused');
  await closing;
  t.notOk(app.streams.has('b'), 'no stream was added');
  t.equal(app.config.streams.length, 1, 'the config is the one it closed with');
});
