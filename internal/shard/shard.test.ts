/**
 * Shards against the real stack: whepd with webrtc.shards = 2 forks two shard processes; real
 * FFmpeg plays a fixture; node-datachannel viewers join over WHEP and must get both tracks from a
 * keyframe with their own payload types, spread over both shards, with figures (RTCP, out
 * counters) reaching the main process. A SIGKILLed shard takes only its own viewers down and is
 * replaced; an FFmpeg exit tears down every sharded viewer; closing whepd ends every shard.
 */
import t from 'tap';
import type { Test } from 'tap';
import type { App } from '../app/index.js';
import { readFileSync } from 'node:fs';
import { buildNack } from '../rtp/index.js';
import { WhepClient, answerTrack, processRunning, releaseWebRtc, spsSizeFromPayload, startTestApp, waitLive, waitUntil } from '../testkit/index.js';

t.teardown(releaseWebRtc);

/**
 * whepd with two shard processes. Teardown closes it, then SIGKILLs by PID any shard (first ones
 * and replacements) that close() left behind, so a failing test cannot leak processes.
 */
async function startShardedApp(t: Test): Promise<App> {
  const app = await startTestApp({ webrtc: { shards: 2 } });
  const pids = new Set(app.shards!.pids);
  t.teardown(async () => {
      await app.close();
    for (const pid of pids) if (processRunning(pid)) process.kill(pid, 'SIGKILL');
  });
  return app;
}

const startsWithSps = (payload: Buffer) => spsSizeFromPayload(payload) !== undefined;

t.test('viewers spread over two shard processes receive both tracks from a keyframe', async (t) => {
  const app = await startShardedApp(t);
  t.equal(app.shards!.pids.length, 2, 'two shard processes');
  await waitLive(app, 'demo');

  const pts = [108, 102, 108, 96];
  const clients = [];
  for (const pt of pts) {
    const c = await WhepClient.connect({ endpoint: `${app.url}/whep/demo`, videoPayloadType: pt });
    t.teardown(() => c.close());
    clients.push(c);
  }
  t.same(app.shards!.load, [2, 2], 'two viewers per shard');
  await Promise.all(clients.map((c) => c.waitFor(() => c.video.length >= 40 && c.audio.length >= 30, 10000, 'media on both tracks')));
  clients.forEach((c, i) => {
    const ssrc = answerTrack(c.post?.body ?? '', 'video')?.ssrc;
    t.ok(startsWithSps(c.video[0]!.payload), `viewer ${i}: first video packet carries the SPS`);
    t.ok(c.video.every((p) => p.pt === pts[i] && p.ssrc === ssrc), `viewer ${i}: PT ${pts[i]} and the answered SSRC`);
  });

  const sessions = app.registry.list();
  await waitUntil(() => sessions.every((s) => s.rtcpReceived > 0), 5000, 'RTCP counts reported by the shards');
  await waitUntil(() => (app.streams.get('demo')!.status().out.videoPackets ?? 0) > 100, 5000, 'out counters reported by the shards');
  t.equal(app.streams.get('demo')!.media, undefined, 'the main process keeps no history or clock for peers: they all live in shards');

  // DELETE frees the viewer in its shard.
  await clients[0]!.close();
  await waitUntil(() => app.shards!.load.reduce((a, b) => a + b) === 3, 3000, 'the shard to drop the deleted viewer');

  // NACKs are answered by the shard from its own history of the stream.
  const asking = await WhepClient.connect({ endpoint: `${app.url}/whep/demo`, videoPayloadType: 108, videoSendRecv: true });
  t.teardown(() => asking.close());
  await asking.waitFor(() => asking.video.length >= 5, 8000, 'video before the NACK');
  const first = asking.video[0]!.seq;
  const lost = (first - 1 + 65536) % 65536;
  asking.sendVideoRtcp(buildNack(1, answerTrack(asking.post?.body ?? '', 'video')!.ssrc!, [lost]));
  await asking.waitFor(() => asking.video.some((p) => p.seq === lost), 3000, 'the NACKed packet');
  await waitUntil(() => app.streams.get('demo')!.status().retransmits.sent >= 1, 3000, 'the resend counted');
});

t.test('a SIGKILLed shard closes only its own viewers and is replaced', async (t) => {
  const app = await startShardedApp(t);
  await waitLive(app, 'demo');
  const a = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  const b = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  await Promise.all([a, b].map((c) => c.waitFor(() => c.video.length >= 10, 8000, 'video')));
  const victim = app.shards!.pids[0]!;
  process.kill(victim, 'SIGKILL');
  await waitUntil(() => app.registry.list().length === 1, 5000, 'the killed shard’s session to close');
  await waitUntil(() => app.shards!.pids.length === 2 && !app.shards!.pids.includes(victim), 10000, 'a replacement shard');
  const metrics = await (await fetch(`${app.url}/metrics`)).text();
  t.match(metrics, /^whepd_shard_restarts_total 1$/m, 'the restart is counted');
  t.match(metrics, /^whepd_shard_viewers\{shard="1"\} 1$/m, 'the surviving shard still holds its viewer');
  const survivor = [a, b].find((c) => c.post && app.registry.list().some((s) => c.resourceUrl?.endsWith(s.id)))!;
  const n = survivor.video.length;
  await survivor.waitFor(() => survivor.video.length >= n + 30, 5000, 'the other shard’s viewer still receiving');
  const c = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => c.close());
  await c.waitFor(() => c.video.length >= 10, 8000, 'a new viewer on the replacement shard');
  t.pass('the pool kept working after a shard died');
});

t.test('an FFmpeg exit tears down sharded viewers; closing whepd ends the shards', async (t) => {
  const app = await startShardedApp(t);
  const pids = app.shards!.pids;
  await waitLive(app, 'demo');
  const clients = [await WhepClient.connect({ endpoint: `${app.url}/whep/demo` }), await WhepClient.connect({ endpoint: `${app.url}/whep/demo` })];
  t.teardown(() => Promise.all(clients.map((c) => c.close())));
  await Promise.all(clients.map((c) => c.waitFor(() => c.video.length >= 10, 8000, 'video')));
  const stream = app.streams.get('demo')!;
  process.kill(stream.pid!, 'SIGKILL');
  await waitUntil(() => app.registry.list().length === 0, 5000, 'every sharded session closed');
  await waitUntil(() => app.shards!.load.every((n) => n === 0), 5000, 'the shards to drop every viewer');
  await app.close();
  t.ok(pids.every((pid) => !processRunning(pid)), 'no shard process left after close');
});

t.test('an offer libdatachannel refuses in a shard gets the same 400 and leaves no peer behind', async (t) => {
  const app = await startShardedApp(t);
  await waitLive(app, 'demo');
  const offer = readFileSync('fixtures/offers/chromium-recvonly.sdp', 'utf8');
  for (const [what, body] of [
    ['no fingerprint', offer.replace(/^a=fingerprint:.*\r?\n/gm, '')],
    ['a malformed fingerprint', offer.replace(/^a=fingerprint:.*$/gm, 'a=fingerprint:sha-256 zz')],
    ['no ICE password', offer.replace(/^a=ice-pwd:.*\r?\n/gm, '')],
    ['a malformed candidate', offer.replace(/^(a=mid:0\r?\n)/m, '$1a=candidate:garbage\r\n')],
  ] as const) {
    const res = await fetch(`${app.url}/whep/demo`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body });
    t.equal(res.status, 400, `${what}: 400`);
    t.match(await res.text(), /^offer (rejected: libdatachannel error|has a malformed ICE candidate)/, `${what}: the shard's reason`);
  }
  t.same(app.shards!.load, [0, 0], 'no peer left in the shards');
  t.equal(app.registry.list().length, 0, 'no session');
});
