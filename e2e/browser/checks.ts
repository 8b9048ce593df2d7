/** PASS/FAIL bookkeeping: each check is bounded and prints one line. */

/** Thrown by a check to fail with a sentence. */
export class CheckFailure extends Error {}

/** Collects results; `summary()` gives `<label>: N passed, N failed`. */
export class Checks {
  passed = 0;
  failed = 0;

  readonly label: string;

  constructor(label = 'browser') {
    this.label = label;
  }

  /** Runs `fn` with a time limit; a thrown error or a timeout is a FAIL. */
  async run(name: string, timeoutMs: number, fn: () => Promise<string>): Promise<boolean> {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const detail = await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new CheckFailure(`timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      this.passed++;
      console.log(`PASS ${name} (${((Date.now() - started) / 1000).toFixed(1)} s): ${detail}`);
      return true;
    } catch (err) {
      this.failed++;
      console.log(`FAIL ${name} (${((Date.now() - started) / 1000).toFixed(1)} s): ${err instanceof Error ? err.message : String(err)}`);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The script's last line. */
  summary(): string {
    return `${this.label}: ${this.passed} passed, ${this.failed} failed`;
  }
}

/** Fails the current check unless `cond`. */
export function expect(cond: boolean, message: string): asserts cond {
  if (!cond) throw new CheckFailure(message);
}

/** Calls `read` every 100 ms until `cond` holds; after `timeoutMs` throws `why(last value)`. */
export async function waitUntil<T>(read: () => Promise<T>, cond: (v: T) => boolean, timeoutMs: number, why: (v: T) => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (cond(v)) return v;
    if (Date.now() > deadline) throw new CheckFailure(why(v));
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Median of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

/**
 * Reads up to `tries` windows with `read` and returns the first that `judge` accepts (does not
 * throw), else the last one read; the caller judges what it gets, so a failure is reported as
 * before. For rates measured on a shared 2-core box: one window can fall short while other
 * processes hold the cores (9.8 fps and 79 % concealed audio in one Firefox window at load
 * average 11), and the next is at full rate.
 */
export async function firstGoodWindow<T>(read: () => Promise<T>, judge: (w: T) => unknown, tries: number): Promise<{ value: T; window: number }> {
  for (let window = 1; ; window++) {
    const value = await read();
    if (window >= tries) return { value, window };
    try {
      judge(value);
      return { value, window };
    } catch {
      // short of the bar: read the next window
    }
  }
}
