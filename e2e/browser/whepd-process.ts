/** Starts the real whepd binary on a temp config and ends it by PID. */
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running whepd. */
export interface Whepd {
  url: string;
  pid: number;
  logPath: string;
  stop: () => Promise<void>;
}

/**
 * whepd's config for a browser e2e run (E2E_SHARDS sets webrtc.shards). HTTP is always on
 * 127.0.0.1; `bindAddress` is where the viewers' peers bind (Firefox needs an address that is not
 * loopback: e2e/firefox/run.sh).
 */
export function whepdConfig(port: number, viewersPerStream: number, streams: object[], bindAddress = '127.0.0.1'): object {
  return {
    http: { listen: `127.0.0.1:${port}` },
    // E2E_SHARDS puts the viewers' peers in that many shard processes (webrtc.shards).
    webrtc: { bindAddress, iceServers: [], shards: Number(process.env.E2E_SHARDS ?? 0) },
    limits: { viewersPerStream, viewersTotal: 64 },
    log: { level: 'info' },
    // A 5 s restart delay keeps the stream "not live" long enough for the player to say so.
    ffmpeg: { restartMinMs: 5000, restartMaxMs: 10000 },
    streams,
  };
}

/** Spawns `node <main> --config <temp>` and waits (bounded) until /readyz says every stream is live. */
export async function startWhepd(main: string, config: object, port: number, timeoutMs = 30000): Promise<Whepd> {
  const dir = mkdtempSync(join(tmpdir(), 'whepd-e2e-'));
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const logPath = join(dir, 'whepd.log');
  const log = createWriteStream(logPath);
  const child: ChildProcess = spawn(process.execPath, [main, '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  // The temp dir (config, log) goes with the process unless E2E_KEEP=1 asks to keep it.
  const forget = () => {
    if (process.env.E2E_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  };
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 8000);
      await exit;
      clearTimeout(t);
    }
    forget();
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      const tail = readFileSync(logPath, 'utf8').slice(-2000);
      forget();
      throw new Error(`whepd exited during start; its log ends:\n${tail}`);
    }
    try {
      const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      const tail = readFileSync(logPath, 'utf8').slice(-2000);
      await stop();
      throw new Error(`whepd not ready within ${timeoutMs} ms; its log ends:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (child.pid === undefined) throw new Error('whepd has no pid');
  return { url, pid: child.pid, logPath, stop };
}

/** PIDs of whepd's H264 FFmpeg children whose command line mentions `input` (not a VP8 fallback's). */
export function ffmpegChildren(whepdPid: number, input: string): number[] {
  let out = '';
  try {
    out = execFileSync('pgrep', ['-P', String(whepdPid), 'ffmpeg'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmdline.includes(input) && !cmdline.includes('libvpx');
      } catch {
        return false;
      }
    });
}
