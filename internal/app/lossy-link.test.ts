/**
 * Integration, needs root (skipped otherwise): a viewer behind a lossy link. The test makes a
 * network namespace joined to this one by a veth pair on 10.213.<n>.0/30, puts netem 5% loss on
 * whepd's side of it, runs whepd on 10.213.<n>.1 and a viewer program in the namespace
 * (internal/testkit/lossy-viewer.ts, which reports what really arrived), and removes it all after.
 */
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { releaseWebRtc, startTestApp, waitLive } from '../testkit/index.js';

t.teardown(releaseWebRtc);

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

function haveNetns(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for ip netns and tc';
  try {
    execFileSync('tc', ['-V'], { stdio: 'pipe' });
    execFileSync('ip', ['-V'], { stdio: 'pipe' });
  } catch {
    return 'needs iproute2 (ip, tc)';
  }
  return undefined;
}

const why = haveNetns();
t.test('a viewer behind 5% netem loss shows a video fraction lost near 5% in /api/sessions', { skip: why ?? false }, async (t) => {
  const n = process.pid % 250;
  const ns = `whepd-loss-${process.pid}`;
  const hostIf = `wlh${process.pid}`.slice(0, 15);
  const nsIf = `wln${process.pid}`.slice(0, 15);
  const hostAddr = `10.213.${n}.1`;
  const nsAddr = `10.213.${n}.2`;
  ip('netns', 'add', ns);
  t.teardown(() => {
    // Deleting the namespace deletes its end of the veth pair, and with it ours.
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone
    }
  });
  ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
  ip('link', 'set', nsIf, 'netns', ns);
  ip('addr', 'add', `${hostAddr}/30`, 'dev', hostIf);
  ip('link', 'set', hostIf, 'up');
  ip('-n', ns, 'addr', 'add', `${nsAddr}/30`, 'dev', nsIf);
  ip('-n', ns, 'link', 'set', nsIf, 'up');
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  // Egress of whepd's side: media toward the viewer is lost, the viewer's RTCP is not.
  let netem: string | undefined;
  try {
    execFileSync('tc', ['qdisc', 'add', 'dev', hostIf, 'root', 'netem', 'loss', '5%'], { stdio: 'pipe' });
  } catch (err) {
    // Containers often lack sch_netem: the path is still tested, with no loss to find.
    netem = `no netem here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()})`;
  }

  const app = await startTestApp({ http: { listen: `${hostAddr}:0` }, webrtc: { bindAddress: hostAddr } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', 'internal/testkit/lossy-viewer.ts', `${app.url}/whep/demo`, nsAddr, '8'], { stdio: ['ignore', 'pipe', 'inherit'] });
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
  t.ok(own.expected > 200, `the viewer got media over the veth: ${own.expected - own.lost} of ${own.expected} video packets`);
  t.ok(fractions.length >= 1, `whepd read the viewer's reports: ${fractions.map((f) => (f * 100).toFixed(1)).join(' ')}`);
  if (netem) {
    t.ok(ownRatio < 0.01 && mean < 0.01, `${netem}: lossless path, viewer ${(ownRatio * 100).toFixed(1)}%, whepd ${(mean * 100).toFixed(1)}%`);
    t.skip(`5% loss: ${netem}`);
    return;
  }
  t.ok(ownRatio > 0.02 && ownRatio < 0.09, `the viewer lost ${own.lost} of ${own.expected} (${(ownRatio * 100).toFixed(1)}%)`);
  t.ok(fractions.length >= 3, `whepd read ${fractions.length} distinct fractions`);
  t.ok(mean > 0.02 && mean < 0.09, `whepd's fraction lost, mean over reports: ${(mean * 100).toFixed(1)}% (${fractions.map((f) => (f * 100).toFixed(1)).join(' ')})`);
  t.ok(packetsLost > 0 && packetsLost <= own.lost, `cumulative lost ${packetsLost} (the viewer's last count ${own.lost})`);
});
