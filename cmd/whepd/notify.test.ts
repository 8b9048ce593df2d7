/** systemd readiness: whepd sends READY=1 once it serves and STOPPING=1 on SIGTERM (NOTIFY_SOCKET). */
import t from 'tap';
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WHEPD_READY_WAIT_MS, WhepdProcess, freePort } from '../../internal/testkit/index.js';

// Node has no unix datagram sockets, so a few lines of Python stand in for systemd's notify socket.
const listener = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
print("listening", flush=True)
while True:
    data = s.recv(4096)
    print(data.decode().replace("\\n", " "), flush=True)
`;

t.test('whepd notifies READY=1 after it listens and STOPPING=1 on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whepd-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socketPath = join(dir, 'notify.sock');
  const sink = execa('python3', ['-c', listener, socketPath], { reject: false, buffer: false });
  t.teardown(() => {
    sink.kill('SIGKILL');
  });
  const lines: string[] = [];
  sink.stdout?.setEncoding('utf8');
  sink.stdout?.on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
  const until = async (cond: () => boolean, ms: number, what: string) => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; got ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await until(() => lines.includes('listening'), 10000, 'the notify socket');

  const port = await freePort();
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ http: { listen: `127.0.0.1:${port}` }, webrtc: { bindAddress: '127.0.0.1' }, streams: [{ id: 'demo', input: 'fixtures/media/demo.mp4', loop: true }] }));
  const whepd = WhepdProcess.spawn(file, `http://127.0.0.1:${port}`, { NOTIFY_SOCKET: socketPath });
  t.teardown(() => whepd.kill());
  // On a timeout, say whether HTTP was up (READY=1 lost) or whepd had not started (slow start).
  await until(() => lines.some((l) => l.includes('READY=1')), WHEPD_READY_WAIT_MS, 'READY=1').catch(async (err: Error) => {
    const health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
    throw new Error(`${err.message}; /healthz ${health?.status ?? 'unreachable'}; whepd's log:\n${whepd.log}`);
  });
  const ready = lines.find((l) => l.includes('READY=1'))!;
  t.match(ready, new RegExp(`MAINPID=${whepd.proc.pid}`), 'names whepd as the main PID');
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  t.equal(health.status, 200, 'HTTP is listening when READY=1 arrives');
  whepd.proc.kill('SIGTERM');
  await until(() => lines.some((l) => l.includes('STOPPING=1')), 5000, 'STOPPING=1');
  t.equal((await whepd.proc).exitCode, 0);
});
