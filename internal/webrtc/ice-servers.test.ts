import t from 'tap';
import { iceServerLinks, toRtcIceServers } from './ice-servers.js';

t.test('toRtcIceServers() converts STUN URLs with default and explicit ports', async (t) => {
  t.same(toRtcIceServers(['stun:stun.example.org:19302', 'stun:stun.example.org', 'stuns:stun.example.org']), [
    { hostname: 'stun.example.org', port: 19302 },
    { hostname: 'stun.example.org', port: 3478 },
    { hostname: 'stun.example.org', port: 5349 },
  ]);
  t.same(toRtcIceServers(['stun:[::1]:3479']), [{ hostname: '::1', port: 3479 }], 'bracketed IPv6 host');
});

t.test('toRtcIceServers() converts TURN over UDP, TCP and TLS with credentials', async (t) => {
  const servers = toRtcIceServers([
    {
      urls: ['turn:turn.example.org:3478', 'turn:turn.example.org:3478?transport=udp', 'turn:turn.example.org?transport=tcp', 'turns:turn.example.org:443?transport=tcp', 'turns:turn.example.org'],
      username: 'alice',
      credential: 's3cret',
    },
  ]);
  const cred = { username: 'alice', password: 's3cret' };
  t.same(servers, [
    { hostname: 'turn.example.org', port: 3478, relayType: 'TurnUdp', ...cred },
    { hostname: 'turn.example.org', port: 3478, relayType: 'TurnUdp', ...cred },
    { hostname: 'turn.example.org', port: 3478, relayType: 'TurnTcp', ...cred },
    { hostname: 'turn.example.org', port: 443, relayType: 'TurnTls', ...cred },
    { hostname: 'turn.example.org', port: 5349, relayType: 'TurnTls', ...cred },
  ]);
});

t.test('toRtcIceServers() takes a single urls string and omits absent credentials', async (t) => {
  const [s] = toRtcIceServers([{ urls: 'turn:10.0.0.1:3478' }]);
  t.same(s, { hostname: '10.0.0.1', port: 3478, relayType: 'TurnUdp' });
  t.notOk(s && 'username' in s);
  t.notOk(s && 'password' in s);
});

t.test('toRtcIceServers() skips URLs it cannot parse', async (t) => {
  t.same(toRtcIceServers(['http://stun.example.org', 'stun:', 'turn:host:notaport', 'turn:host?transport=sctp']), []);
  t.same(toRtcIceServers([]), []);
  t.same(toRtcIceServers(['stun:ok.example', 'bogus']), [{ hostname: 'ok.example', port: 3478 }]);
});

t.test('iceServerLinks() gives one Link value per URL with rel="ice-server"', async (t) => {
  t.same(iceServerLinks(['stun:stun.example.org:19302', 'stun:stun2.example.org']), [
    '<stun:stun.example.org:19302>; rel="ice-server"',
    '<stun:stun2.example.org>; rel="ice-server"',
  ]);
  t.same(iceServerLinks([]), []);
});

t.test('iceServerLinks() adds username, credential and credential-type for TURN', async (t) => {
  const links = iceServerLinks([
    'stun:stun.example.org',
    { urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:443?transport=tcp'], username: 'alice', credential: 's3cret' },
  ]);
  t.equal(links.length, 3);
  t.equal(links[0], '<stun:stun.example.org>; rel="ice-server"');
  t.equal(links[1], '<turn:turn.example.org:3478?transport=udp>; rel="ice-server"; username="alice"; credential="s3cret"; credential-type="password"');
  t.equal(links[2], '<turns:turn.example.org:443?transport=tcp>; rel="ice-server"; username="alice"; credential="s3cret"; credential-type="password"');
});

t.test('iceServerLinks() escapes quotes and backslashes in credentials', async (t) => {
  const [link] = iceServerLinks([{ urls: 'turn:t.example', username: 'a"b', credential: 'c\\d' }]);
  t.equal(link, '<turn:t.example>; rel="ice-server"; username="a\\"b"; credential="c\\\\d"; credential-type="password"');
});

t.test('iceServerLinks() leaves credentials out when the server has no username', async (t) => {
  t.same(iceServerLinks([{ urls: 'turn:t.example:3478' }]), ['<turn:t.example:3478>; rel="ice-server"']);
});
