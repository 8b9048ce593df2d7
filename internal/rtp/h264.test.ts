import t from 'tap';
import { keyframePart } from './h264.js';

function rtp(payload: number[]): Buffer {
  return Buffer.from([0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, ...payload]);
}

t.test('keyframePart() finds SPS in a single NAL', async (t) => {
  t.equal(keyframePart(rtp([0x67, 0x42])), 'sps');
});
t.test('keyframePart() finds an IDR FU-A start but not its continuation', async (t) => {
  t.equal(keyframePart(rtp([0x7c, 0x85, 0])), 'idr');
  t.equal(keyframePart(rtp([0x7c, 0x05, 0])), 'none');
});
