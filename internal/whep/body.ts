/** Request bodies: a hard byte cap (413, through hono/body-limit) and the media-type check (415). */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors/index.js';

/**
 * Refuses bodies over `limit` bytes, declared by Content-Length or counted while streaming
 * (chunked), as a typed 413; the body it let through is buffered for the handler.
 */
export function bodyCap(limit: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: limit,
    onError: (c) => {
      // hono/body-limit trusts Content-Length unless the body is chunked, and counts otherwise.
      const declared = c.req.header('transfer-encoding') ? undefined : c.req.header('content-length');
      throw new PayloadTooLargeError(declared ? `body is ${declared} bytes; the limit is ${limit}` : `body exceeds the limit of ${limit} bytes`);
    },
  });
}

/** The body as UTF-8, byte for byte (a BOM is kept, so an offer behind one is still not SDP). */
export async function bodyText(c: Context): Promise<string> {
  return Buffer.from(await c.req.arrayBuffer()).toString('utf8');
}

/** Throws 415 unless the request's media type (parameters ignored) is `expected`. */
export function requireContentType(c: Context, expected: string): void {
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== expected) {
    throw new UnsupportedMediaTypeError(`Content-Type must be ${expected}${type ? `, got ${type}` : ''}`);
  }
}
