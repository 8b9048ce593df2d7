/** The real whepd binary as a child (cmd/whepd/main.ts through tsx), for the tests of the binary. */
import { execa } from 'execa';

/**
 * How long the binary may take to answer `/readyz` 200 after it was spawned. Bounded but generous:
 * these tests are about signals, drain and sd_notify, not start speed, and the tap run's first
 * starts took 10-15 s and more in CI on a 2-core box, against 1-4 s usually (once by hand: 12.7 s
 * between "whepd listening" and "ffmpeg started"; cause not known yet, see docs/performance.md).
 */
export const WHEPD_READY_WAIT_MS = 45000;

/** One whepd process; its output (stdout and stderr) is kept as it comes, for failure messages. */
export class WhepdProcess {
  readonly proc;
  readonly base: string;
  readonly spawnedAt = Date.now();
  #log = '';

  private constructor(configFile: string, base: string, env: Record<string, string>) {
    this.base = base;
    this.proc = execa('node', ['--import=tsx', 'cmd/whepd/main.ts', '--config', configFile], { reject: false, all: true, buffer: true, env });
    this.proc.all?.on('data', (d: Buffer) => (this.#log += d.toString()));
  }

  /** Spawns whepd with `configFile`; `base` is the HTTP origin that config listens on. */
  static spawn(configFile: string, base: string, env: Record<string, string> = {}): WhepdProcess {
    return new WhepdProcess(configFile, base, env);
  }

  /** What whepd printed so far. */
  get log(): string {
    return this.#log;
  }

  /** SIGKILL if still running (a test's teardown). */
  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }

  /**
   * Resolves with the milliseconds from spawn to `/readyz` 200; rejects when whepd exits, or after
   * `timeoutMs` naming `/readyz`'s last answer, with whepd's log, so a failed start says where it stood.
   */
  async waitReady(timeoutMs = WHEPD_READY_WAIT_MS): Promise<number> {
    const deadline = this.spawnedAt + timeoutMs;
    for (;;) {
      const res = await fetch(`${this.base}/readyz`).catch(() => undefined);
      if (res?.status === 200) return Date.now() - this.spawnedAt;
      // An exited whepd never gets ready: say so now, not after the whole wait.
      if (this.proc.exitCode !== null) throw new Error(`whepd exited with code ${this.proc.exitCode} before it was ready; whepd's log:\n${this.#log}`);
      if (Date.now() > deadline) {
        const answer = res ? `${res.status} ${(await res.text()).trim()}` : 'unreachable';
        throw new Error(`whepd not ready within ${timeoutMs} ms: /readyz ${answer}; whepd's log:\n${this.#log}`);
      }
      await res?.body?.cancel();
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
