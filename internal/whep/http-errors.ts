/**
 * The one place errors become HTTP responses, for every route of the root app (WHEP, admin,
 * player, metrics): short text bodies, Retry-After and WWW-Authenticate where they apply.
 */
import type { Context, ErrorHandler } from 'hono';
import type { Logger } from 'pino';
import { UnauthorizedError, isWhepdError } from '../errors/index.js';
import { clientAddress, whepStreamOf } from './client-address.js';
import { RefusalLog } from './refusal-log.js';

const TEXT = 'text/plain; charset=utf-8';

/**
 * Maps any thrown value to a response and logs it: a typed error (whepd refused on purpose: a
 * 4xx, or 503/504 under load) at info through `refusals`, rate-limited per reason, with stream,
 * status, reason and client address. Unknown errors are bugs: each is logged at error with `err`,
 * and answered with a 500 that leaks nothing.
 */
export function errorResponse(c: Context, err: unknown, log: Logger, refusals: RefusalLog = new RefusalLog(log)): Response {
  const req = { method: c.req.method, path: c.req.path };
  if (isWhepdError(err)) {
    refusals.note({ status: err.status, code: err.code, reason: err.message, ...req, stream: whepStreamOf(req.path), client: clientAddress(c) });
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
  const refusals = new RefusalLog(log);
  return (err, c) => errorResponse(c, err, log, refusals);
}
