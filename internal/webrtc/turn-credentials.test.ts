import t from 'tap';
import { createHmac } from 'node:crypto';
import { mintTurnCredential, turnIceServer } from './turn-credentials.js';
import { iceServerLinks } from './ice-servers.js';

t.test('mintTurnCredential() gives what coturn use-auth-secret checks: <expiry>:<id> and base64 HMAC-SHA1', async (t) => {
  const c = mintTurnCredential('s3cret', 3600, 'abc', 1_700_000_000_500);
  t.equal(c.username, '1700003600:abc', 'expiry = now (s) + ttl');
  t.equal(c.credential, createHmac('sha1', 's3cret').update('1700003600:abc').digest('base64'));
  // coturn's own documented example (turnserver.conf, "use-auth-secret"): secret "north", username "1600000000:joe".
  t.equal(mintTurnCredential('north', 0, 'joe', 1_600_000_000_000).credential, createHmac('sha1', 'north').update('1600000000:joe').digest('base64'));
});

t.test('turnIceServer() becomes one Link per URL with the minted credential, never the secret', async (t) => {
  const links = iceServerLinks([turnIceServer({ urls: ['turn:127.0.0.1:3478?transport=tcp', 'turns:127.0.0.1:5349'], secret: 'topsecret', ttlS: 60 }, 'sess1', 0)]);
  t.equal(links.length, 2);
  t.match(links[0], /^<turn:127\.0\.0\.1:3478\?transport=tcp>; rel="ice-server"; username="60:sess1"; credential="[A-Za-z0-9+/=]{28}"; credential-type="password"$/);
  t.notMatch(links.join(), /topsecret/);
});
