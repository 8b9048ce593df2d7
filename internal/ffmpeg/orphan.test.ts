/** A whepd killed with SIGKILL must not leave FFmpeg behind (issue: no orphans holding ports or CPU). */
import t from 'tap';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { processRunning } from '../testkit/index.js';
import { FfmpegProcess, spawnCommand } from './index.js';

t.test('spawnCommand() wraps FFmpeg in setpriv --pdeathsig only when asked', async (t) => {
  t.same(spawnCommand('ffmpeg', ['-i', 'x'], false), ['ffmpeg', ['-i', 'x']]);
  t.same(spawnCommand('ffmpeg', ['-i', 'x'], true), ['/usr/bin/setpriv', ['--pdeathsig', 'SIGTERM', '--', 'ffmpeg', '-i', 'x']]);
});

t.test('FfmpegProcess.spawn() under setpriv reports a missing binary as not installed', async (t) => {
  const proc = FfmpegProcess.spawn({ ffmpegPath: '/nonexistent/ffmpeg', args: [], dieWithParent: true });
  const exit = await proc.exited;
  t.match(exit.reason, /not installed/);
});

/** Starts a Node parent that spawns FFmpeg as whepd does; resolves with both processes. */
async function parentWithFfmpeg(dieWithParent: boolean) {
  // -nostats and -loglevel error: FFmpeg writes nothing, so a closed stderr pipe (SIGPIPE) cannot
  // be what ends it; only the parent-death signal can.
  const script = `
    const { FfmpegProcess } = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).href)});
    const p = FfmpegProcess.spawn({ dieWithParent: ${dieWithParent}, ffmpegPath: 'ffmpeg', args: ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-f', 'null', '-'] });
    setTimeout(() => console.log(p.pid), 300);
    setInterval(() => {}, 1000);
  `;
  const parent = execa('node', ['--import=tsx', '--input-type=module', '-e', script], { reject: false, stdout: 'pipe', buffer: false });
  const pid = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('parent did not print the FFmpeg pid within 10 s')), 10000);
    parent.stdout?.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve(Number(String(d).trim()));
    });
  });
  return { parent, pid };
}

async function runningAfter(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (processRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return processRunning(pid);
}

t.test('FFmpeg exits within 2 s when its parent is killed with SIGKILL', { skip: !existsSync('/usr/bin/setpriv') && 'no setpriv' }, async (t) => {
  const { parent, pid } = await parentWithFfmpeg(true);
  t.teardown(() => {
    parent.kill('SIGKILL');
    if (processRunning(pid)) process.kill(pid, 'SIGKILL');
  });
  t.ok(processRunning(pid), `ffmpeg ${pid} runs`);
  parent.kill('SIGKILL');
  t.notOk(await runningAfter(pid, 2000), 'ffmpeg is gone within 2 s of its parent being SIGKILLed');
});

t.test('without the parent-death signal the same FFmpeg would be orphaned (control)', async (t) => {
  const { parent, pid } = await parentWithFfmpeg(false);
  t.teardown(() => {
    parent.kill('SIGKILL');
    if (processRunning(pid)) process.kill(pid, 'SIGKILL');
  });
  parent.kill('SIGKILL');
  t.ok(await runningAfter(pid, 1000), 'ffmpeg outlives its parent');
});
