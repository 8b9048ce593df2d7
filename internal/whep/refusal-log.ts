/**
 * Logs refused requests (every 4xx and typed 5xx) at info, so an operator sees why a player gets
 * nothing, without letting a misbehaving client flood the log: at most one line per reason per
 * second, the next line carrying how many were suppressed meanwhile.
 */
import type { Logger } from 'pino';

/** One refusal as the error edge saw it. */
export interface Refusal {
  status: number;
  code: string;
  /** The one-sentence reason the client also got. */
  reason: string;
  method: string;
  path: string;
  /** The stream named by a /whep/<stream> path, if any. */
  stream: string | undefined;
  client: string | undefined;
}

const INTERVAL_MS = 1000;
// Reasons carry stream and session names, so clients can make new ones: the table is capped and
// forgets everything when full (a suppressed count may then be lost; a line never is).
const MAX_REASONS = 1000;

/** Rate-limited refusal logger. */
export class RefusalLog {
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #seen = new Map<string, { at: number; suppressed: number }>();

  constructor(log: Logger, now: () => number = () => performance.now()) {
    this.#log = log;
    this.#now = now;
  }

  /** Logs `r` unless its reason was logged less than a second ago (then counts it). */
  note(r: Refusal): void {
    const key = `${r.status} ${r.reason}`;
    const now = this.#now();
    const seen = this.#seen.get(key);
    if (seen && now - seen.at < INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    if (!seen && this.#seen.size >= MAX_REASONS) this.#seen.clear();
    this.#seen.set(key, { at: now, suppressed: 0 });
    const fields = { status: r.status, code: r.code, method: r.method, path: r.path, stream: r.stream, client: r.client, ...(suppressed > 0 ? { suppressed } : {}) };
    this.#log.info(fields, `refused ${r.method} ${r.path}: ${r.status} ${r.reason}`);
  }
}
