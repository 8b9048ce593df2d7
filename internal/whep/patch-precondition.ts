/**
 * Which trickle PATCHes whepd applies: the If-Match check and ICE-restart detection (WHEP draft
 * sections 4.4.1 and 4.4.3, RFC 9725 section 4.3.3, RFC 9110 section 13.1.1), as real WHEP players
 * send them. Pure.
 */
import { PreconditionFailedError, PreconditionRequiredError, UnprocessableError } from '../errors/index.js';

/** ICE credentials: the session's (from the offer) or a PATCH fragment's (absent ones undefined). */
export interface IceCredentials {
  iceUfrag: string | undefined;
  icePwd: string | undefined;
}

/** Everything the check looks at. */
export interface PatchPrecondition {
  /** The If-Match header as received; undefined (or empty) when there was none. */
  ifMatch: string | undefined;
  /** The session's current ETag. */
  etag: string;
  /** Answer 428 to a PATCH without If-Match (whep.requireIfMatch). */
  requireIfMatch: boolean;
  /** The ICE session whepd runs: the offer's credentials. */
  session: IceCredentials;
  /** What the PATCH fragment carries. */
  fragment: IceCredentials;
}

/**
 * True when the fragment asks for an ICE restart. A restart is a new ice-ufrag/ice-pwd (RFC 8839
 * section 4.4.3.1.1; the WHEP draft, section 4.4.3: a session receiving updated ones "MUST consider
 * the request as performing an ICE restart"), not the If-Match value: players such as MediaMTX's
 * reader send `If-Match: *` with the offer's own ufrag on every trickle PATCH.
 */
export function isIceRestart(session: IceCredentials, fragment: IceCredentials): boolean {
  return (
    (fragment.iceUfrag !== undefined && fragment.iceUfrag !== session.iceUfrag) ||
    (fragment.icePwd !== undefined && fragment.icePwd !== session.icePwd)
  );
}

/**
 * Returns when the PATCH is a trickle for the current ICE session; throws 428 (no If-Match while
 * it is required), 412 (an If-Match that is neither `*` nor the ETag) or 422 (an ICE restart,
 * which whepd does not support; WHEP draft section 4.4.1 names 422 for that).
 *
 * A missing If-Match is accepted by default, though the WHEP draft (section 4.4.1) answers it
 * with 428: the ETag exists to keep a PATCH meant for an older ICE session out of a restarted one
 * (the draft makes it OPTIONAL for a session without restarts), and whepd never restarts ICE, so
 * there is nothing stale to keep out. Medooze's whep.js sends none and would otherwise lose every
 * candidate. `*` matches any current representation (RFC 9110 section 13.1.1), so it passes too.
 */
export function checkPatchPrecondition(p: PatchPrecondition): void {
  const tag = p.ifMatch?.trim();
  if (!tag) {
    if (p.requireIfMatch) throw new PreconditionRequiredError('PATCH needs If-Match with the session ETag');
  } else if (tag !== '*' && tag !== p.etag) {
    throw new PreconditionFailedError('If-Match does not match the session ETag');
  }
  if (isIceRestart(p.session, p.fragment)) {
    throw new UnprocessableError('ICE restart is not supported; start a new session (the current one keeps running)');
  }
}
