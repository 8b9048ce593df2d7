/** Auth: bearer tokens and JWTs for WHEP, and per-client rate limiting. */
export { Authorizer } from './authorizer.js';
export type { AuthorizerOptions, JwtOptions } from './authorizer.js';
export { RateLimiter } from './rate-limit.js';
export type { RateLimitOptions } from './rate-limit.js';
