import t from 'tap';
import { ConfigError } from '../errors/index.js';
import { parseConfig } from './load.js';

const minimal = () => ({ streams: [{ id: 'demo', input: 'fixtures/media/demo.mp4' }] });

function problemsOf(raw: unknown): { path: string; message: string }[] {
  try {
    parseConfig(raw, 'test.json');
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

t.test('parseConfig() cluster: no agent and no drain wait by default', async (t) => {
  const cfg = parseConfig(minimal());
  t.equal(cfg.cluster.agentPort, undefined, 'unset: no agent listener');
  t.equal(cfg.cluster.drainTimeoutS, 0, 'SIGTERM closes at once, as before');
  t.ok(Object.isFrozen(cfg.cluster));
  const set = parseConfig({ ...minimal(), cluster: { agentPort: 8890, drainTimeoutS: 600 } });
  t.same(set.cluster, { agentPort: 8890, drainTimeoutS: 600 });
});

t.test('parseConfig() cluster: bad values are named by their JSON path', async (t) => {
  t.same(problemsOf({ ...minimal(), cluster: { agentPort: 70000 } }), [{ path: '/cluster/agentPort', message: 'must be <= 65535' }]);
  t.same(problemsOf({ ...minimal(), cluster: { agentPort: '8890' } }), [{ path: '/cluster/agentPort', message: 'must be integer' }]);
  t.same(problemsOf({ ...minimal(), cluster: { drainTimeoutS: -1 } }), [{ path: '/cluster/drainTimeoutS', message: 'must be >= 0' }]);
  t.same(problemsOf({ ...minimal(), cluster: { agentport: 1 } }), [{ path: '/cluster/agentport', message: 'is not a known key' }]);
  t.same(problemsOf({ ...minimal(), http: { listen: '10.0.0.1:8889' }, cluster: { agentPort: 8889 } }), [
    { path: '/cluster/agentPort', message: 'must differ from the port of http.listen (8889)' },
  ]);
});
