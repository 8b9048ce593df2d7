import t from 'tap';
import { fallbackStreamId, hasVp8Fallback, inputReadableTwice } from './options.js';
import { parseConfig } from '../config/index.js';

t.test('inputReadableTwice() refuses inputs only one FFmpeg can receive', async (t) => {
  for (const input of ['fixtures/media/demo.mp4', 'rtmp://127.0.0.1/live/cam', 'srt://core:9000?streamid=read:cam', 'https://cdn/x.m3u8', 'rtsp://cam/1'])
    t.equal(inputReadableTwice(input, []), true, input);
  for (const input of ['cam.sdp', 'udp://0.0.0.0:5000', 'rtp://0.0.0.0:5004', 'srt://0.0.0.0:9000?mode=listener', 'rtmp://0.0.0.0:1935/live/x?listen=1'])
    t.equal(inputReadableTwice(input, []), false, input);
  t.equal(inputReadableTwice('rtmp://0.0.0.0:1935/live/x', ['-listen', '1']), false, '-listen 1 in inputArgs');
  t.equal(inputReadableTwice('/tmp/session', ['-f', 'sdp']), false, '-f sdp in inputArgs');
});

t.test('hasVp8Fallback() follows fallbackVideo and the input', async (t) => {
  const stream = (o: Record<string, unknown>) => parseConfig({ streams: [{ id: 'a', input: 'a.mp4', ...o }] }).streams[0]!;
  t.equal(hasVp8Fallback(stream({})), true, 'on by default');
  t.equal(hasVp8Fallback(stream({ fallbackVideo: 'none' })), false);
  t.equal(hasVp8Fallback(stream({ input: 'cam.sdp' })), false);
  t.equal(fallbackStreamId('a'), 'a~vp8');
});
