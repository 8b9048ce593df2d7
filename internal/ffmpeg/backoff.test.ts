import t from 'tap';
import { RestartBackoff } from './backoff.js';

t.test('RestartBackoff.next() doubles from min and caps at max', async (t) => {
  const b = new RestartBackoff({ minMs: 1000, maxMs: 30000 });
  t.equal(b.attempts, 0);
  const delays = Array.from({ length: 8 }, () => b.next(10));
  t.same(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  t.equal(b.attempts, 8);
});

t.test('RestartBackoff.next() stays at max after very many failures', async (t) => {
  const b = new RestartBackoff({ minMs: 100, maxMs: 5000 });
  let last = 0;
  for (let i = 0; i < 1000; i++) last = b.next(0);
  t.equal(last, 5000);
  t.ok(Number.isFinite(last));
  t.ok(b.attempts <= 30, `attempts capped (${b.attempts})`);
});

t.test('RestartBackoff.next() resets to min after a healthy run (default 30 s)', async (t) => {
  const b = new RestartBackoff({ minMs: 1000, maxMs: 30000 });
  b.next(0);
  b.next(0);
  t.equal(b.next(0), 4000);
  t.equal(b.next(29_999), 8000, 'just short of healthy keeps doubling');
  t.equal(b.next(30_000), 1000, 'a 30 s run resets');
  t.equal(b.attempts, 1);
  t.equal(b.next(5), 2000, 'and doubling starts again');
});

t.test('RestartBackoff.next() honours healthyAfterMs', async (t) => {
  const b = new RestartBackoff({ minMs: 200, maxMs: 2000, healthyAfterMs: 500 });
  t.same([b.next(0), b.next(0), b.next(0)], [200, 400, 800]);
  t.equal(b.next(499), 1600);
  t.equal(b.next(500), 200);
});

t.test('RestartBackoff.next() with min equal to max is constant', async (t) => {
  const b = new RestartBackoff({ minMs: 700, maxMs: 700 });
  t.same([b.next(0), b.next(0), b.next(0)], [700, 700, 700]);
});
