import t from 'tap';
import { Hono } from 'hono';
import { silentLogger } from '../log/index.js';
import { httpErrorHandler } from '../whep/index.js';
import { adminRoutes } from './routes.js';
import type { AdminRoutesOptions } from './routes.js';

/** The admin sub-app mounted as app.ts mounts it: on a root whose one onError answers its refusals. */
function root(o: Partial<AdminRoutesOptions> = {}): Hono {
  const app = new Hono();
  app.onError(httpErrorHandler(silentLogger()));
  app.route('/', adminRoutes({ streams: () => [], sessions: () => [], restartStream: () => false, metrics: async () => ({ body: '', contentType: 'text/plain' }), ...o }));
  return app;
}

t.test('adminRoutes() /api without admin.token: 401 through the root error handler', async (t) => {
  const res = await root().request('/api/streams');
  t.equal(res.status, 401);
  t.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.equal(res.headers.get('www-authenticate'), 'Bearer realm="whepd"');
  t.equal(await res.text(), 'admin API disabled: set admin.token in the config\n');
});

t.test('adminRoutes() wrong token: 401 invalid_token; unknown session or stream: 404', async (t) => {
  const app = root({ token: 'secret-token' });
  const wrong = await app.request('/api/streams', { headers: { Authorization: 'Bearer nope' } });
  t.equal(wrong.status, 401);
  t.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="whepd", error="invalid_token"');
  t.equal(await wrong.text(), 'missing or wrong bearer token\n');
  const auth = { headers: { Authorization: 'Bearer secret-token' } };
  const kick = await app.request('/api/sessions/none', { method: 'DELETE', ...auth });
  t.equal(kick.status, 404);
  t.equal(await kick.text(), 'no such session\n');
  const restart = await app.request('/api/streams/nope/restart', { method: 'POST', ...auth });
  t.equal(restart.status, 404);
  t.equal(await restart.text(), 'no such stream, or it is not running\n');
  t.equal((await app.request('/api/streams', auth)).status, 200);
});

t.test('adminRoutes() a failing metrics scrape is a 500 that leaks nothing', async (t) => {
  const res = await root({ metrics: () => Promise.reject(new Error('registry exploded')) }).request('/metrics');
  t.equal(res.status, 500);
  t.equal(await res.text(), 'internal error\n');
});

t.test('adminRoutes() /api/drain: token required; POST drains, GET reads, DELETE undoes, 503 once shutting down', async (t) => {
  let draining = false;
  let closing = false;
  const drain = {
    start: () => void (draining = true),
    stop: () => (closing ? false : ((draining = false), true)),
    state: () => ({ draining, sessions: 3 }),
  };
  const app = root({ token: 'secret-token', drain });
  t.equal((await app.request('/api/drain', { method: 'POST' })).status, 401, 'no token, no drain');
  t.equal(draining, false);
  const auth = { headers: { Authorization: 'Bearer secret-token' } };
  const on = await app.request('/api/drain', { method: 'POST', ...auth });
  t.equal(on.status, 200);
  t.same(await on.json(), { draining: true, sessions: 3 });
  t.same(await (await app.request('/api/drain', auth)).json(), { draining: true, sessions: 3 });
  const off = await app.request('/api/drain', { method: 'DELETE', ...auth });
  t.equal(off.status, 200);
  t.same(await off.json(), { draining: false, sessions: 3 });
  closing = true;
  draining = true;
  const refused = await app.request('/api/drain', { method: 'DELETE', ...auth });
  t.equal(refused.status, 503);
  t.ok(refused.headers.get('retry-after'));
  t.equal(await refused.text(), 'whepd is shutting down: the drain cannot be undone\n');
  t.equal((await root({ token: 'secret-token' }).request('/api/drain', { method: 'POST', ...auth })).status, 404, 'without drain control');
});
