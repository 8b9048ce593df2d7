import t from 'tap';
import { vp8KeyframeStart } from './vp8.js';

function rtp(payload: number[]): Buffer {
  return Buffer.from([0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, ...payload]);
}

// VP8 payload headers (RFC 7741 section 4.3): bit 0 of the first byte is P, 0 on a key frame.
const KEY = [0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a];
const INTER = [0x51, 0x42, 0x00];

t.test('vp8KeyframeStart() finds a key frame behind the shortest descriptor', async (t) => {
  t.equal(vp8KeyframeStart(rtp([0x10, ...KEY])), true);
  t.equal(vp8KeyframeStart(rtp([0x10, ...INTER])), false, 'inter frame');
  t.equal(vp8KeyframeStart(rtp([0x00, ...KEY])), false, 'S=0: a continuation packet');
  t.equal(vp8KeyframeStart(rtp([0x11, ...KEY])), false, 'partition 1');
});

t.test('vp8KeyframeStart() skips the extension fields FFmpeg and browsers send', async (t) => {
  // FFmpeg 5.1 rtpenc_vp8: X=1 S=1, I=1, a 7-bit picture ID.
  t.equal(vp8KeyframeStart(rtp([0x90, 0x80, 0x05, ...KEY])), true, '7-bit picture ID');
  t.equal(vp8KeyframeStart(rtp([0x90, 0x80, 0x05, ...INTER])), false);
  t.equal(vp8KeyframeStart(rtp([0x90, 0x80, 0x81, 0x23, ...KEY])), true, '15-bit picture ID');
  t.equal(vp8KeyframeStart(rtp([0x90, 0xe0, 0x81, 0x23, 0x07, 0x40, ...KEY])), true, 'I, L and T');
  t.equal(vp8KeyframeStart(rtp([0x90, 0xe0, 0x81, 0x23, 0x07, 0x40, ...INTER])), false);
});

t.test('vp8KeyframeStart() never reads past a truncated packet', async (t) => {
  t.equal(vp8KeyframeStart(rtp([])), false);
  t.equal(vp8KeyframeStart(rtp([0x90])), false);
  t.equal(vp8KeyframeStart(rtp([0x90, 0x80])), false);
  t.equal(vp8KeyframeStart(rtp([0x90, 0x80, 0x81])), false);
  t.equal(vp8KeyframeStart(rtp([0x90, 0x80, 0x05])), false);
});
