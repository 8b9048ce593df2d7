/** What the player page says about a refused or failed POST. */
import { WhepHttpError } from './whep-client.mjs';

/** Shown while the stream is not delivering (an `inactive` event, or a 409 not live). */
export const OFFLINE_TEXT = 'offline, waiting for the stream';

/** Human text for a refused POST; the retry delay is appended by scheduleRetry. */
export function describe(err: unknown): string {
  if (!(err instanceof WhepHttpError)) return `playback failed (${err instanceof Error ? err.message : String(err)})`;
  const d = err.detail.toLowerCase();
  switch (err.status) {
    case 0:
      return 'cannot reach the server';
    case 409:
      return d.includes('no audio') || d.includes('no video') ? `stream cannot play: ${err.detail}` : OFFLINE_TEXT;
    case 503:
      if (d.includes('shutting down')) return 'the server is shutting down';
      if (d.includes('total viewer cap')) return 'server viewer limit reached';
      return d.includes('viewer cap') ? 'viewer limit reached' : 'the server is busy';
    case 404:
      return 'no such stream';
    case 406:
      return `this browser cannot play the stream (${err.detail})`;
    default:
      return `the server refused (HTTP ${err.status}: ${err.detail})`;
  }
}
