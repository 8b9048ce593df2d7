/**
 * Expiring TURN credentials from a secret shared with the TURN server (the "TURN REST API" scheme
 * of draft-uberti-behave-turn-rest, which coturn checks with `use-auth-secret` and
 * `static-auth-secret`): username `<expiry unix time>:<id>`, credential
 * base64(HMAC-SHA1(secret, username)). The secret never leaves whepd; each credential stops working
 * at its expiry, so a leaked one is worth little.
 */
import { createHmac } from 'node:crypto';
import type { IceServerInput } from './ice-servers.js';

/** A TURN service whepd hands out credentials for (config `webrtc.turn`). */
export interface TurnRestOptions {
  /** turn: / turns: URLs of the TURN server(s) sharing the secret. */
  urls: readonly string[];
  secret: string;
  /** How long a minted credential is valid, in seconds. */
  ttlS: number;
}

/** The username and credential for `id` (a session id or a random one), valid `ttlS` from `nowMs`. */
export function mintTurnCredential(secret: string, ttlS: number, id: string, nowMs: number = Date.now()): { username: string; credential: string } {
  const username = `${Math.floor(nowMs / 1000) + ttlS}:${id}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}

/** The TURN server entry, with a fresh credential, for one WHEP answer. */
export function turnIceServer(o: TurnRestOptions, id: string, nowMs?: number): IceServerInput {
  return { urls: [...o.urls], ...mintTurnCredential(o.secret, o.ttlS, id, nowMs) };
}
