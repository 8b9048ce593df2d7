/**
 * Real networks, on loopback: one UDP port for every viewer (webrtc.udpPort, libdatachannel's ICE
 * UDP mux; shard k on udpPort + k), and advertised addresses in the answer (names resolved by
 * whepd). The NAT, firewall and TURN cases need namespaces and live in e2e.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { WhepClient, freeUdpPort, releaseWebRtc, startTestApp, waitLive } from '../testkit/index.js';

t.teardown(releaseWebRtc);

/** Sockets in /proc/net/udp bound to `port` (this process runs the App, so they are its). */
function udpSocketsOn(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/udp', 'utf8').split('\n').filter((l) => l.trim().split(/\s+/)[1]?.endsWith(hex)).length;
}

const candidates = (sdp: string) => sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:')).map((l) => l.split(' '));

for (const shards of [0, 2]) {
  t.test(`webrtc.udpPort: every viewer on one UDP port${shards ? ` per shard (udpPort + k, ${shards} shards)` : ''}, all receiving`, async (t) => {
    const port = await freeUdpPort();
    const app = await startTestApp({ webrtc: { udpPort: port, shards } });
    t.teardown(() => app.close());
    await waitLive(app, 'demo');
    const clients: WhepClient[] = [];
    for (let i = 0; i < 6; i++) clients.push(await WhepClient.connect({ endpoint: `${app.url}/whep/demo` }));
    t.teardown(() => Promise.all(clients.map((c) => c.close())));
    t.same(clients.map((c) => c.post?.status), Array(6).fill(201));
    const ports = new Set(clients.flatMap((c) => candidates(c.post?.body ?? '').map((f) => Number(f[5]))));
    const want = shards ? Array.from({ length: shards }, (_, k) => port + k) : [port];
    t.same([...ports].sort(), want, `the answers' candidates carry ${want.join(' and ')} only`);
    await Promise.all(clients.map((c) => c.waitFor(() => c.video.length > 30 && c.audio.length > 30, 10000, 'media on both tracks')));
    if (!shards) t.equal(udpSocketsOn(port), 1, 'one UDP socket for six viewers');
  });
}

t.test('webrtc.advertisedAddresses: a name is resolved, its addresses replace the gathered ones with the same port (advertiseOnly)', async (t) => {
  const app = await startTestApp({ webrtc: { advertisedAddresses: ['localhost'], advertiseOnly: true } });
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  const client = await WhepClient.connect({ endpoint: `${app.url}/whep/demo` });
  t.teardown(() => client.close());
  t.equal(client.post?.status, 201);
  const cands = candidates(client.post?.body ?? '');
  t.ok(cands.length > 0, 'the answer has candidates');
  t.ok(cands.every((f) => f[4] === '127.0.0.1' || f[4] === '::1'), `only localhost's addresses: ${cands.map((f) => f[4]).join(', ')}`);
  t.ok(cands.every((f) => f[0]!.endsWith('a0') || f[0]!.endsWith('a1')), 'each is an advertised twin, none a gathered one');
  await client.waitFor(() => client.video.length > 20, 8000, 'media through the advertised candidate');
});
