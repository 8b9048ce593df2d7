/** App.start() failing half way releases what it already started (issue 12 defect 4). */
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { processRunning, startTestApp } from '../testkit/index.js';

/** PIDs of this process's live children, from /proc (the ShardPool of a failed start is unreachable). */
function children(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Fields after the ")" closing the command name: state, then the parent PID.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === process.pid && state !== 'Z') pids.push(Number(name));
    } catch {
      // Gone while listing.
    }
  }
  return pids;
}

t.test('App.start() closes the shard pool when building the App throws (a bad RS256 PEM)', async (t) => {
  const before = new Set(children());
  let leaked: number[] = [];
  // A shard the fix failed to end is this test's child: end it by PID.
  t.teardown(() => {
    for (const pid of leaked) if (processRunning(pid)) process.kill(pid, 'SIGKILL');
  });
  const start = startTestApp({
    webrtc: { shards: 1 },
    auth: { jwt: { publicKeyPem: '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n' } },
    streams: [{ id: 'a', input: 'fixtures/media/demo.mp4', onDemand: true }],
  });
  // The pool forks its shard before the App is built: see it run, then see it end.
  let seen: number[] = [];
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline && seen.length === 0) {
    seen = children().filter((p) => !before.has(p));
    await new Promise((r) => setTimeout(r, 10));
  }
  await t.rejects(start, 'start rejects');
  t.ok(seen.length >= 1, `the shard was forked (pid ${seen.join(', ')})`);
  const waitUntil = Date.now() + 5000;
  while (Date.now() < waitUntil && seen.some(processRunning)) await new Promise((r) => setTimeout(r, 50));
  leaked = seen.filter(processRunning);
  t.same(leaked, [], 'no shard process is left running');
});
