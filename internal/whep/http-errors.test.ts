import t from 'tap';
import { Hono } from 'hono';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { NotFoundError, OverloadedError, UnauthorizedError } from '../errors/index.js';
import { httpErrorHandler } from './http-errors.js';

/** A root app with the one error handler, a route that throws `err`, and the log lines it wrote. */
function throwing(err: unknown) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk)) as Record<string, unknown>), done()) });
  const app = new Hono();
  app.onError(httpErrorHandler(pino({ level: 'debug' }, sink)));
  const sub = new Hono();
  sub.get('/x', () => {
    throw err;
  });
  app.route('/', sub);
  return { app, lines };
}

t.test('httpErrorHandler() answers a typed 4xx from a sub-app with its text body, logged at info', async (t) => {
  const { app, lines } = throwing(new NotFoundError('no such session'));
  const res = await app.request('/x');
  t.equal(res.status, 404);
  t.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.equal(await res.text(), 'no such session\n');
  t.match(lines, [{ level: 30, msg: 'refused GET /x: 404 no such session', status: 404, code: 'NOT_FOUND', method: 'GET', path: '/x' }]);
  t.notOk(lines[0]?.['err'], 'a client mistake carries no stack');
});

t.test('httpErrorHandler() sets WWW-Authenticate from the 401 and Retry-After from the error', async (t) => {
  const res = await throwing(new UnauthorizedError('missing or wrong bearer token', { bearerError: 'invalid_token' })).app.request('/x');
  t.equal(res.status, 401);
  t.equal(res.headers.get('www-authenticate'), 'Bearer realm="whepd", error="invalid_token"');
  t.equal((await throwing(new UnauthorizedError('no token')).app.request('/x')).headers.get('www-authenticate'), 'Bearer realm="whepd"');
  const { app, lines } = throwing(new OverloadedError('VIEWER_CAP', 'full'));
  const busy = await app.request('/x');
  t.equal(busy.status, 503);
  t.equal(busy.headers.get('retry-after'), '5');
  t.match(lines, [{ level: 30, msg: 'refused GET /x: 503 full', status: 503, code: 'VIEWER_CAP' }], 'a refusal under load is logged like any refusal');
});

t.test('httpErrorHandler() turns an unknown error into a logged 500 that leaks nothing', async (t) => {
  const { app, lines } = throwing(new Error('secret path /etc/whepd/key.pem'));
  const res = await app.request('/x');
  t.equal(res.status, 500);
  t.equal(await res.text(), 'internal error\n');
  t.match(lines, [{ level: 50, msg: 'unhandled error in HTTP handler', err: { message: 'secret path /etc/whepd/key.pem' } }]);
});

t.test('httpErrorHandler() logs one line per reason per second, then says how many it suppressed', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk)) as Record<string, unknown>), done()) });
  const app = new Hono();
  app.onError(httpErrorHandler(pino({ level: 'info' }, sink)));
  app.post('/whep/:stream', (c) => {
    throw new NotFoundError(`no stream named ${c.req.param('stream')}`);
  });
  for (let i = 0; i < 50; i++) await app.request('/whep/nope', { method: 'POST' });
  await app.request('/whep/other', { method: 'POST' });
  t.equal(lines.length, 2, 'fifty refusals for one reason log one line; another reason has its own');
  t.match(lines[0], { level: 30, status: 404, stream: 'nope', method: 'POST', msg: 'refused POST /whep/nope: 404 no stream named nope' });
  t.match(lines[1], { stream: 'other' });
  await new Promise((r) => setTimeout(r, 1050));
  await app.request('/whep/nope', { method: 'POST' });
  t.match(lines[2], { stream: 'nope', suppressed: 49 }, 'the next line a second later counts the 49 suppressed');
});
