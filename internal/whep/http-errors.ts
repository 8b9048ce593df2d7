/**
 * The one place errors become HTTP responses, for every route of the root app (WHEP, admin,
 * player, metrics): short text bodies, Retry-After and WWW-Authenticate where they apply.
 */
import type { Context, ErrorHandler } from 'hono';
import type { Logger } from 'pino';
import { UnauthorizedError, isWhepdError } from '../errors/index.js';

const TEXT = 'text/plain; charset=utf-8';

/**
 * Maps any thrown value to a response and logs it: a typed 4xx at debug with its one-sentence
 * reason (the client's mistake, not whepd's), a 5xx at error with `err`. Unknown errors are a
 * logged 500 that leaks nothing.
 */
export function errorResponse(c: Context, err: unknown, log: Logger): Response {
  const req = { method: c.req.method, path: c.req.path };
  if (isWhepdError(err)) {
    if (err.status >= 500) log.error({ err, ...req, status: err.status }, err.message);
    else log.debug({ ...req, status: err.status, code: err.code }, err.message);
    const headers: Record<string, string> = { 'Content-Type': TEXT };
    if (err.retryAfter !== undefined) headers['Retry-After'] = String(err.retryAfter);
    // RFC 6750 section 3: say which scheme is expected.
    if (err instanceof UnauthorizedError) headers['WWW-Authenticate'] = err.challenge;
    return c.body(`${err.message}\n`, err.status as 400, headers);
  }
  log.error({ err, ...req }, 'unhandled error in HTTP handler');
  return c.body('internal error\n', 500, { 'Content-Type': TEXT });
}

/** The root app's only error handler (`app.onError(httpErrorHandler(log))`); sub-apps set none. */
export function httpErrorHandler(log: Logger): ErrorHandler {
  return (err, c) => errorResponse(c, err, log);
}
