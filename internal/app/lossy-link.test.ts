/**
 * A viewer behind a lossy link: whepd announces only 127.0.0.2 (webrtc.advertisedAddresses with
 * advertiseOnly, on one UDP port), where a relay (internal/testkit/lossy-relay.ts) forwards to it
 * and drops every 20th media packet on the way back, 5% exactly. The viewer program
 * (internal/testkit/lossy-viewer.ts) hides its own candidates, so whepd reaches it only through
 * the relay, and reports what really arrived. netem would do the same, but many kernels and
 * containers (this build box among them) have no sch_netem; the relay works everywhere.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { LossyRelay, freeUdpPort, releaseWebRtc, startTestApp, waitLive } from '../testkit/index.js';

t.teardown(releaseWebRtc);

t.test('a viewer behind 5% loss shows a video fraction lost near 5% in /api/sessions', async (t) => {
  const port = await freeUdpPort();
  const relay = await LossyRelay.start({ host: '127.0.0.2', port }, { host: '127.0.0.1', port }, 20);
  t.teardown(() => relay.close());
  const app = await startTestApp({ webrtc: { udpPort: port, advertisedAddresses: ['127.0.0.2'], advertiseOnly: true } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const child = spawn(process.execPath, ['--import', 'tsx', 'internal/testkit/lossy-viewer.ts', `${app.url}/whep/demo`, '127.0.0.1', '8', 'hide'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const fractions: number[] = [];
  let packetsLost = 0;
  const deadline = Date.now() + 30_000;
  while (child.exitCode === null && Date.now() < deadline) {
    const q = app.registry.list('demo')[0]?.quality?.video;
    if (q && (fractions.length === 0 || q.fractionLost !== fractions.at(-1))) fractions.push(q.fractionLost);
    if (q) packetsLost = q.packetsLost;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.equal(await exited, 0, `the viewer ran: ${out}`);
  const own = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { expected: number; lost: number };
  const ownRatio = own.lost / own.expected;
  const mean = fractions.reduce((a, b) => a + b, 0) / Math.max(1, fractions.length);
  t.ok(own.expected > 200, `the viewer got media through the relay: ${own.expected - own.lost} of ${own.expected} video packets`);
  t.ok(relay.dropped > 0, `the relay dropped ${relay.dropped} media packets and forwarded ${relay.forwarded} datagrams`);
  t.ok(fractions.length >= 1, `whepd read the viewer's reports: ${fractions.map((f) => (f * 100).toFixed(1)).join(' ')}`);
  t.ok(ownRatio > 0.02 && ownRatio < 0.09, `the viewer lost ${own.lost} of ${own.expected} (${(ownRatio * 100).toFixed(1)}%)`);
  t.ok(fractions.length >= 3, `whepd read ${fractions.length} distinct fractions`);
  t.ok(mean > 0.02 && mean < 0.09, `whepd's fraction lost, mean over reports: ${(mean * 100).toFixed(1)}% (${fractions.map((f) => (f * 100).toFixed(1)).join(' ')})`);
  t.ok(packetsLost > 0 && packetsLost <= own.lost, `cumulative lost ${packetsLost} (the viewer's last count ${own.lost})`);
});
