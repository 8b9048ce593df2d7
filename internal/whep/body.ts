/** Request body reading with a hard byte cap (413), whether or not Content-Length is sent. */
import type { Context } from 'hono';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors/index.js';

/** Reads the body as UTF-8, refusing more than `limit` bytes. */
export async function readBody(c: Context, limit: number): Promise<string> {
  const declared = Number(c.req.header('content-length') ?? NaN);
  if (declared > limit) throw new PayloadTooLargeError(`body is ${declared} bytes; the limit is ${limit}`);
  const stream = c.req.raw.body;
  if (!stream) return '';
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new PayloadTooLargeError(`body exceeds the limit of ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Throws 415 unless the request's media type (parameters ignored) is `expected`. */
export function requireContentType(c: Context, expected: string): void {
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== expected) {
    throw new UnsupportedMediaTypeError(`Content-Type must be ${expected}${type ? `, got ${type}` : ''}`);
  }
}
