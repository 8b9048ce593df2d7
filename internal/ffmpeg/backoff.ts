/** Restart backoff: doubles from min to max, back to min after a run that lasted long enough. */

/** Options for {@link RestartBackoff}. */
export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  /** A run at least this long counts as healthy and resets the delay. */
  healthyAfterMs?: number;
}

/** Computes the wait before the next FFmpeg start. */
export class RestartBackoff {
  readonly #min: number;
  readonly #max: number;
  readonly #healthyAfter: number;
  #attempt = 0;

  constructor(options: BackoffOptions) {
    this.#min = options.minMs;
    this.#max = options.maxMs;
    this.#healthyAfter = options.healthyAfterMs ?? 30_000;
  }

  /** Delay before the next start, given how long the last run lasted. */
  next(lastUptimeMs: number): number {
    if (lastUptimeMs >= this.#healthyAfter) this.#attempt = 0;
    const delay = Math.min(this.#max, this.#min * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return delay;
  }

  /** Restarts counted since the last healthy run. */
  get attempts(): number {
    return this.#attempt;
  }
}
