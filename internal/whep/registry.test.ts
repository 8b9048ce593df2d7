import t from 'tap';
import type { Test } from 'tap';
import { EventEmitter } from 'node:events';
import { OverloadedError } from '../errors/index.js';
import { SessionRegistry } from './registry.js';
import type { Session } from './session.js';

/** Returns the error reserve() throws (fails the test if it does not). */
function refusal(t: Test, r: SessionRegistry, streamId: string): OverloadedError | undefined {
  try {
    r.reserve(streamId);
  } catch (err) {
    return err as OverloadedError;
  }
  t.fail(`reserve(${streamId}) succeeded`);
  return undefined;
}

/** The parts of a Session the registry uses: id, streamId, close(), once('close'). */
class FakeSession extends EventEmitter {
  static #next = 0;
  readonly id = `s${FakeSession.#next++}`;
  readonly streamId: string;
  closedWith: string | undefined;
  constructor(streamId: string) {
    super();
    this.streamId = streamId;
  }
  close(reason: string): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = reason;
    this.emit('close');
  }
}
const asSession = (s: FakeSession) => s as unknown as Session;

t.test('SessionRegistry.reserve() refuses beyond viewersPerStream with a 503 naming that cap', async (t) => {
  const r = new SessionRegistry({ viewersPerStream: 2, viewersTotal: 10 });
  r.reserve('a');
  r.reserve('a');
  const err = refusal(t, r, 'a');
  t.type(err, OverloadedError);
  t.equal(err?.status, 503);
  t.equal(err?.code, 'STREAM_FULL');
  t.equal(err?.retryAfter, 5);
  t.match(err?.message, 'viewersPerStream = 2');
  t.notMatch(err?.message, 'viewersTotal');
  t.match(err?.message, 'stream a');
  t.equal(r.countFor('a'), 2, 'a refused reserve holds nothing');
  t.equal(r.total, 2);
});

t.test('SessionRegistry.reserve() refuses beyond viewersTotal with a different 503', async (t) => {
  const r = new SessionRegistry({ viewersPerStream: 2, viewersTotal: 3 });
  r.reserve('a');
  r.reserve('b');
  r.reserve('c');
  const err = refusal(t, r, 'd');
  t.type(err, OverloadedError);
  t.equal(err?.status, 503);
  t.equal(err?.code, 'SERVER_FULL');
  t.ok(err?.retryAfter !== undefined && err.retryAfter > 0, 'Retry-After set');
  t.match(err?.message, 'viewersTotal = 3');
  t.notMatch(err?.message, 'viewersPerStream');
  t.equal(r.countFor('d'), 0);
  t.equal(r.total, 3);
});

t.test('SessionRegistry.reserve() counts each stream against its own cap', async (t) => {
  const r = new SessionRegistry({ viewersPerStream: 2, viewersTotal: 10 });
  r.reserve('a');
  r.reserve('a');
  r.reserve('b');
  r.reserve('b');
  t.equal(r.countFor('a'), 2);
  t.equal(r.countFor('b'), 2);
  t.equal(r.countFor('c'), 0);
  t.equal(r.total, 4);
  t.equal(refusal(t, r, 'a')?.code, 'STREAM_FULL');
  t.equal(refusal(t, r, 'b')?.code, 'STREAM_FULL');
  t.doesNotThrow(() => r.reserve('c'), 'a third stream still has room');
});

t.test('SessionRegistry slot.release() is idempotent and frees the slot', async (t) => {
  const r = new SessionRegistry({ viewersPerStream: 1, viewersTotal: 2 });
  const a = r.reserve('a');
  const b = r.reserve('b');
  t.equal(r.total, 2);
  a.release();
  a.release();
  a.release();
  t.equal(r.countFor('a'), 0);
  t.equal(r.countFor('b'), 1, 'releasing a twice does not free b');
  t.equal(r.total, 1);
  const again = r.reserve('a');
  t.equal(r.countFor('a'), 1, 'the freed slot can be taken again');
  again.release();
  b.release();
  b.release();
  t.equal(r.total, 0);
  t.equal(r.countFor('a'), 0);
  t.equal(r.countFor('b'), 0);
});

t.test('SessionRegistry.add() indexes a session until it closes, then frees its slot', async (t) => {
  const r = new SessionRegistry({ viewersPerStream: 2, viewersTotal: 2 });
  const s1 = new FakeSession('a');
  const s2 = new FakeSession('b');
  const slot1 = r.reserve('a');
  r.add(asSession(s1), slot1);
  r.add(asSession(s2), r.reserve('b'));
  t.equal(r.get('a', s1.id), asSession(s1));
  t.equal(r.get('b', s1.id), undefined, 'looked up under its own stream only');
  t.same(r.list('a').map((s) => s.id), [s1.id]);
  t.same(r.list().map((s) => s.id).sort(), [s1.id, s2.id].sort());
  t.equal(r.total, 2);
  s1.close('bye');
  t.equal(r.get('a', s1.id), undefined);
  t.same(r.list('a'), []);
  t.equal(r.countFor('a'), 0);
  t.equal(r.total, 1);
  slot1.release();
  t.equal(r.total, 1, 'releasing the slot again after close changes nothing');
});

t.test('SessionRegistry.closeAll() closes every session with the reason and frees every slot', async (t) => {
  const r = new SessionRegistry({ viewersPerStream: 5, viewersTotal: 5 });
  const sessions = [new FakeSession('a'), new FakeSession('a'), new FakeSession('b')];
  for (const s of sessions) r.add(asSession(s), r.reserve(s.streamId));
  r.closeAll('shutting down');
  t.same(sessions.map((s) => s.closedWith), ['shutting down', 'shutting down', 'shutting down']);
  t.same(r.list(), []);
  t.equal(r.total, 0);
});
