/** The client's address as the HTTP server saw it. */
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';

/** The peer address of the request's socket; undefined under app.request() (no socket). */
export function clientAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

/** The stream a /whep/<stream>[/<session>] path names (decoded when it can be), else undefined. */
export function whepStreamOf(path: string): string | undefined {
  const parts = path.split('/');
  if (parts[1] !== 'whep' || !parts[2]) return undefined;
  try {
    return decodeURIComponent(parts[2]);
  } catch {
    // a malformed escape cannot name a configured stream; keep it as written
    return parts[2];
  }
}
