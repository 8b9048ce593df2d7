/** planAnswer against real Chromium offers (fixtures/offers, CRLF as the browser wrote them). */
import t from 'tap';
import type { Test } from 'tap';
import { readFileSync } from 'node:fs';
import { BadRequestError, CodecNotAcceptableError } from '../errors/index.js';
import { h264ProfileRank, parseFmtp, planAnswer } from './negotiate.js';
import type { PlanOptions } from './negotiate.js';

const offer = (name: string) => readFileSync(new URL(`../../fixtures/offers/${name}`, import.meta.url), 'utf8');

const chromium = offer('chromium-recvonly.sdp');
const OPUS_FMTP = 'minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1';

/** Calls planAnswer and returns what it throws (fails the test when it does not throw). */
function refusal(t: Test, sdp: string, o: PlanOptions = {}): Error {
  try {
    planAnswer(sdp, o);
  } catch (err) {
    return err as Error;
  }
  t.fail('planAnswer accepted the offer');
  return new Error('accepted');
}

t.test('planAnswer() on the Chromium offer picks H264 PT 108 on mid 0 and Opus PT 111 on mid 1', async (t) => {
  t.ok(chromium.includes('\r\n'), 'fixture keeps CRLF');
  const plan = planAnswer(chromium);
  t.same(plan.video, { codec: 'h264', mid: '0', payloadType: 108, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' });
  t.same(plan.audio, { mid: '1', payloadType: 111, fmtp: OPUS_FMTP });
  t.equal(plan.iceUfrag, 'zOd2');
  const fmtp = parseFmtp(plan.audio.fmtp);
  t.equal(fmtp.get('stereo'), '1');
  t.equal(fmtp.get('sprop-stereo'), '1');
});

t.test('planAnswer() on the audio-first offer swaps the mids', async (t) => {
  const plan = planAnswer(offer('chromium-recvonly-audio-first.sdp'));
  t.equal(plan.video.mid, '1');
  t.equal(plan.video.payloadType, 108);
  t.equal(plan.audio.mid, '0');
  t.equal(plan.audio.payloadType, 111);
  t.equal(plan.audio.fmtp, OPUS_FMTP);
  t.equal(plan.iceUfrag, 'igzu');
});

t.test('planAnswer() accepts the trickle offer (no candidates, port 9)', async (t) => {
  const sdp = offer('chromium-recvonly-trickle.sdp');
  t.notMatch(sdp, /a=candidate/, 'fixture has no candidates');
  const plan = planAnswer(sdp);
  t.same(plan.video, { codec: 'h264', mid: '0', payloadType: 108, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' });
  t.same(plan.audio, { mid: '1', payloadType: 111, fmtp: OPUS_FMTP });
  t.equal(plan.iceUfrag, '2U8Q');
});

t.test('planAnswer() accepts the same offer with LF line endings', async (t) => {
  const plan = planAnswer(chromium.replace(/\r\n/g, '\n'));
  t.equal(plan.video.payloadType, 108);
  t.equal(plan.audio.payloadType, 111);
});

t.test('planAnswer() falls back to the 42001f PT when the 42e01f one is absent', async (t) => {
  const without108 = chromium.replace(/profile-level-id=42e01f/g, 'profile-level-id=640032');
  const plan = planAnswer(without108);
  t.equal(plan.video.payloadType, 102, 'baseline 42001f beats high 640032');
});

t.test('planAnswer() refuses an offer without H264 with a 406 naming the video m-line', async (t) => {
  const err = refusal(t, offer('firefox-like-no-h264.sdp'));
  t.type(err, CodecNotAcceptableError);
  t.equal((err as CodecNotAcceptableError).status, 406);
  t.equal((err as CodecNotAcceptableError).code, 'CODEC_NOT_ACCEPTABLE');
  t.match(err.message, /^offer's video m-line \(mid 0\) has no H264 with packetization-mode=1 and a profile that decodes constrained baseline; whepd sends/);
  t.notMatch(err.message, 'audio m-line', 'audio is fine, so it is not blamed');
});

t.test('planAnswer() with a VP8 encoding answers an offer without H264 with VP8 (RFC 7741)', async (t) => {
  const plan = planAnswer(offer('firefox-like-no-h264.sdp'), { vp8: true });
  t.same(plan.video, { codec: 'vp8', mid: '0', payloadType: 96, fmtp: '' });
  t.same(plan.audio, { mid: '1', payloadType: 111, fmtp: OPUS_FMTP }, 'the same audio as an H264 viewer');
});

t.test('planAnswer() prefers H264 over VP8 when the offer has both', async (t) => {
  const plan = planAnswer(chromium, { vp8: true });
  t.equal(plan.video.codec, 'h264');
  t.equal(plan.video.payloadType, 108);
});

t.test('planAnswer() with a VP8 encoding refuses an offer with neither, naming both codecs', async (t) => {
  const sdp = offer('firefox-like-no-h264.sdp').replace(/VP8\/90000/g, 'VP9/90000');
  const err = refusal(t, sdp, { vp8: true });
  t.type(err, CodecNotAcceptableError);
  t.match(err.message, /^offer's video m-line \(mid 0\) has no H264 [^;]*, and no VP8; whepd sends H264 \(packetization-mode=1\) or VP8 and Opus\/48000\/2$/);
});

t.test('planAnswer() takes VP8 from a bundle-only video m-line (audio first, max-bundle)', async (t) => {
  const gst = offer('gstreamer-max-bundle-audio-first.sdp').replace(/H264\/90000/g, 'VP8/90000');
  const plan = planAnswer(gst, { vp8: true });
  t.equal(plan.video.codec, 'vp8');
  t.equal(plan.video.mid, 'video1');
});

t.test('planAnswer() refuses an offer without Opus with a 406 naming the audio m-line', async (t) => {
  const err = refusal(t, offer('no-opus.sdp'));
  t.type(err, CodecNotAcceptableError);
  t.equal((err as CodecNotAcceptableError).status, 406);
  t.match(err.message, /^offer's audio m-line \(mid 1\) has no Opus\/48000\/2; whepd sends H264 \(packetization-mode=1\) and Opus\/48000\/2$/);
  t.notMatch(err.message, 'video m-line', 'video is fine, so it is not blamed');
});

t.test('planAnswer() refuses an offer whose H264 PTs are all packetization-mode=0', async (t) => {
  const mode0 = chromium.replace(/packetization-mode=1/g, 'packetization-mode=0');
  t.notMatch(mode0, /packetization-mode=1/);
  const err = refusal(t, mode0);
  t.type(err, CodecNotAcceptableError);
  t.equal((err as CodecNotAcceptableError).status, 406);
  t.match(err.message, "offer's video m-line (mid 0) has no H264 with packetization-mode=1");
});

t.test('planAnswer() names both m-lines in one sentence when both are refused', async (t) => {
  const sdp = offer('firefox-like-no-h264.sdp').replace(/m=audio .*\r\n[\s\S]*$/, (m) => m.replace(/opus\/48000\/2/g, 'PCMU/8000'));
  const err = refusal(t, sdp);
  t.type(err, CodecNotAcceptableError);
  t.match(err.message, /^offer's video m-line \(mid 0\) has no H264 [^;]*, and offer's audio m-line \(mid 1\) has no Opus\/48000\/2; whepd sends /);
  t.equal(err.message.split(';').length, 2, 'one sentence: the refusals, then what whepd sends');
});

t.test('planAnswer() refuses m-lines that cannot receive, saying which and why', async (t) => {
  const sendonly = chromium.replace(/a=recvonly/g, 'a=sendonly');
  t.match(refusal(t, sendonly).message, /^offer's video m-line \(mid 0\) is sendonly, and offer's audio m-line \(mid 1\) is sendonly;/);
  const inactiveVideo = chromium.replace('a=recvonly', 'a=inactive'); // first one is the video m-line
  const err = refusal(t, inactiveVideo);
  t.type(err, CodecNotAcceptableError);
  t.match(err.message, /^offer's video m-line \(mid 0\) is inactive;/);
  t.notMatch(err.message, 'audio m-line');
  const rejectedAudio = chromium.replace(/m=audio \d+/, 'm=audio 0');
  t.match(refusal(t, rejectedAudio).message, /^offer's audio m-line \(mid 1\) was rejected by the offerer \(port 0 without a=bundle-only\);/);
  const noVideo = chromium.replace(/m=video [\s\S]*?(?=m=audio)/, '').replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 1');
  t.notMatch(noVideo, /m=video/);
  t.match(refusal(t, noVideo).message, /^offer has no video m-line;/);
  const noMid = chromium.replace('a=mid:0\r\n', '');
  t.match(refusal(t, noMid).message, /^offer's video m-line \(m-line 1\) has no a=mid/);
});

const maxBundle = offer('chromium-max-bundle.sdp');
const maxBundleAudioFirst = offer('chromium-max-bundle-audio-first.sdp');

t.test('planAnswer() on the max-bundle offer answers its bundle-only audio m-line', async (t) => {
  t.match(maxBundle, /\r\nm=audio 0 [^\r]*\r\n(?:(?!m=)[^\r]*\r\n)*a=bundle-only\r\n/, 'fixture: audio m-line is port 0 + bundle-only');
  t.match(maxBundle, /a=group:BUNDLE 0 1\r\n/);
  const plan = planAnswer(maxBundle);
  t.same(plan.video, { codec: 'h264', mid: '0', payloadType: 108, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' });
  t.same(plan.audio, { mid: '1', payloadType: 111, fmtp: OPUS_FMTP });
  t.equal(plan.iceUfrag, 'zOd2');
  t.equal(plan.icePwd, 'tG7Z8+eS16vrjSVVtWFfvGNN');
});

t.test('planAnswer() on the audio-first max-bundle offer answers its bundle-only video m-line', async (t) => {
  t.match(maxBundleAudioFirst, /\r\nm=video 0 [^\r]*\r\n(?:(?!m=)[^\r]*\r\n)*a=bundle-only\r\n/, 'fixture: video m-line is port 0 + bundle-only');
  const plan = planAnswer(maxBundleAudioFirst);
  t.same(plan.video, { codec: 'h264', mid: '1', payloadType: 108, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' });
  t.same(plan.audio, { mid: '0', payloadType: 111, fmtp: OPUS_FMTP });
  t.equal(plan.iceUfrag, 'igzu');
  t.equal(plan.icePwd, '5D/AlXZZm8qqC6vcFrA+gK7S');
});

t.test('planAnswer() accepts a bundle-only m-line without ICE credentials (JSEP section 5.2.1)', async (t) => {
  let section = 0;
  const bare = maxBundle
    .split('\r\n')
    .filter((line) => {
      if (line.startsWith('m=')) section++;
      return !(section === 2 && /^a=(ice-ufrag|ice-pwd|ice-options|fingerprint|setup):/.test(line));
    })
    .join('\r\n');
  t.equal(bare.match(/a=ice-ufrag:/g)?.length, 1, 'only the offerer-tagged m-line has credentials');
  const plan = planAnswer(bare);
  t.equal(plan.audio.mid, '1');
  t.equal(plan.iceUfrag, 'zOd2', 'taken from the m-line that has them');
});

t.test('planAnswer() refuses a bundle-only m-line whose mid is in no BUNDLE group', async (t) => {
  const unbundled = maxBundle.replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0');
  const err = refusal(t, unbundled);
  t.type(err, CodecNotAcceptableError);
  t.match(err.message, /^offer's audio m-line \(mid 1\) was rejected by the offerer \(port 0, a=bundle-only, but mid 1 is in no BUNDLE group\);/);
  const noGroup = maxBundle.replace('a=group:BUNDLE 0 1\r\n', '');
  t.match(refusal(t, noGroup).message, 'in no BUNDLE group');
});

t.test('planAnswer() refuses the bundled m-line once bundle-only is gone (plain port 0)', async (t) => {
  const err = refusal(t, maxBundleAudioFirst.replace('a=bundle-only\r\n', ''));
  t.match(err.message, /^offer's video m-line \(mid 1\) was rejected by the offerer \(port 0 without a=bundle-only\);/);
});

t.test('planAnswer() skips rtpmap lines whose payload type is not an integer 0-127', async (t) => {
  const H264 = 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f';
  for (const pt of ['', '007', '128', '99999999999']) {
    // Each bogus line comes first in its m-line, with as good a codec as the real one.
    const sdp = chromium
      .replace('a=rtpmap:111 opus/48000/2\r\n', `a=rtpmap:${pt} opus/48000/2\r\na=rtpmap:111 opus/48000/2\r\n`)
      .replace('a=rtpmap:102 H264/90000\r\n', `a=rtpmap:${pt} H264/90000\r\na=fmtp:${pt} ${H264}\r\na=rtpmap:102 H264/90000\r\n`);
    t.not(sdp, chromium);
    const plan = planAnswer(sdp);
    t.equal(plan.audio.payloadType, 111, `audio with a=rtpmap:${pt} first`);
    t.equal(plan.video.payloadType, 108, `video with a=rtpmap:${pt} first`);
  }
  const only = chromium.replace(/a=rtpmap:111 opus\/48000\/2\r\n/, 'a=rtpmap: opus/48000/2\r\n');
  t.match(refusal(t, only).message, /^offer's audio m-line \(mid 1\) has no Opus\/48000\/2;/, 'an empty PT is no Opus: 406, not a 500');
});

t.test('planAnswer() answers 400 for text that is not an SDP offer', async (t) => {
  for (const [name, body] of [
    ['garbage', 'hello, this is not SDP at all'],
    ['empty', ''],
    ['JSON', '{"type":"offer","sdp":"v=0"}'],
    ['v=0 only', 'v=0\r\n'],
    ['v=0 with junk lines', 'v=0\r\nthis is not sdp\r\nneither=this\r\n'],
    ['leading space', ` ${chromium}`],
  ] as const) {
    const err = refusal(t, body);
    t.type(err, BadRequestError, name);
    t.equal((err as BadRequestError).status, 400, name);
  }
  t.match(refusal(t, 'v=0\r\n').message, 'no m= lines');
});

t.test('h264ProfileRank() orders profiles by how well they decode constrained baseline', async (t) => {
  const cb = h264ProfileRank('42e01f');
  const base = h264ProfileRank('42001f');
  const main = h264ProfileRank('4d001f');
  const high = h264ProfileRank('64001f');
  t.ok(cb !== undefined && base !== undefined && main !== undefined && high !== undefined, 'all ranked');
  t.ok((cb as number) < (base as number), '42e01f < 42001f');
  t.ok((base as number) < (main as number), '42001f < 4d001f');
  t.ok((main as number) < (high as number), '4d001f < 64001f');
  t.equal(h264ProfileRank('42c01f'), cb, '42c01f (constraint_set1) is constrained baseline too');
  t.equal(h264ProfileRank('42E01F'), cb, 'case-insensitive');
  t.equal(h264ProfileRank(undefined), base, 'absent means 42001f (RFC 6184 section 8.1 default)');
  t.equal(h264ProfileRank('zzz'), undefined);
  t.equal(h264ProfileRank('42e01'), undefined, 'five hex digits');
  t.equal(h264ProfileRank('ff001f'), undefined, 'unknown profile_idc');
  t.equal(h264ProfileRank('f4001f'), high, 'High 4:4:4 ranks with High');
});

t.test('parseFmtp() lower-cases keys and keeps values', async (t) => {
  const m = parseFmtp('Level-Asymmetry-Allowed=1; packetization-mode=1;profile-level-id=42E01F;junk;=x');
  t.equal(m.get('level-asymmetry-allowed'), '1');
  t.equal(m.get('packetization-mode'), '1');
  t.equal(m.get('profile-level-id'), '42E01F');
  t.equal(m.size, 3, 'parts without a key are skipped');
});

// Offers of the stacks in e2e/gst and e2e/werift-client.ts, as they POSTed them to the real binary.
// GStreamer webrtcbin (bundle-policy max-bundle): mids audio0/video1 or video0/audio1, the second
// m-line port 0 + a=bundle-only with its own credentials, `a=rtpmap:111 OPUS/48000` (no channel
// count, upper case), only a=rtcp-mux-only on the m-lines, H264 PT 102 with no level-asymmetry-allowed.
const H264_GST = 'packetization-mode=1;profile-level-id=42e01f';
const bundleOnly = (kind: string) => new RegExp(`\\r\\nm=${kind} 0 [^\\r]*\\r\\n(?:(?!m=)[^\\r]*\\r\\n)*a=bundle-only\\r\\n`);

for (const [file, ufrag, candidates] of [
  ['gstreamer-max-bundle-audio-first.sdp', 'Npv00E/+9YqmUzf5Rcju2PCX65q5VkEE', 3],
  ['gstreamer-max-bundle-audio-first-trickle.sdp', 'mmhvGXvXOyw/XL271boBen7Sx4cGmJJW', 0],
] as const) {
  t.test(`planAnswer() on GStreamer's audio-first max-bundle offer (${file}) answers the bundle-only video m-line`, async (t) => {
    const sdp = offer(file);
    t.match(sdp, bundleOnly('video'), 'fixture: m=video is port 0 + a=bundle-only');
    t.match(sdp, /a=group:BUNDLE audio0 video1\r\n/);
    t.equal(sdp.match(/a=candidate:/g)?.length ?? 0, candidates);
    const plan = planAnswer(sdp);
    t.same(plan.video, { codec: 'h264', mid: 'video1', payloadType: 102, fmtp: H264_GST });
    t.same(plan.audio, { mid: 'audio0', payloadType: 111, fmtp: OPUS_FMTP }, 'OPUS/48000 without /2 is taken');
    t.equal(plan.iceUfrag, ufrag);
  });
}

for (const [file, ufrag, candidates] of [
  ['gstreamer-max-bundle-video-first.sdp', 'nNtkPU2dTqVrBUBTswtkd92hdxys7aqw', 3],
  ['gstreamer-max-bundle-video-first-trickle.sdp', '6xGFml5MUcE3usnzUzWaiYnM0RpWII3H', 0],
] as const) {
  t.test(`planAnswer() on GStreamer's video-first max-bundle offer (${file}) answers the bundle-only audio m-line`, async (t) => {
    const sdp = offer(file);
    t.match(sdp, bundleOnly('audio'), 'fixture: m=audio is port 0 + a=bundle-only');
    t.match(sdp, /a=group:BUNDLE video0 audio1\r\n/);
    t.equal(sdp.match(/a=candidate:/g)?.length ?? 0, candidates);
    const plan = planAnswer(sdp);
    t.same(plan.video, { codec: 'h264', mid: 'video0', payloadType: 102, fmtp: H264_GST });
    t.same(plan.audio, { mid: 'audio1', payloadType: 111, fmtp: OPUS_FMTP });
    t.equal(plan.iceUfrag, ufrag);
  });
}

t.test("planAnswer() refuses GStreamer's bundled m-line by its mid once a=bundle-only is gone", async (t) => {
  const err = refusal(t, offer('gstreamer-max-bundle-audio-first.sdp').replace('a=bundle-only\r\n', ''));
  t.type(err, CodecNotAcceptableError);
  t.match(err.message, /^offer's video m-line \(mid video1\) was rejected by the offerer \(port 0 without a=bundle-only\);/);
});

// werift 0.24 (default bundlePolicy max-compat; with max-bundle too, neither m-line is bundle-only): port 9,
// numeric mids, H264 PT 97, opus PT 96 with no fmtp, candidates on each m-line when gathered.
for (const [file, ufrag, candidates] of [
  ['werift-max-compat.sdp', 'abaf', 2],
  ['werift-max-compat-trickle.sdp', '9dc3', 0],
] as const) {
  t.test(`planAnswer() on the werift offer (${file}) picks H264 PT 97 and Opus PT 96`, async (t) => {
    const sdp = offer(file);
    t.notMatch(sdp, /a=bundle-only/);
    t.equal(sdp.match(/a=candidate:/g)?.length ?? 0, candidates);
    const plan = planAnswer(sdp);
    t.same(plan.video, { codec: 'h264', mid: '0', payloadType: 97, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' });
    t.same(plan.audio, { mid: '1', payloadType: 96, fmtp: OPUS_FMTP });
    t.equal(plan.iceUfrag, ufrag);
  });
}

for (const name of ['firefox-esr-153.sdp', 'firefox-esr-153-trickle.sdp']) {
  t.test(`planAnswer() on Firefox ESR's real offer (${name}, no OpenH264): VP8 with a VP8 encoding, 406 without`, async (t) => {
    const ff = offer(name);
    const plan = planAnswer(ff, { vp8: true });
    t.same(plan.video, { codec: 'vp8', mid: '0', payloadType: 120, fmtp: '' });
    t.same(plan.audio, { mid: '1', payloadType: 109, fmtp: OPUS_FMTP }, 'the bundle-only audio m-line');
    const err = refusal(t, ff);
    t.match(err.message, /^offer's video m-line \(mid 0\) has no H264 /);
  });
}
