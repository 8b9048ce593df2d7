/**
 * The cluster scenario of issue 16, run by e2e/cluster.sh inside its network namespace against
 * three whepd instances behind HAProxy (deploy/haproxy.cfg). Real node-datachannel viewers join
 * through HAProxy with trickle ICE (so every join also PATCHes through it).
 *
 *   node --import=tsx e2e/cluster.ts --lb <url> --stream <id> --token <admin token> --bind <addr>
 *        --socket <haproxy stats socket> --instance <name>=<url>=<pid> (three times)
 *
 * Prints `PASS cluster/<check> (figures)` / `FAIL cluster/<check>: reason`, `INFO` lines with the
 * measurements, then `cluster: N passed, N failed`; exits 0 only if all passed.
 */
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { WhepClient } from '../internal/testkit/whep-client.js';

const opts = new Map<string, string[]>();
for (let i = 2; i < process.argv.length; i += 2) opts.set(process.argv[i]!, [...(opts.get(process.argv[i]!) ?? []), process.argv[i + 1] ?? '']);
const one = (k: string) => opts.get(k)?.[0] ?? '';
const LB = one('--lb');
const STREAM = one('--stream');
const TOKEN = one('--token');
const BIND = one('--bind');
const SOCKET = one('--socket');
const instances = (opts.get('--instance') ?? []).map((s) => {
  const [name, url, pid] = s.split('=');
  return { name: name!, url: url!, pid: Number(pid) };
});
const endpoint = `${LB}/whep/${STREAM}`;
const auth = { Authorization: `Bearer ${TOKEN}` };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let passed = 0;
let failed = 0;
const out = (line: string) => process.stdout.write(`${line}\n`);
function check(name: string, ok: boolean, detail: string): boolean {
  if (ok) passed++;
  else failed++;
  out(ok ? `PASS cluster/${name} (${detail})` : `FAIL cluster/${name}: ${detail}`);
  return ok;
}

/** HAProxy's view of each server of backend whepd: status (UP, DOWN, DRAIN, ...) and weight. */
function haproxyServers(): Promise<Map<string, { status: string; weight: string }>> {
  return new Promise((resolve, reject) => {
    let text = '';
    const s = connect(SOCKET, () => s.write('show stat\n'));
    s.setEncoding('utf8');
    s.setTimeout(2000, () => s.destroy(new Error('stats socket timeout')));
    s.on('data', (d: string) => (text += d));
    s.once('error', reject);
    s.once('end', () => {
      const [head, ...rows] = text.trim().split('\n');
      const cols = (head ?? '').replace(/^# /, '').split(',');
      const at = (row: string[], c: string) => row[cols.indexOf(c)] ?? '';
      const m = new Map<string, { status: string; weight: string }>();
      for (const r of rows.map((l) => l.split(','))) {
        if (at(r, 'pxname') === 'whepd' && at(r, 'svname').startsWith('whepd')) m.set(at(r, 'svname'), { status: at(r, 'status'), weight: at(r, 'weight') });
      }
      resolve(m);
    });
  });
}

async function waitServer(name: string, want: RegExp, ms: number, minWeight = 0): Promise<number | undefined> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const st = (await haproxyServers().catch(() => new Map())).get(name);
    if (st && want.test(st.status) && Number(st.weight) >= minWeight) return Date.now() - t0;
    await sleep(50);
  }
  return undefined;
}

/** Session id -> instance name, from each live instance's admin API. */
async function sessionMap(live: typeof instances): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const i of live) {
    const res = await fetch(`${i.url}/api/sessions`, { headers: auth });
    for (const s of (await res.json()) as { id: string }[]) m.set(s.id, i.name);
  }
  return m;
}
const sid = (c: WhepClient) => c.resourceUrl?.split('/').pop() ?? '';

async function postsTotal(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('whepd_whep_posts_total{')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

/** Joins n viewers through HAProxy, `parallel` at a time; returns them all (201 or not). */
/** POSTs that got 503 (an instance full) and were sent again after Retry-After, per join. */
let retried = 0;

/**
 * One viewer, as a player joins: a 503 (the instance HAProxy picked is full) is retried after its
 * Retry-After (at most 2 s), up to three times. Filling the cluster to exactly its capacity
 * needs this: HAProxy's agent weights trail the last POSTs by up to one check interval, so near
 * full it can still send a POST to an instance that has just filled up.
 */
async function joinOne(): Promise<WhepClient> {
  for (let attempt = 1; ; attempt++) {
    const c = await WhepClient.connect({ endpoint, trickle: true, bindAddress: BIND });
    if (c.post?.status !== 503 || attempt === 4) return c;
    await c.close();
    retried++;
    await sleep(Math.min(2000, Number(c.post.headers.get('retry-after') ?? 1) * 1000));
  }
}

async function join(n: number, parallel: number): Promise<WhepClient[]> {
  const clients: WhepClient[] = [];
  retried = 0;
  for (let i = 0; i < n; i += parallel) {
    const batch = Array.from({ length: Math.min(parallel, n - i) }, () => joinOne());
    clients.push(...(await Promise.all(batch)));
  }
  return clients;
}

function joinedOk(name: string, clients: WhepClient[], ms: number): boolean {
  const posts = clients.map((c) => c.post?.status ?? 0);
  const patches = clients.flatMap((c) => c.patchStatuses);
  const bad = posts.filter((s) => s !== 201);
  check(`${name}/every-post-201`, bad.length === 0, `${clients.length} POSTs in ${ms} ms (${retried} sent again after a 503); not 201: ${bad.length ? bad.join(',') + ' ' + clients.find((c) => c.post?.status !== 201)?.post?.body.slice(0, 120) : 'none'}`);
  const badPatch = patches.filter((s) => s !== 204);
  return check(`${name}/every-patch-204`, badPatch.length === 0 && patches.length === clients.length, `${patches.length} trickle PATCHes through HAProxy; not 204: ${badPatch.join(',') || 'none'}`);
}

/** Keyframe gate: the first video packet is the SPS or a STAP-A holding it (RFC 6184 5.7.1). */
function startsAtSps(c: WhepClient): boolean {
  const p = c.video[0]?.payload;
  if (!p || p.length === 0) return false;
  const nal = p[0]! & 0x1f;
  return nal === 7 || (nal === 24 && p.includes(0x67));
}

async function mediaOk(name: string, clients: WhepClient[]): Promise<void> {
  const t0 = Date.now();
  const ready = () => clients.every((c) => c.video.length > 20 && c.audio.length > 5);
  while (!ready() && Date.now() - t0 < 20000) await sleep(100);
  const starved = clients.filter((c) => !(c.video.length > 20 && c.audio.length > 5));
  check(`${name}/every-viewer-gets-media`, starved.length === 0, `${clients.length - starved.length}/${clients.length} viewers got video and audio within ${Date.now() - t0} ms` + (starved.length ? `; starved peers: ${starved.map((c) => `${c.state}/${c.video.length}v`).join(' ')}` : ''));
  const noSps = clients.filter((c) => !startsAtSps(c));
  check(`${name}/every-viewer-starts-at-a-keyframe`, noSps.length === 0, `${clients.length - noSps.length}/${clients.length} start at an SPS`);
}

/** DELETEs through HAProxy, expecting 200 (the session existed on the instance that got it). */
async function leave(name: string, clients: WhepClient[]): Promise<void> {
  const statuses = await Promise.all(
    clients.filter((c) => c.resourceUrl).map(async (c) => {
      const url = c.resourceUrl;
      c.resourceUrl = undefined;
      const status = url ? (await fetch(url, { method: 'DELETE' })).status : 0;
      await c.close();
      return status;
    }),
  );
  const bad = statuses.filter((s) => s !== 200);
  check(`${name}/every-delete-200`, bad.length === 0, `${statuses.length} DELETEs through HAProxy; not 200 (204 = unknown to the instance reached): ${bad.join(',') || 'none'}`);
}

function counts(map: Map<string, string>, clients: WhepClient[]): Record<string, number> {
  const c: Record<string, number> = Object.fromEntries(instances.map((i) => [i.name, 0]));
  for (const cl of clients) {
    const where = map.get(sid(cl));
    c[where ?? 'unknown'] = (c[where ?? 'unknown'] ?? 0) + 1;
  }
  return c;
}

/** Every viewer still joined; the ones left when run() fails are closed at the end. */
const all: WhepClient[] = [];

async function run(): Promise<void> {
  for (const i of instances) {
    const ms = await waitServer(i.name, /^UP/, 15000);
    if (!check(`haproxy/${i.name}-up`, ms !== undefined, `HAProxy sees ${i.name} ${ms !== undefined ? `UP after ${ms} ms` : 'not UP within 15 s'}`)) return;
  }
  const [w1, w2, w3] = instances as [(typeof instances)[0], (typeof instances)[0], (typeof instances)[0]];

  // 1. 60 viewers: every POST 201 and PATCH 204 through HAProxy, media for all, 20 +- 5 each.
  let t0 = Date.now();
  const first = await join(60, 6);
  all.push(...first);
  joinedOk('join-60', first, Date.now() - t0);
  await mediaOk('join-60', first);
  let map = await sessionMap(instances);
  const dist = counts(map, first);
  out(`INFO cluster: distribution of 60 viewers: ${JSON.stringify(dist)}`);
  check('join-60/each-instance-20-plus-minus-5', instances.every((i) => Math.abs((dist[i.name] ?? 0) - 20) <= 5) && !dist['unknown'], JSON.stringify(dist));

  // 2. Fill to 90 (3 x viewersTotal 30); one more POST is refused with 503 + Retry-After.
  t0 = Date.now();
  const fill = await join(30, 3);
  all.push(...fill);
  joinedOk('fill-90', fill, Date.now() - t0);
  map = await sessionMap(instances);
  out(`INFO cluster: distribution at 90: ${JSON.stringify(counts(map, [...first, ...fill]))}`);
  const offer = readFileSync('fixtures/offers/chromium-recvonly.sdp', 'utf8');
  const extra = await fetch(endpoint, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
  const extraBody = (await extra.text()).trim().slice(0, 120);
  check('fill-90/91st-post-503-retry-after', extra.status === 503 && Number(extra.headers.get('retry-after')) > 0, `91st POST: ${extra.status}, Retry-After ${extra.headers.get('retry-after')}: ${extraBody}`);
  await leave('fill-90', fill);
  all.splice(all.length - fill.length, fill.length);

  // 3. SIGKILL one instance: out of HAProxy within 3 s; its viewers re-POST and land on the others.
  const killed = first.filter((c) => map.get(sid(c)) === w1.name);
  process.kill(w1.pid, 'SIGKILL');
  const outMs = await waitServer(w1.name, /^DOWN/, 10000);
  out(`INFO cluster: HAProxy marked the SIGKILLed ${w1.name} DOWN after ${outMs ?? '>10000'} ms`);
  check('kill/out-within-3s', outMs !== undefined && outMs <= 3000, `${w1.name} DOWN after ${outMs ?? '>10000'} ms`);
  for (const c of killed) {
    c.resourceUrl = undefined; // nothing left to DELETE: the instance is gone
    await c.close();
    all.splice(all.indexOf(c), 1);
  }
  t0 = Date.now();
  const again = await join(killed.length, 4);
  all.push(...again);
  joinedOk('kill/re-post', again, Date.now() - t0);
  await mediaOk('kill/re-post', again);
  const live = [w2, w3];
  map = await sessionMap(live);
  const landed = counts(map, again);
  check('kill/re-posts-land-on-the-others', again.every((c) => map.has(sid(c))), `${again.length} re-POSTs of ${w1.name}'s viewers landed: ${JSON.stringify(landed)}`);

  // 4. Drain another: no new POST reaches it; its viewers keep media until they leave.
  // Room on both first: a full edge's agent says 0%, which HAProxy also shows as DRAIN and which
  // sends it no POSTs anyway, so only an edge with room shows what the drain itself does.
  const room = [...all.filter((c) => map.get(sid(c)) === w3.name).slice(0, 8), ...all.filter((c) => map.get(sid(c)) === w2.name).slice(0, 4)];
  await leave('drain/make-room', room);
  for (const c of room) all.splice(all.indexOf(c), 1);
  // HAProxy learns the new room at its next agent check (agent-inter 1 s); until then a full
  // edge has weight 0 and gets no POST.
  for (const w of [w2, w3]) {
    const roomMs = await waitServer(w.name, /^UP/, 5000, 1);
    check(`drain/haproxy-sees-room-on-${w.name}`, roomMs !== undefined, `HAProxy: ${w.name} UP with weight above 0 ${roomMs ?? '>5000'} ms after the DELETEs`);
  }
  const drainedAt = Date.now();
  const res = await fetch(`${w2.url}/api/drain`, { method: 'POST', headers: auth });
  check('drain/api-200', res.status === 200, `POST ${w2.name}/api/drain: ${res.status} ${(await res.text()).trim()}`);
  const drainMs = await waitServer(w2.name, /^DRAIN/, 5000);
  check('drain/haproxy-sees-drain', drainMs !== undefined, `HAProxy shows ${w2.name} DRAIN ${drainMs ?? '>5000'} ms after POST /api/drain`);
  const postsBefore = await postsTotal(w2.url);
  const fresh = await join(6, 3);
  all.push(...fresh);
  joinedOk('drain/new-posts', fresh, 0);
  map = await sessionMap(live);
  const postsAfter = await postsTotal(w2.url);
  check('drain/no-new-post-reaches-it', postsAfter === postsBefore && fresh.every((c) => map.get(sid(c)) === w3.name), `${w2.name} (4 slots free) POSTs ${postsBefore} -> ${postsAfter}; new sessions: ${JSON.stringify(counts(map, fresh))}`);
  // Five 2 s windows: every drained viewer must get video in each (a 2 s gap is a stall, not
  // scheduling noise on a loaded 2-core box).
  const drained = all.filter((c) => map.get(sid(c)) === w2.name);
  let playingMs = 0;
  let stalled: string | undefined;
  for (let s = 0; s < 5 && !stalled; s++) {
    const before = drained.map((c) => c.video.length);
    await sleep(2000);
    const still = drained.filter((c, i) => c.video.length <= before[i]!);
    if (still.length) stalled = `${still.length}/${drained.length} drained viewers got no video for 2 s, ${Date.now() - drainedAt} ms after the drain`;
    else playingMs = Date.now() - drainedAt;
  }
  out(`INFO cluster: the ${drained.length} viewers of drained ${w2.name} kept receiving media for ${playingMs} ms after the drain, until the test made them leave`);
  check('drain/viewers-keep-media', !stalled && drained.length > 0, stalled ?? `${drained.length} viewers got video in every 2 s window for ${playingMs} ms after the drain`);
  await leave('drain/viewers-leave', drained);
  for (const c of drained) all.splice(all.indexOf(c), 1);
  const state = (await (await fetch(`${w2.url}/api/drain`, { headers: auth })).json()) as { draining: boolean; sessions: number };
  check('drain/instance-empty', state.draining && state.sessions === 0, JSON.stringify(state));

  await leave('end', all.splice(0));
}

/** Kills this process after `ms` from a worker thread (node-datachannel can block the main one). */
function watchdog(ms: number, line: string): Worker {
  const code = `const { workerData } = require('node:worker_threads');
setTimeout(() => { require('node:fs').writeSync(1, workerData.line + '\\n'); process.kill(process.pid, 'SIGKILL'); }, workerData.ms);`;
  const w = new Worker(code, { eval: true, workerData: { ms, line } });
  w.unref();
  return w;
}

const started = Date.now();
const dog = watchdog(240000, 'FAIL cluster/watchdog: still running after 240 s; killed');
try {
  await run();
} catch (err) {
  check('run', false, (err as Error)?.stack ?? String(err));
}
out(`INFO cluster: scenario took ${Date.now() - started} ms`);
out(`cluster: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
await dog.terminate();
watchdog(5000, 'INFO cluster: node-datachannel teardown still running after 5 s; killed');
await Promise.all(all.map((c) => c.close()));
// As e2e/media-flow.ts: node-datachannel's cleanup() may crash at exit, so exit explicitly.
process.exit();
