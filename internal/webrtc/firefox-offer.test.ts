/**
 * What Debian's firefox-esr 153 (no OpenH264) really offers through whepd's player, as e2e/firefox
 * captured it (fixtures/offers/firefox-esr-153*.sdp, CRLF as the browser wrote them): the offers
 * that whepd's VP8 fallback (issue 13 item 4) must answer. Only the offers' shape is asserted here;
 * planAnswer() on them belongs with the VP8 negotiation.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'sdp-transform';

const offer = (name: string) => readFileSync(new URL(`../../fixtures/offers/${name}`, import.meta.url), 'utf8');

for (const [file, trickle] of [
  ['firefox-esr-153.sdp', false],
  ['firefox-esr-153-trickle.sdp', true],
] as const) {
  t.test(`${file}: max-bundle, video VP8/VP9/AV1 and no H264, audio Opus PT 109, the audio m-line bundle-only`, async (t) => {
    const sdp = offer(file);
    t.ok(sdp.endsWith('\r\n') && !/[^\r]\n/.test(sdp), 'CRLF line endings, as written by the browser');
    t.match(sdp, /^o=mozilla\.\.\.THIS_IS_SDPARTA-99\.0 /m, "Firefox's origin line");
    const s = parse(sdp);
    t.same(s.groups, [{ type: 'BUNDLE', mids: '0 1' }]);
    t.same(
      s.media.map((m) => [m.type, String(m.mid), m.direction]),
      [
        ['video', '0', 'recvonly'],
        ['audio', '1', 'recvonly'],
      ],
      'video first (the player adds it first), both recvonly',
    );
    const [video, audio] = s.media;
    // RFC 9143 section 7.2 (max-bundle): every m-line but the first is port 0 + a=bundle-only.
    t.equal(audio?.port, 0);
    t.equal(audio?.bundleOnly, 'bundle-only');
    t.equal(video?.bundleOnly, undefined);
    t.equal(video?.port, trickle ? 9 : Number(video?.candidates?.[0]?.port), trickle ? 'port 9 before gathering' : 'the port of the first candidate');

    const codecs = (m: typeof video) => (m?.rtp ?? []).map((r) => `${r.payload} ${r.codec}/${r.rate}${r.encoding ? `/${r.encoding}` : ''}`);
    t.same(codecs(video), ['120 VP8/90000', '124 rtx/90000', '121 VP9/90000', '125 rtx/90000', '99 AV1/90000', '100 rtx/90000', '123 ulpfec/90000', '122 red/90000', '119 rtx/90000']);
    t.notMatch(sdp, /H264/i, 'no H264 anywhere: the VP8 fallback is the only way this browser plays');
    t.same(
      (video?.fmtp ?? []).map((f) => `${f.payload} ${f.config}`),
      ['120 max-fs=12288;max-fr=60', '124 apt=120', '121 max-fs=12288;max-fr=60', '125 apt=121', '100 apt=99', '119 apt=122'],
    );
    t.same(
      (video?.rtcpFb ?? []).filter((f) => f.payload === 120).map((f) => `${f.type}${f.subtype ? ` ${f.subtype}` : ''}`),
      ['nack', 'nack pli', 'ccm fir', 'goog-remb', 'transport-cc'],
      'VP8 asks for NACK, PLI and FIR',
    );
    t.same(codecs(audio), ['109 opus/48000/2', '9 G722/8000/1', '0 PCMU/8000', '8 PCMA/8000', '101 telephone-event/8000']);
    t.same(
      (audio?.fmtp ?? []).find((f) => f.payload === 109)?.config,
      'maxplaybackrate=48000;stereo=1;useinbandfec=1',
    );
    t.notMatch(sdp, /a=rtcp-mux-only/, 'no rtcp-mux-only (RFC 8858)');
    for (const m of s.media) {
      t.equal(m.rtcpMux, 'rtcp-mux', `${m.type}: rtcp-mux`);
      t.equal(m.setup, 'actpass');
    }
    t.equal(video?.iceUfrag, audio?.iceUfrag, 'one ICE ufrag for both m-lines');

    const candidates = (video?.candidates ?? []).map((c) => `${c.component} ${c.transport} ${c.ip} ${c.port === 9 ? 9 : 'port'} ${c.type}${c.tcptype ? ` ${c.tcptype}` : ''}`);
    if (trickle) {
      t.same(candidates, [], 'POSTed right after setLocalDescription: candidates come in PATCHes');
      t.equal(video?.endOfCandidates, undefined);
    } else {
      // Gathered in e2e/firefox/run.sh's namespace (10.77.4.1 on lo, default route on lo). Firefox
      // still gathers RTP and RTCP (component 2) although it offers rtcp-mux.
      t.same(candidates, ['1 UDP 10.77.4.1 port host', '1 TCP 10.77.4.1 9 host active', '2 UDP 10.77.4.1 port host', '2 TCP 10.77.4.1 9 host active']);
      t.equal(video?.endOfCandidates, 'end-of-candidates');
    }
    t.same(audio?.candidates ?? [], [], 'the bundle-only m-line has no candidates');
  });
}
