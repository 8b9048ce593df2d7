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

t.test('httpErrorHandler() answers a typed 4xx from a sub-app with its text body, logged at debug', async (t) => {
  const { app, lines } = throwing(new NotFoundError('no such session'));
  const res = await app.request('/x');
  t.equal(res.status, 404);
  t.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.equal(await res.text(), 'no such session\n');
  t.match(lines, [{ level: 20, msg: 'no such session', status: 404, code: 'NOT_FOUND', method: 'GET', path: '/x' }]);
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
  t.match(lines, [{ level: 50, msg: 'full', status: 503, err: { message: 'full' } }], '5xx at error with err');
});

t.test('httpErrorHandler() turns an unknown error into a logged 500 that leaks nothing', async (t) => {
  const { app, lines } = throwing(new Error('secret path /etc/whepd/key.pem'));
  const res = await app.request('/x');
  t.equal(res.status, 500);
  t.equal(await res.text(), 'internal error\n');
  t.match(lines, [{ level: 50, msg: 'unhandled error in HTTP handler', err: { message: 'secret path /etc/whepd/key.pem' } }]);
});
