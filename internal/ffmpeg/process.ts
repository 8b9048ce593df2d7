/** One FFmpeg run: spawned with execa (argv, no shell), stderr tail kept, stopped by PID with a grace. */
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';

/** How a run ended. */
export interface FfmpegExit {
  code: number | null;
  signal: string | null;
  /** One sentence for state and logs. */
  reason: string;
  /** The last stderr lines, oldest first. */
  stderrTail: string[];
  /** How long the process ran, in ms. */
  uptimeMs: number;
}

/** Options for {@link FfmpegProcess.spawn}. */
export interface FfmpegProcessOptions {
  ffmpegPath: string;
  args: readonly string[];
  /** Lines of stderr to keep for explaining an exit. */
  tailLines?: number;
  /**
   * Have the kernel send FFmpeg SIGTERM if whepd dies, even by SIGKILL (PR_SET_PDEATHSIG via
   * util-linux setpriv, which then execs FFmpeg in the same process). Default: on when
   * /usr/bin/setpriv exists.
   */
  dieWithParent?: boolean;
}

const SETPRIV = '/usr/bin/setpriv';

/** The command and argv that start FFmpeg, wrapped in setpriv when it should die with whepd. */
export function spawnCommand(ffmpegPath: string, args: readonly string[], dieWithParent: boolean): [string, string[]] {
  if (!dieWithParent) return [ffmpegPath, [...args]];
  return [SETPRIV, ['--pdeathsig', 'SIGTERM', '--', ffmpegPath, ...args]];
}

/** A running FFmpeg child. Emits `exit` (FfmpegExit) once; `exited` resolves with the same value. */
export class FfmpegProcess extends EventEmitter {
  readonly exited: Promise<FfmpegExit>;
  readonly #child: ResultPromise;
  readonly #tail: string[] = [];
  readonly #tailLines: number;
  readonly #startedAt = Date.now();
  #partial = '';
  #stopping = false;
  #killTimer: NodeJS.Timeout | undefined;

  private constructor(options: FfmpegProcessOptions) {
    super();
    this.#tailLines = options.tailLines ?? 20;
    const [file, argv] = spawnCommand(options.ffmpegPath, options.args, options.dieWithParent ?? existsSync(SETPRIV));
    this.#child = execa(file, argv, {
      reject: false,
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'pipe',
      buffer: false,
      // execa kills the child if whepd exits normally or on a catchable signal.
      cleanup: true,
      windowsHide: true,
    });
    this.#child.stderr?.setEncoding('utf8');
    this.#child.stderr?.on('data', (chunk: string) => this.#onStderr(chunk));
    this.exited = this.#child.then((r) => this.#finish(r as unknown as { exitCode?: number; signal?: string; code?: string; originalMessage?: string }));
  }

  /** Starts FFmpeg; failure to start (missing binary) shows up as an `exit` with a reason. */
  static spawn(options: FfmpegProcessOptions): FfmpegProcess {
    return new FfmpegProcess(options);
  }

  /** The child's PID (undefined if it never started). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Last stderr lines so far. */
  get stderrTail(): readonly string[] {
    return this.#tail;
  }

  #onStderr(chunk: string): void {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      const trimmed = line.trimEnd();
      if (!trimmed) continue;
      this.#tail.push(trimmed);
      if (this.#tail.length > this.#tailLines) this.#tail.shift();
    }
    if (this.#partial.length > 4096) this.#partial = this.#partial.slice(-4096);
  }

  #finish(r: { exitCode?: number; signal?: string; code?: string; originalMessage?: string }): FfmpegExit {
    if (this.#killTimer) clearTimeout(this.#killTimer);
    if (this.#partial.trim()) this.#tail.push(this.#partial.trim());
    const code = r.exitCode ?? null;
    const signal = r.signal ?? null;
    let reason: string;
    // setpriv reports a missing FFmpeg as exit 127 "failed to execute".
    const missing = r.code === 'ENOENT' || (code === 127 && this.#tail.some((l) => /failed to execute/.test(l)));
    if (missing) reason = 'ffmpeg is not installed (apt-get install ffmpeg)';
    else if (this.#stopping) reason = 'stopped by whepd';
    else if (signal) reason = `ffmpeg was killed by ${signal}`;
    else if (code === 0) reason = 'ffmpeg exited normally (the input ended)';
    else reason = explainStderr(this.#tail) ?? `ffmpeg exited with code ${code}`;
    const exit: FfmpegExit = { code, signal, reason, stderrTail: [...this.#tail], uptimeMs: Date.now() - this.#startedAt };
    this.emit('exit', exit);
    return exit;
  }

  /**
   * Asks FFmpeg to stop (SIGTERM), then SIGKILL after `graceMs`. Idempotent; returns at once.
   * Await `exited` to know it is gone.
   */
  stop(graceMs: number): void {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGTERM');
    this.#killTimer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    this.#killTimer.unref();
  }
}

/** Turns FFmpeg's stderr into one sentence for the most common failures. */
export function explainStderr(lines: readonly string[]): string | undefined {
  const text = lines.join('\n');
  if (/Stream map '0:a:0' matches no streams/.test(text)) return 'the input has no audio stream (whepd needs one video and one audio stream)';
  if (/Stream map '0:v:0' matches no streams/.test(text)) return 'the input has no video stream (whepd needs one video and one audio stream)';
  // The sending ports whepd reserved were taken before FFmpeg bound them (see the ingest): the
  // next run reserves new ones.
  if (/bind failed: Address already in use/.test(text) && /localrtpport=\d+.*: Input\/output error/.test(text)) return 'ffmpeg could not bind its RTP sending port (another process took it); retrying with new ports';
  const last = lines.at(-1);
  return last ? `ffmpeg failed: ${last}` : undefined;
}
