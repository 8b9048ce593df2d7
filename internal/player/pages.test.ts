/** The player pages through app.request(): no port, no browser. */
import t from 'tap';
import { playerRoutes } from './pages.js';
import type { ClientAssets } from './client-assets.js';

const built: ClientAssets = { ok: true, files: new Map([['player.mjs', 'export {};'], ['whep-client.mjs', ''], ['stats.mjs', '']]) };
const streams = () => [
  { id: 'demo', state: 'live', viewers: 2, lastError: undefined },
  { id: 'cam<1>', state: 'failed', viewers: 0, lastError: 'input has no audio stream' },
  { id: 'later', state: 'starting', viewers: 0, lastError: undefined },
];

t.test('GET / lists every stream with its state, viewers and a link', async (t) => {
  const res = await playerRoutes({ listStreams: streams, loadAssets: () => built }).request('/');
  t.equal(res.status, 200);
  const body = await res.text();
  t.match(body, /<a href="play\/demo">demo<\/a><\/td><td class="live">live<\/td><td>2<\/td>/);
  t.match(body, /cam&lt;1&gt;<\/a><\/td><td class="failed">failed<\/td>/, 'ids are escaped');
  t.match(body, /input has no audio stream/);
  t.match(body, /later<\/a><\/td><td class="starting">not live<\/td>/);
});

t.test('GET /play/:stream serves the page pointing at the same-origin endpoint', async (t) => {
  const res = await playerRoutes({ listStreams: streams, loadAssets: () => built }).request('/play/demo');
  t.equal(res.status, 200);
  const body = await res.text();
  t.match(body, /data-endpoint="\.\.\/whep\/demo"/);
  t.match(body, /<script type="module" src="\.\.\/player\/player\.mjs"><\/script>/);
  t.notMatch(body, /https?:\/\//, 'no external assets');
});

t.test('GET /player/:file serves only the built files', async (t) => {
  const app = playerRoutes({ listStreams: streams, loadAssets: () => built });
  const js = await app.request('/player/player.mjs');
  t.equal(js.status, 200);
  t.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
  t.equal((await app.request('/player/..%2Fpages.js')).status, 404);
});

t.test('a missing build answers 503 with the build command, and is picked up once built', async (t) => {
  let assets: ClientAssets = { ok: false, error: 'not built; build it with: npx tsc -p internal/player/client/tsconfig.json' };
  const app = playerRoutes({ listStreams: streams, loadAssets: () => assets });
  const res = await app.request('/play/demo');
  t.equal(res.status, 503);
  t.match(await res.text(), /npx tsc -p internal\/player\/client\/tsconfig\.json/);
  t.match(await (await app.request('/')).text(), /not built/);
  assets = built;
  t.equal((await app.request('/play/demo')).status, 200);
});
