import t from 'tap';
import { holdBackCandidates } from './hold-candidates.js';

t.test('holdBackCandidates splits the offer candidates off with their mids', async (t) => {
  const offer = [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'm=video 9 UDP/TLS/RTP/SAVPF 96',
    'a=candidate:1 1 UDP 2122260223 127.0.0.1 50000 typ host',
    'a=mid:0',
    'a=candidate:2 1 UDP 2122260223 127.0.0.1 50001 typ host',
    'a=end-of-candidates',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'a=mid:1',
    'a=candidate:3 1 UDP 2122260223 127.0.0.1 50002 typ host',
    '',
  ].join('\r\n');
  const held = holdBackCandidates(offer);
  t.same(held.candidates, [
    { candidate: 'candidate:1 1 UDP 2122260223 127.0.0.1 50000 typ host', mid: '0' },
    { candidate: 'candidate:2 1 UDP 2122260223 127.0.0.1 50001 typ host', mid: '0' },
    { candidate: 'candidate:3 1 UDP 2122260223 127.0.0.1 50002 typ host', mid: '1' },
  ]);
  t.notMatch(held.offer, /a=candidate|end-of-candidates/);
  t.match(held.offer, /^m=video 9 UDP\/TLS\/RTP\/SAVPF 96\r\na=mid:0\r\nm=audio/m);
});
