import t from 'tap';
import { AUDIO_PT, RTP_PACKET_BYTES, VIDEO_PT, buildFfmpegArgs, buildProbeArgs, videoCodecArgs } from './args.js';
import type { FfmpegJob } from './args.js';

function job(over: Partial<FfmpegJob> = {}): FfmpegJob {
  return {
    input: 'fixtures/media/demo.mp4',
    inputArgs: [],
    loop: false,
    realtime: true,
    transcodeVideo: false,
    keyframeIntervalS: 1,
    videoBitrateKbps: 2500,
    audioBitrateKbps: 96,
    videoPort: 40000,
    audioPort: 40002,
    ...over,
  };
}

/** Every index at which `value` appears. */
function indexesOf(args: readonly string[], value: string): number[] {
  return args.flatMap((a, i) => (a === value ? [i] : []));
}

/** The value that follows `flag` (first occurrence), or undefined. */
function valueOf(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

/** The flag pairs of the video output (from `-map 0:v:0` to its RTP URL) and the audio output. */
function outputs(args: readonly string[]): { video: string[]; audio: string[] } {
  const v = args.indexOf('0:v:0');
  const a = args.indexOf('0:a:0');
  const urls = args.flatMap((x, i) => (x.startsWith('rtp://') ? [i] : []));
  return { video: args.slice(v - 1, (urls[0] as number) + 1), audio: args.slice(a - 1, (urls[1] as number) + 1) };
}

t.test('buildFfmpegArgs() maps the first video then the first audio stream, once each, each before its own RTP output', async (t) => {
  for (const transcodeVideo of [false, true]) {
    const args = buildFfmpegArgs(job({ transcodeVideo }));
    const maps = indexesOf(args, '-map');
    t.equal(maps.length, 2, 'two -map flags');
    t.same(maps.map((i) => args[i + 1]), ['0:v:0', '0:a:0'], 'video first, then audio');
    t.equal(indexesOf(args, '0:v:0').length, 1);
    t.equal(indexesOf(args, '0:a:0').length, 1);
    const rtpFormats = indexesOf(args, '-f').filter((i) => args[i + 1] === 'rtp');
    t.equal(rtpFormats.length, 2, 'two rtp outputs');
    const [vMap, aMap] = maps as [number, number];
    const [vOut, aOut] = rtpFormats as [number, number];
    t.ok(args.indexOf('-i') < vMap, '-i before the maps');
    t.ok(vMap < vOut && vOut < aMap && aMap < aOut, `order -map v (${vMap}) < -f rtp (${vOut}) < -map a (${aMap}) < -f rtp (${aOut})`);
    t.equal(args.at(-1), `rtp://127.0.0.1:40002?pkt_size=${RTP_PACKET_BYTES}&rtcpport=40002`, 'argv ends with the audio URL');
  }
});

t.test('buildFfmpegArgs() copy mode copies H264 and converts it to Annex B', async (t) => {
  const { video, audio } = outputs(buildFfmpegArgs(job({ transcodeVideo: false })));
  t.equal(valueOf(video, '-c:v'), 'copy');
  t.equal(valueOf(video, '-bsf:v'), 'h264_mp4toannexb');
  t.notOk(video.includes('libx264'), 'no encoder');
  t.ok(video.includes('-an') && video.includes('-sn') && video.includes('-dn'), 'video output drops other kinds');
  t.notOk(audio.includes('-c:v'), 'no video codec flags in the audio output');
  t.same(videoCodecArgs(job({ transcodeVideo: false })), ['-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb']);
});

t.test('buildFfmpegArgs() transcode mode is libx264 constrained baseline for real time', async (t) => {
  const args = buildFfmpegArgs(job({ transcodeVideo: true, frameRate: 30, videoBitrateKbps: 1800 }));
  const { video, audio } = outputs(args);
  t.equal(valueOf(video, '-c:v'), 'libx264');
  t.equal(valueOf(video, '-profile:v'), 'baseline');
  t.equal(valueOf(video, '-bf'), '0', 'no B-frames');
  t.equal(valueOf(video, '-tune'), 'zerolatency');
  t.equal(valueOf(video, '-pix_fmt'), 'yuv420p');
  t.equal(valueOf(video, '-x264-params'), 'repeat-headers=1', 'SPS/PPS before every IDR');
  t.equal(valueOf(video, '-b:v'), '1800k');
  t.equal(valueOf(video, '-maxrate'), '1800k');
  t.equal(valueOf(video, '-bufsize'), '3600k');
  t.notOk(video.includes('-bsf:v'), 'no bitstream filter when encoding');
  t.notOk(audio.includes('libx264'), 'encoder flags stay in the video output');
  t.equal(indexesOf(args, '-c:v').length, 1);
});

t.test('buildFfmpegArgs() sets -g to round(fps * interval) when the frame rate is known', async (t) => {
  const cases: [number, number, string][] = [
    [30, 1, '30'],
    [30, 2, '60'],
    [29.97, 1, '30'],
    [25, 0.5, '13'],
    [24, 0.1, '2'],
    [1, 0.1, '1'],
  ];
  for (const [frameRate, keyframeIntervalS, gop] of cases) {
    const v = videoCodecArgs(job({ transcodeVideo: true, frameRate, keyframeIntervalS }));
    t.equal(valueOf(v, '-g'), gop, `${frameRate} fps x ${keyframeIntervalS} s`);
    t.equal(valueOf(v, '-keyint_min'), gop);
    t.notOk(v.includes('-force_key_frames'));
  }
});

t.test('buildFfmpegArgs() forces keyframes by time when the frame rate is unknown', async (t) => {
  for (const frameRate of [undefined, 0]) {
    const v = videoCodecArgs(job({ transcodeVideo: true, keyframeIntervalS: 2, ...(frameRate === undefined ? {} : { frameRate }) }));
    t.equal(valueOf(v, '-force_key_frames'), 'expr:gte(t,n_forced*2)', `frameRate ${frameRate}`);
    t.notOk(v.includes('-g'));
  }
});

t.test('buildFfmpegArgs() encodes audio as Opus 48 kHz stereo', async (t) => {
  const { audio, video } = outputs(buildFfmpegArgs(job({ audioBitrateKbps: 64 })));
  t.equal(valueOf(audio, '-c:a'), 'libopus');
  t.equal(valueOf(audio, '-ar'), '48000');
  t.equal(valueOf(audio, '-ac'), '2');
  t.equal(valueOf(audio, '-b:a'), '64k');
  t.ok(audio.includes('-vn'), 'audio output drops video');
  t.notOk(video.includes('-c:a'), 'no audio codec in the video output');
});

t.test('buildFfmpegArgs() sends RTP to 127.0.0.1 on the given ports with pkt_size 1200 and RTCP on the same port', async (t) => {
  const args = buildFfmpegArgs(job({ videoPort: 51234, audioPort: 51236 }));
  const urls = args.filter((a) => a.startsWith('rtp://'));
  t.same(urls, ['rtp://127.0.0.1:51234?pkt_size=1200&rtcpport=51234', 'rtp://127.0.0.1:51236?pkt_size=1200&rtcpport=51236']);
  const { video, audio } = outputs(args);
  t.equal(valueOf(video, '-payload_type'), String(VIDEO_PT));
  t.equal(valueOf(audio, '-payload_type'), String(AUDIO_PT));
  t.equal(VIDEO_PT, 96);
  t.equal(AUDIO_PT, 97);
  t.equal(RTP_PACKET_BYTES, 1200);
  const custom = buildFfmpegArgs(job({ host: '127.0.0.2' })).filter((a) => a.startsWith('rtp://'));
  t.match(custom[0], /^rtp:\/\/127\.0\.0\.2:40000\?/, 'host override');
});

t.test('buildFfmpegArgs() with senders: a fixed -ssrc per output and fixed local ports to send from (issue 12 defect 2)', async (t) => {
  const videoSender = { ssrc: 0xdeadbeef, rtcpPort: 51235, localRtpPort: 51240, localRtcpPort: 51241 };
  const audioSender = { ssrc: 7, rtcpPort: 51237, localRtpPort: 51242, localRtcpPort: 51243 };
  const args = buildFfmpegArgs(job({ videoPort: 51234, audioPort: 51236, videoSender, audioSender }));
  t.same(args.filter((a) => a.startsWith('rtp://')), [
    'rtp://127.0.0.1:51234?pkt_size=1200&rtcpport=51235&localrtpport=51240&localrtcpport=51241&localaddr=127.0.0.1',
    'rtp://127.0.0.1:51236?pkt_size=1200&rtcpport=51237&localrtpport=51242&localrtcpport=51243&localaddr=127.0.0.1',
  ]);
  const { video, audio } = outputs(args);
  // FFmpeg's -ssrc is a signed int: 0xdeadbeef is passed as the same 32 bits.
  t.equal(valueOf(video, '-ssrc'), String(0xdeadbeef | 0));
  t.equal(Number(valueOf(video, '-ssrc')) >>> 0, 0xdeadbeef);
  t.equal(valueOf(audio, '-ssrc'), '7');
  t.ok(video.indexOf('-ssrc') > video.indexOf('-f'), '-ssrc is an option of the rtp muxer, after -f rtp');
  t.equal(indexesOf(buildFfmpegArgs(job()), '-ssrc').length, 0, 'no -ssrc without a sender (FFmpeg picks one)');
});

t.test('buildFfmpegArgs() adds -re only when realtime and -stream_loop -1 only when loop, before -i', async (t) => {
  const plain = buildFfmpegArgs(job({ realtime: false, loop: false }));
  t.notOk(plain.includes('-re'));
  t.notOk(plain.includes('-stream_loop'));

  const both = buildFfmpegArgs(job({ realtime: true, loop: true }));
  const i = both.indexOf('-i');
  t.equal(indexesOf(both, '-re').length, 1);
  t.ok(both.indexOf('-re') < i, '-re is an input option');
  t.equal(valueOf(both, '-stream_loop'), '-1');
  t.ok(both.indexOf('-stream_loop') < i, '-stream_loop is an input option');

  t.ok(buildFfmpegArgs(job({ realtime: true, loop: false })).includes('-re'));
  t.notOk(buildFfmpegArgs(job({ realtime: true, loop: false })).includes('-stream_loop'));
  t.notOk(buildFfmpegArgs(job({ realtime: false, loop: true })).includes('-re'));
  t.ok(buildFfmpegArgs(job({ realtime: false, loop: true })).includes('-stream_loop'));
});

t.test('buildFfmpegArgs() reads an SDP input live: no -re, no -stream_loop, rtp/udp allowed (issue 12 defect 6)', async (t) => {
  const args = buildFfmpegArgs(job({ input: '/srv/cam.sdp', realtime: true, loop: true }));
  t.notOk(args.includes('-re'), 'no -re: the session arrives at its own pace');
  t.notOk(args.includes('-stream_loop'), 'a live session cannot loop');
  const i = args.indexOf('-i');
  t.same(args.slice(i - 2, i + 2), ['-protocol_whitelist', 'file,udp,rtp', '-i', '/srv/cam.sdp'], 'the sdp demuxer may open the rtp/udp URLs it describes');
  const own = buildFfmpegArgs(job({ input: 'cam.SDP', inputArgs: ['-protocol_whitelist', 'file,udp,rtp,crypto'] }));
  t.equal(indexesOf(own, '-protocol_whitelist').length, 1, "the operator's own whitelist wins");
  t.equal(valueOf(own, '-protocol_whitelist'), 'file,udp,rtp,crypto');
  const forced = buildFfmpegArgs(job({ input: '/srv/session', inputArgs: ['-f', 'sdp'], realtime: true }));
  t.notOk(forced.includes('-re'), '-f sdp is an SDP input too');
  t.equal(valueOf(forced, '-protocol_whitelist'), 'file,udp,rtp');
  t.same(buildProbeArgs('/srv/cam.sdp', []).slice(3, 5), ['-protocol_whitelist', 'file,udp,rtp'], 'ffprobe gets the whitelist too');
  t.ok(buildFfmpegArgs(job({ input: 'clip.mp4', realtime: true })).includes('-re'), 'files are still read at -re');
  t.notOk(buildFfmpegArgs(job({ input: 'clip.mp4' })).includes('-protocol_whitelist'), 'and get no whitelist');
});

t.test('buildFfmpegArgs() puts inputArgs right before -i, in order', async (t) => {
  const args = buildFfmpegArgs(job({ input: 'rtsp://cam/1', inputArgs: ['-rtsp_transport', 'tcp', '-timeout', '5000000'] }));
  const i = args.indexOf('-i');
  t.same(args.slice(i - 4, i + 2), ['-rtsp_transport', 'tcp', '-timeout', '5000000', '-i', 'rtsp://cam/1']);
  t.equal(indexesOf(args, '-i').length, 1, 'one input');
});

t.test('buildFfmpegArgs() is an argv array: an input with spaces and shell characters stays one element', async (t) => {
  const input = "my clip; rm -rf / && echo $(whoami) 'x'.mp4";
  const args = buildFfmpegArgs(job({ input }));
  t.equal(valueOf(args, '-i'), input);
  t.equal(args.filter((a) => a.includes('my clip')).length, 1);
  t.ok(args.every((a) => typeof a === 'string' && a.length > 0), 'no empty or non-string elements');
  t.equal(args.slice(0, 5).join(' '), '-hide_banner -nostdin -loglevel warning -nostats', 'quiet, non-interactive');
});

t.test('buildProbeArgs() lists streams as JSON with input options before -i', async (t) => {
  t.same(buildProbeArgs('fixtures/media/demo.mp4', []), ['-hide_banner', '-v', 'error', '-show_streams', '-of', 'json', '-i', 'fixtures/media/demo.mp4']);
  const args = buildProbeArgs('rtsp://cam/1', ['-rtsp_transport', 'tcp']);
  t.same(args.slice(-2), ['-i', 'rtsp://cam/1']);
  t.ok(args.indexOf('-rtsp_transport') < args.indexOf('-i'));
  t.equal(valueOf(args, '-rtsp_transport'), 'tcp');
});

t.test('buildFfmpegArgs() puts both RTP outputs on one timeline: the same SR origin, no per-output shift', async (t) => {
  const { video, audio } = outputs(buildFfmpegArgs(job({ startTimeRealtimeUs: 1796051857301618.25 })));
  for (const [name, out] of [['video', video], ['audio', audio]] as const) {
    t.equal(valueOf(out, '-start_time_realtime'), '1796051857301618', `${name}: the shared origin, whole microseconds`);
    t.equal(valueOf(out, '-avoid_negative_ts'), 'disabled', `${name}: Opus pre-skip kept at negative pts`);
  }
  const without = outputs(buildFfmpegArgs(job()));
  t.equal(valueOf(without.audio, '-start_time_realtime'), undefined, 'no origin unless given');
});

t.test('a VP8 job encodes with libvpx for real time, whatever transcodeVideo says', async (t) => {
  for (const transcodeVideo of [false, true]) {
    const { video, audio } = outputs(buildFfmpegArgs(job({ videoCodec: 'vp8', transcodeVideo, frameRate: 30 })));
    t.equal(valueOf(video, '-c:v'), 'libvpx', `transcodeVideo ${transcodeVideo}`);
    t.equal(valueOf(video, '-deadline'), 'realtime');
    t.equal(valueOf(video, '-cpu-used'), '-6', 'a fixed speed, not libvpx filling half of each frame time');
    t.equal(valueOf(video, '-lag-in-frames'), '0', 'no frame is held back for look-ahead');
    t.equal(valueOf(video, '-auto-alt-ref'), '0');
    t.equal(valueOf(video, '-g'), '30', 'the stream keyframe interval in frames');
    t.equal(valueOf(video, '-b:v'), '2500k');
    t.equal(valueOf(video, '-payload_type'), String(VIDEO_PT));
    t.notOk(video.includes('-bsf:v'), 'no H264 bitstream filter');
    t.equal(valueOf(audio, '-c:a'), 'libopus', 'the same Opus audio output');
  }
  t.same(videoCodecArgs(job({ videoCodec: 'vp8' })).slice(-2), ['-force_key_frames', 'expr:gte(t,n_forced*1)'], 'keyframes by time when the rate is unknown');
});
