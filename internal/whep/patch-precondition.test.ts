/** checkPatchPrecondition() against the If-Match headers and fragments real WHEP players send. */
import t from 'tap';
import type { Test } from 'tap';
import { PreconditionFailedError, PreconditionRequiredError, UnprocessableError } from '../errors/index.js';
import type { WhepdError } from '../errors/index.js';
import { checkPatchPrecondition, isIceRestart } from './patch-precondition.js';
import type { PatchPrecondition } from './patch-precondition.js';

const ETAG = '"tu1OTZKVPpBz"';
const session = { iceUfrag: 'zOd2', icePwd: 'tG7Z8+eS16vrjSVVtWFfvGNN' };
const same = { ...session };
const none = { iceUfrag: undefined, icePwd: undefined };
const fresh = { iceUfrag: 'new1', icePwd: 'newpasswordnewpassword12' };

const check = (p: Partial<PatchPrecondition>) =>
  checkPatchPrecondition({ ifMatch: undefined, etag: ETAG, requireIfMatch: false, session, fragment: none, ...p });

/** The status checkPatchPrecondition throws, or 204 when it lets the trickle through. */
function status(t: Test, p: Partial<PatchPrecondition>): number {
  try {
    check(p);
    return 204;
  } catch (err) {
    t.ok(err instanceof PreconditionRequiredError || err instanceof PreconditionFailedError || err instanceof UnprocessableError, 'a typed WHEP error');
    return (err as WhepdError).status;
  }
}

t.test("checkPatchPrecondition() takes If-Match * with the offer's own ufrag as a trickle (MediaMTX reader)", async (t) => {
  t.equal(status(t, { ifMatch: '*', fragment: same }), 204, 'same ufrag and pwd');
  t.equal(status(t, { ifMatch: '*', fragment: { iceUfrag: session.iceUfrag, icePwd: undefined } }), 204, 'same ufrag, no pwd');
  t.equal(status(t, { ifMatch: ' * ', fragment: same }), 204, 'whitespace around * is ignored');
});

t.test('checkPatchPrecondition() takes If-Match * without credentials as a trickle', async (t) => {
  t.equal(status(t, { ifMatch: '*', fragment: none }), 204);
});

t.test('checkPatchPrecondition() answers 422 to an ICE restart (new ufrag/pwd) with * or the ETag', async (t) => {
  t.equal(status(t, { ifMatch: '*', fragment: fresh }), 422, 'If-Match * and new credentials');
  t.equal(status(t, { ifMatch: ETAG, fragment: fresh }), 422, 'the ETag and new credentials');
  t.equal(status(t, { ifMatch: '*', fragment: { iceUfrag: 'new1', icePwd: undefined } }), 422, 'a new ufrag alone');
  t.equal(status(t, { ifMatch: '*', fragment: { iceUfrag: session.iceUfrag, icePwd: 'otherpasswordotherpasswo' } }), 422, 'a new pwd alone');
  t.equal(status(t, { ifMatch: undefined, fragment: fresh }), 422, 'no If-Match (not required) and new credentials');
  t.throws(() => check({ ifMatch: '*', fragment: fresh }), { message: /^ICE restart is not supported; start a new session/ });
});

t.test('checkPatchPrecondition() applies a trickle without If-Match by default (Medooze whep.js)', async (t) => {
  t.equal(status(t, { ifMatch: undefined, fragment: none }), 204, 'no header');
  t.equal(status(t, { ifMatch: '', fragment: same }), 204, 'an empty header counts as none');
});

t.test('checkPatchPrecondition() answers 428 to a PATCH without If-Match when requireIfMatch is set', async (t) => {
  t.equal(status(t, { requireIfMatch: true, ifMatch: undefined, fragment: none }), 428);
  t.equal(status(t, { requireIfMatch: true, ifMatch: '  ', fragment: same }), 428, 'blank header');
  t.equal(status(t, { requireIfMatch: true, ifMatch: undefined, fragment: fresh }), 428, 'before the restart check');
  t.equal(status(t, { requireIfMatch: true, ifMatch: ETAG, fragment: same }), 204, 'the ETag still passes');
  t.equal(status(t, { requireIfMatch: true, ifMatch: '*', fragment: same }), 204, '* still passes');
  t.throws(() => check({ requireIfMatch: true }), { message: 'PATCH needs If-Match with the session ETag' });
});

t.test('checkPatchPrecondition() answers 412 to a wrong ETag, trickle or restart', async (t) => {
  for (const ifMatch of ['"stale"', 'W/"tu1OTZKVPpBz"', '"*"', `${ETAG}, "other"`, 'tu1OTZKVPpBz']) {
    t.equal(status(t, { ifMatch, fragment: same }), 412, `${ifMatch} on a trickle`);
    t.equal(status(t, { ifMatch, fragment: fresh }), 412, `${ifMatch} on a restart`);
  }
  t.equal(status(t, { ifMatch: ETAG, fragment: same }), 204, 'the ETag itself passes');
});

t.test('isIceRestart() compares each credential the fragment carries', async (t) => {
  t.equal(isIceRestart(session, none), false);
  t.equal(isIceRestart(session, same), false);
  t.equal(isIceRestart(session, fresh), true);
  t.equal(isIceRestart(session, { iceUfrag: 'ZOD2', icePwd: undefined }), true, 'ufrags are case-sensitive');
  t.equal(isIceRestart(none, { iceUfrag: 'x', icePwd: undefined }), true, 'an offer without a ufrag never matches one');
});
