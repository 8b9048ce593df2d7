import t from 'tap';
import { pino } from 'pino';
import { createLogger, prettyAvailable } from './index.js';

const missing = (id: string): string => {
  throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
};

t.test('prettyAvailable() says whether pino-pretty resolves', async (t) => {
  t.equal(prettyAvailable(missing), false);
  t.equal(prettyAvailable(() => '/x/pino-pretty/index.js'), true);
});

t.test('createLogger() on a terminal without pino-pretty falls back to JSON lines', async (t) => {
  const stream = (log: object) => (log as Record<symbol, { constructor: { name: string } } | undefined>)[pino.symbols.streamSym]?.constructor.name;
  // pino-pretty runs as a transport in a worker thread (ThreadStream); JSON lines go to stdout (SonicBoom).
  t.equal(stream(createLogger('info', true, missing)), 'SonicBoom', 'JSON lines without pino-pretty');
  t.equal(stream(createLogger('info', false)), 'SonicBoom', 'JSON lines off a terminal');
  const pretty = createLogger('info', true);
  t.equal(stream(pretty), 'ThreadStream', 'pino-pretty when it is installed (here: a devDependency)');
  (pretty as unknown as Record<symbol, { end(): void }>)[pino.symbols.streamSym]?.end();
});
