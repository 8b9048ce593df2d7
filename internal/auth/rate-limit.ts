/**
 * Per-client token buckets. The map of clients is bounded: when full, the least recently seen
 * client is forgotten (a Map keeps insertion order; a hit re-inserts).
 */
import { RateLimitedError } from '../errors/index.js';

/** Bucket size and refill rate; `perSecond` 0 disables limiting. */
export interface RateLimitOptions {
  perSecond: number;
  burst: number;
  /** Clients remembered at once. */
  maxClients?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket per key (client address). */
export class RateLimiter {
  readonly #o: RateLimitOptions;
  readonly #buckets = new Map<string, Bucket>();
  readonly #max: number;

  constructor(o: RateLimitOptions) {
    this.#o = o;
    this.#max = o.maxClients ?? 10000;
  }

  /** Takes one token for `key` or throws 429 with the seconds until one is available. */
  take(key: string, now = Date.now()): void {
    const { perSecond, burst } = this.#o;
    if (perSecond <= 0) return;
    let b = this.#buckets.get(key);
    if (b) this.#buckets.delete(key);
    else {
      b = { tokens: burst, at: now };
      if (this.#buckets.size >= this.#max) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    this.#buckets.set(key, b);
    if (b.tokens < 1) {
      throw new RateLimitedError('too many requests from this address', { retryAfter: Math.max(1, Math.ceil((1 - b.tokens) / perSecond)) });
    }
    b.tokens -= 1;
  }

  /** Clients currently tracked. */
  get size(): number {
    return this.#buckets.size;
  }
}
