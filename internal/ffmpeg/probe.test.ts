import t from 'tap';
import { execa } from 'execa';
import { ProbeError, isWebRtcSafeH264, parseProbeOutput, probeInput } from './probe.js';
import type { ProbedVideo } from './probe.js';

const MEDIA = 'fixtures/media';

/** Real ffprobe output for a fixture, exactly as whepd asks for it. */
async function ffprobeJson(file: string): Promise<string> {
  const r = await execa('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', '-i', `${MEDIA}/${file}`], { timeout: 10_000 });
  return r.stdout;
}

const safeVideo: ProbedVideo = { codec: 'h264', profile: 'Constrained Baseline', pixFmt: 'yuv420p', hasBFrames: false, width: 640, height: 360 };

t.test('parseProbeOutput() reads the first video and first audio stream of hand-written JSON', async (t) => {
  const json = JSON.stringify({
    streams: [
      { index: 0, codec_type: 'data', codec_name: 'bin_data' },
      { index: 1, codec_type: 'audio', codec_name: 'opus', sample_rate: '48000', channels: 2 },
      {
        index: 2,
        codec_type: 'video',
        codec_name: 'h264',
        profile: 'Main',
        pix_fmt: 'yuv420p',
        has_b_frames: 2,
        width: 1920,
        height: 1080,
        avg_frame_rate: '30000/1001',
        r_frame_rate: '60000/1001',
      },
      { index: 3, codec_type: 'video', codec_name: 'vp8', width: 10, height: 10 },
      { index: 4, codec_type: 'audio', codec_name: 'aac', sample_rate: '44100', channels: 6 },
    ],
  });
  const r = parseProbeOutput(json);
  t.same(r.video, {
    codec: 'h264',
    profile: 'Main',
    pixFmt: 'yuv420p',
    hasBFrames: true,
    width: 1920,
    height: 1080,
    frameRate: 30000 / 1001,
  });
  t.same(r.audio, { codec: 'opus', sampleRate: 48000, channels: 2 });
});

t.test('parseProbeOutput() fills gaps and drops unusable frame rates', async (t) => {
  t.same(parseProbeOutput('{}'), {}, 'no streams key');
  t.same(parseProbeOutput('{"streams":[]}'), {}, 'no streams');
  const bare = parseProbeOutput('{"streams":[{"codec_type":"video"},{"codec_type":"audio"}]}');
  t.same(bare.video, { codec: 'unknown', profile: '', pixFmt: '', hasBFrames: false, width: 0, height: 0 });
  t.same(bare.audio, { codec: 'unknown', sampleRate: 0, channels: 0 });
  const rate = (avg: string | undefined, r: string | undefined) =>
    parseProbeOutput(JSON.stringify({ streams: [{ codec_type: 'video', avg_frame_rate: avg, r_frame_rate: r }] })).video?.frameRate;
  t.equal(rate('25/1', '50/1'), 25, 'avg_frame_rate first');
  t.equal(rate('0/0', '24/1'), 24, 'falls back to r_frame_rate');
  t.equal(rate('0/0', '0/0'), undefined);
  t.equal(rate('90000/1', undefined), undefined, 'a timebase-like rate is ignored');
  t.equal(rate('garbage', undefined), undefined);
  t.throws(() => parseProbeOutput('not json'), SyntaxError);
});

t.test('isWebRtcSafeH264() accepts only (constrained) baseline 4:2:0 H264 without B-frames', async (t) => {
  t.equal(isWebRtcSafeH264(safeVideo), true);
  t.equal(isWebRtcSafeH264({ ...safeVideo, profile: 'Baseline' }), true);
  t.equal(isWebRtcSafeH264({ ...safeVideo, pixFmt: 'yuvj420p' }), true);
  t.equal(isWebRtcSafeH264({ ...safeVideo, profile: 'High' }), false);
  t.equal(isWebRtcSafeH264({ ...safeVideo, profile: 'Main' }), false);
  t.equal(isWebRtcSafeH264({ ...safeVideo, hasBFrames: true }), false);
  t.equal(isWebRtcSafeH264({ ...safeVideo, pixFmt: 'yuv444p' }), false);
  t.equal(isWebRtcSafeH264({ ...safeVideo, codec: 'hevc' }), false);
  t.equal(isWebRtcSafeH264({ ...safeVideo, profile: '' }), false, 'unknown profile');
});

t.test('parseProbeOutput() on real ffprobe output: demo.mp4 is safe constrained baseline with audio', async (t) => {
  const r = parseProbeOutput(await ffprobeJson('demo.mp4'));
  t.same(r.video, {
    codec: 'h264',
    profile: 'Constrained Baseline',
    pixFmt: 'yuv420p',
    hasBFrames: false,
    width: 640,
    height: 360,
    frameRate: 30,
  });
  t.same(r.audio, { codec: 'aac', sampleRate: 48000, channels: 2 });
  t.equal(isWebRtcSafeH264(r.video as ProbedVideo), true);
});

t.test('parseProbeOutput() on real ffprobe output: high-bframes.mp4 is not safe', async (t) => {
  const r = parseProbeOutput(await ffprobeJson('high-bframes.mp4'));
  t.equal(r.video?.profile, 'High');
  t.equal(r.video?.hasBFrames, true);
  t.equal(isWebRtcSafeH264(r.video as ProbedVideo), false);
  t.ok(r.audio, 'has audio');
});

t.test('parseProbeOutput() on real ffprobe output: audio-first-multi.mkv picks the 640x360 video and the first audio', async (t) => {
  const r = parseProbeOutput(await ffprobeJson('audio-first-multi.mkv'));
  t.equal(r.video?.width, 640);
  t.equal(r.video?.height, 360);
  t.equal(r.video?.codec, 'h264');
  t.same(r.audio, { codec: 'aac', sampleRate: 48000, channels: 2 });
});

t.test('parseProbeOutput() on real ffprobe output: video-only.mp4 has no audio, audio-only.m4a no video', async (t) => {
  const v = parseProbeOutput(await ffprobeJson('video-only.mp4'));
  t.ok(v.video);
  t.equal(v.audio, undefined);
  const a = parseProbeOutput(await ffprobeJson('audio-only.m4a'));
  t.equal(a.video, undefined);
  t.same(a.audio, { codec: 'aac', sampleRate: 48000, channels: 2 });
});

t.test('probeInput() runs ffprobe on a real file', async (t) => {
  const r = await probeInput('ffprobe', `${MEDIA}/demo.mp4`, [], 10_000);
  t.equal(r.video?.codec, 'h264');
  t.equal(r.video?.frameRate, 30);
  t.equal(r.audio?.sampleRate, 48000);
});

t.test('probeInput() with a missing binary throws ProbeError saying it is not installed', async (t) => {
  const err = await probeInput('/nonexistent/bin/ffprobe', `${MEDIA}/demo.mp4`, [], 10_000).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, ProbeError);
  t.match((err as Error).message, 'not installed');
  t.match((err as Error).message, '/nonexistent/bin/ffprobe');
});

t.test('probeInput() with a nonexistent file throws ProbeError with ffprobe\'s reason', async (t) => {
  const err = await probeInput('ffprobe', '/nonexistent/whepd-input.mp4', [], 10_000).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, ProbeError);
  t.match((err as Error).message, /^cannot read input \/nonexistent\/whepd-input\.mp4: .*No such file or directory/);
});

t.test('probeInput() times out and can be cancelled', async (t) => {
  const slow = await probeInput('ffprobe', `${MEDIA}/demo.mp4`, [], 1).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(slow, ProbeError);
  t.match((slow as Error).message, 'took longer than 1 ms');
  const cancelled = await probeInput('ffprobe', `${MEDIA}/demo.mp4`, [], 10_000, AbortSignal.abort()).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(cancelled, ProbeError);
  t.match((cancelled as Error).message, 'cancelled');
});
