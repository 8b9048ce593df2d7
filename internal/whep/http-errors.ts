/** The one place errors become HTTP responses: short text bodies, Retry-After where it applies. */
import type { Context } from 'hono';
import type { Logger } from 'pino';
import { isWhepdError } from '../errors/index.js';

/** Maps any thrown value to a response; unknown errors are a logged 500 that leaks nothing. */
export function errorResponse(c: Context, err: unknown, log: Logger): Response {
  if (isWhepdError(err)) {
    const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8' };
    if (err.retryAfter !== undefined) headers['Retry-After'] = String(err.retryAfter);
    // RFC 6750 section 3: say which scheme is expected.
    if (err.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="whepd"';
    return c.body(`${err.message}\n`, err.status as 400, headers);
  }
  log.error({ err }, 'unhandled error in HTTP handler');
  return c.body('internal error\n', 500, { 'Content-Type': 'text/plain; charset=utf-8' });
}
