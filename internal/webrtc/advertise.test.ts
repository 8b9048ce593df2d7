import t from 'tap';
import { advertiseCandidates } from './advertise.js';

const answer = [
  'v=0',
  'm=video 50000 UDP/TLS/RTP/SAVPF 96',
  'a=mid:0',
  'a=candidate:1 1 UDP 2122317823 10.0.0.5 50000 typ host',
  'a=candidate:2 1 UDP 1686052607 198.51.100.1 50000 typ srflx raddr 10.0.0.5 rport 50000',
  'a=end-of-candidates',
  '',
].join('\r\n');

t.test('advertiseCandidates() adds a host twin per advertised address with the gathered port', async (t) => {
  const out = advertiseCandidates(answer, ['203.0.113.7', '2001:db8::7'], false);
  const cands = out.split('\r\n').filter((l) => l.startsWith('a=candidate:'));
  t.same(cands, [
    'a=candidate:1 1 UDP 2122317823 10.0.0.5 50000 typ host',
    'a=candidate:1a0 1 UDP 2122317822 203.0.113.7 50000 typ host',
    'a=candidate:1a1 1 UDP 2122317821 2001:db8::7 50000 typ host',
    'a=candidate:2 1 UDP 1686052607 198.51.100.1 50000 typ srflx raddr 10.0.0.5 rport 50000',
  ]);
  t.ok(out.endsWith('a=end-of-candidates\r\n'), 'the rest of the answer is kept, CRLF included');
});

t.test('advertiseCandidates() with only drops the gathered candidates; no addresses changes nothing', async (t) => {
  const cands = advertiseCandidates(answer, ['203.0.113.7'], true).split('\r\n').filter((l) => l.startsWith('a=candidate:'));
  t.same(cands, ['a=candidate:1a0 1 UDP 2122317822 203.0.113.7 50000 typ host']);
  t.equal(advertiseCandidates(answer, [], true), answer);
});
