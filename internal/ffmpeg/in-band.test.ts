import t from 'tap';
import { accessUnitHasSps, parseHexDump, probeInBandSps } from './probe.js';
import { buildFfmpegArgs } from './args.js';

t.test('parseHexDump() reads ffprobe -show_data output', async (t) => {
  const dump = '\n00000000: 0000 0019 6742 c01f  ....gB..\n00000008: 68cb                                     h.\n';
  t.same([...parseHexDump(dump)], [0, 0, 0, 0x19, 0x67, 0x42, 0xc0, 0x1f, 0x68, 0xcb]);
});

t.test('accessUnitHasSps() finds an SPS in length-prefixed and Annex B access units', async (t) => {
  t.ok(accessUnitHasSps(Buffer.from([0, 0, 0, 2, 0x06, 0x05, 0, 0, 0, 2, 0x67, 0x42])), 'length-prefixed, second NAL');
  t.notOk(accessUnitHasSps(Buffer.from([0, 0, 0, 2, 0x65, 0x88])), 'IDR only');
  t.ok(accessUnitHasSps(Buffer.from([0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 0x42])), 'Annex B');
  t.notOk(accessUnitHasSps(Buffer.from([0, 0, 0, 9, 0x67])), 'a length past the end is not trusted');
  t.notOk(accessUnitHasSps(Buffer.alloc(0)));
});

t.test('probeInBandSps() on the fixtures', async (t) => {
  t.equal(await probeInBandSps('ffprobe', 'fixtures/media/demo.mp4', [], 10000), true, 'x264 repeat-headers file');
  t.equal(await probeInBandSps('ffprobe', 'fixtures/media/high-bframes.mp4', [], 10000), false, 'global-header file');
  t.equal(await probeInBandSps('ffprobe', 'fixtures/media/missing.mp4', [], 10000), false, 'unreadable input');
});

t.test('buildFfmpegArgs() copies a looping input without a bitstream filter', async (t) => {
  const job = { input: 'a.mp4', inputArgs: [], loop: true, realtime: true, transcodeVideo: false, keyframeIntervalS: 1, videoBitrateKbps: 1000, audioBitrateKbps: 96, videoPort: 1, audioPort: 2 };
  t.notOk(buildFfmpegArgs(job).some((a) => a.startsWith('-bsf')), 'looping copy: no -bsf');
  t.ok(buildFfmpegArgs({ ...job, loop: false }).includes('h264_mp4toannexb'), 'live copy: Annex B filter');
});
