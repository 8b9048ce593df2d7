import t from 'tap';
import { connect } from 'node:net';
import { AgentServer, agentLine, freePercent, waitForSessionsToLeave } from './index.js';

function read(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const s = connect({ host, port });
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.once('end', () => resolve(text));
    s.once('error', reject);
  });
}

t.test('freePercent() weights follow free room: floor, at least 1% while a slot is free, 0% when full', async (t) => {
  t.equal(freePercent(0, 30), 100);
  t.equal(freePercent(10, 30), 66, '20 of 30 free is 66.7%, floored');
  t.equal(freePercent(15, 30), 50);
  t.equal(freePercent(29, 30), 3);
  t.equal(freePercent(999, 1000), 1, 'one free slot of 1000 (0.1%) still says 1%');
  t.equal(freePercent(30, 30), 0, 'full');
  t.equal(freePercent(35, 30), 0, 'over a cap lowered by a reload');
  t.equal(freePercent(0, 0), 0);
});

t.test('agentLine() says up ready <w>% while serving and drain while draining', async (t) => {
  t.equal(agentLine({ used: 0, total: 30, draining: false }), 'up ready 100%\n');
  t.equal(agentLine({ used: 20, total: 30, draining: false }), 'up ready 33%\n');
  t.equal(agentLine({ used: 30, total: 30, draining: false }), 'up ready 0%\n');
  t.equal(agentLine({ used: 3, total: 30, draining: true }), 'drain\n');
});

t.test('AgentServer.listen() answers one line per connection and closes it', async (t) => {
  let used = 0;
  const agent = await AgentServer.listen({ host: '127.0.0.1', port: 0, line: () => agentLine({ used, total: 4, draining: used > 3 }) });
  t.teardown(() => agent.close());
  const { host, port } = agent.address;
  t.equal(host, '127.0.0.1', 'bound to the address asked for, not every interface');
  t.equal(await read(host, port), 'up ready 100%\n');
  used = 3;
  t.equal(await read(host, port), 'up ready 25%\n', 'computed at each connection');
  used = 4;
  t.equal(await read(host, port), 'drain\n');
});

t.test('AgentServer.close() is idempotent, emits close once and frees the port', async (t) => {
  const agent = await AgentServer.listen({ host: '127.0.0.1', port: 0, line: () => 'up ready 100%\n' });
  const { port } = agent.address;
  let closes = 0;
  agent.on('close', () => closes++);
  agent.close();
  agent.close();
  t.equal(closes, 1);
  t.ok(agent.closed);
  await t.rejects(read('127.0.0.1', port), /ECONNREFUSED/);
  const again = await AgentServer.listen({ host: '127.0.0.1', port, line: () => 'x\n' });
  again.close();
});

t.test('AgentServer.listen() rejects when the port is taken', async (t) => {
  const agent = await AgentServer.listen({ host: '127.0.0.1', port: 0, line: () => 'x\n' });
  t.teardown(() => agent.close());
  await t.rejects(AgentServer.listen({ host: '127.0.0.1', port: agent.address.port, line: () => 'x\n' }), /EADDRINUSE/);
});

t.test('waitForSessionsToLeave() resolves true when the last leaves, false at the timeout or on stop', async (t) => {
  t.equal(await waitForSessionsToLeave(() => 0, 1000), true, 'none to wait for');
  let n = 2;
  setTimeout(() => (n = 0), 60);
  const t0 = Date.now();
  t.equal(await waitForSessionsToLeave(() => n, 5000, () => false, 10), true);
  t.ok(Date.now() - t0 < 1000, 'as soon as they left, not at the timeout');
  t.equal(await waitForSessionsToLeave(() => 1, 50, () => false, 10), false, 'timeout');
  let stopped = false;
  setTimeout(() => (stopped = true), 30);
  t.equal(await waitForSessionsToLeave(() => 1, 5000, () => stopped, 10), false, 'stop() gives up early');
});
