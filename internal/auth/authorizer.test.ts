import t from 'tap';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { Authorizer } from './authorizer.js';
import { RateLimiter } from './rate-limit.js';

const GLOBAL = 'global-token-0123456789';
const STREAM = 'stream-token-0123456789';
const SECRET = 'a-shared-secret-of-at-least-32-bytes!!';

async function status(p: Promise<void>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    return (err as { status: number }).status;
  }
}

t.test('Authorizer.check() lets everything through when nothing is configured', async (t) => {
  const a = new Authorizer({ tokens: [], streamTokens: new Map() });
  t.equal(a.required('x'), false);
  t.equal(await status(a.check('x', undefined)), 200);
});

t.test('Authorizer.check() accepts global and per-stream tokens, refuses others with 401', async (t) => {
  const a = new Authorizer({ tokens: [GLOBAL], streamTokens: new Map([['cam', [STREAM]]]) });
  t.equal(await status(a.check('cam', `Bearer ${GLOBAL}`)), 200, 'global token');
  t.equal(await status(a.check('cam', `Bearer ${STREAM}`)), 200, 'stream token on its stream');
  t.equal(await status(a.check('other', `Bearer ${STREAM}`)), 401, 'stream token on another stream');
  t.equal(await status(a.check('cam', undefined)), 401, 'missing');
  t.equal(await status(a.check('cam', 'Basic abc')), 401, 'wrong scheme');
  t.equal(await status(a.check('cam', `Bearer ${GLOBAL}x`)), 401, 'wrong token');
});

t.test('Authorizer.check() verifies HS256 JWTs, their stream scope and expiry', async (t) => {
  const a = new Authorizer({ tokens: [], streamTokens: new Map(), jwt: { secret: SECRET, issuer: 'core' } });
  const key = new TextEncoder().encode(SECRET);
  const sign = (claims: Record<string, unknown>, exp = '1h', iss = 'core') =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer(iss).setIssuedAt().setExpirationTime(exp).sign(key);
  t.equal(await status(a.check('cam', `Bearer ${await sign({})}`)), 200, 'unscoped token');
  t.equal(await status(a.check('cam', `Bearer ${await sign({ streams: ['cam'] })}`)), 200, 'scoped to the stream');
  t.equal(await status(a.check('cam', `Bearer ${await sign({ stream: 'other' })}`)), 401, 'scoped to another stream');
  t.equal(await status(a.check('cam', `Bearer ${await sign({}, '-1m')}`)), 401, 'expired');
  t.equal(await status(a.check('cam', `Bearer ${await sign({}, '1h', 'someone-else')}`)), 401, 'wrong issuer');
  const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer('core').setExpirationTime('1h').sign(new TextEncoder().encode('another-secret-that-is-long-enough!!'));
  t.equal(await status(a.check('cam', `Bearer ${forged}`)), 401, 'wrong signature');
});

t.test('Authorizer.check() verifies RS256 JWTs with a public key', async (t) => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const a = new Authorizer({ tokens: [], streamTokens: new Map(), jwt: { publicKeyPem: await exportSPKI(publicKey) } });
  const token = await new SignJWT({ streams: ['cam'] }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('1h').sign(privateKey);
  t.equal(await status(a.check('cam', `Bearer ${token}`)), 200);
  t.equal(await status(a.check('x', `Bearer ${token}`)), 401);
});

t.test('RateLimiter.take() allows a burst, then 429 with Retry-After, then refills', async (t) => {
  const r = new RateLimiter({ perSecond: 2, burst: 3 });
  const now = 1_000_000;
  for (let i = 0; i < 3; i++) r.take('a', now);
  t.throws(() => r.take('a', now), { status: 429 });
  try {
    r.take('a', now);
  } catch (err) {
    t.equal((err as { retryAfter: number }).retryAfter, 1);
  }
  t.doesNotThrow(() => r.take('b', now), 'other clients are unaffected');
  t.doesNotThrow(() => r.take('a', now + 600), 'refilled after 0.6 s at 2/s');
});

t.test('RateLimiter keeps a bounded number of clients', async (t) => {
  const r = new RateLimiter({ perSecond: 1, burst: 1, maxClients: 100 });
  for (let i = 0; i < 1000; i++) r.take(`10.0.${i >> 8}.${i & 255}`, 0);
  t.equal(r.size, 100);
});

t.test('RateLimiter with perSecond 0 never limits', async (t) => {
  const r = new RateLimiter({ perSecond: 0, burst: 1 });
  for (let i = 0; i < 100; i++) r.take('a');
  t.equal(r.size, 0);
});
