/** A stream's status is read-only: reading it (a metrics scrape reads it many times) changes nothing. */
import t from 'tap';
import { releaseWebRtc, startTestApp, waitLive } from '../testkit/index.js';

t.teardown(releaseWebRtc);

t.test('status() reports the input bitrate on its first read, and reads change nothing', async (t) => {
  const app = await startTestApp();
  t.teardown(() => app.close());
  await waitLive(app, 'demo');
  // Nobody reads the status while the stream runs: a sampler, not the reader, measures the rate.
  await new Promise((r) => setTimeout(r, 2500));
  const stream = app.streams.get('demo')!;
  const first = stream.status().inputBitrateBps;
  t.ok(first > 10000, `the first read already has a bitrate (${first} bps)`);
  const again = Array.from({ length: 10 }, () => stream.status().inputBitrateBps);
  t.same(again, Array(10).fill(first), 'ten more reads in a row report the same figure');
});
