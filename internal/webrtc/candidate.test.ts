import t from 'tap';
import { BadRequestError } from '../errors/index.js';
import { checkSdpCandidates, parseCandidate } from './candidate.js';
import { planAnswer } from './negotiate.js';
import { readFileSync } from 'node:fs';

t.test('parseCandidate() reads browser candidates, with or without a=', async (t) => {
  t.same(parseCandidate('candidate:842163049 1 udp 1677729535 203.0.113.7 61000 typ srflx raddr 0.0.0.0 rport 0 generation 0'), {
    foundation: '842163049',
    component: 1,
    transport: 'udp',
    priority: 1677729535,
    address: '203.0.113.7',
    port: 61000,
    type: 'srflx',
  });
  t.equal(parseCandidate('a=candidate:3 1 tcp 1518280447 ::1 9 typ host tcptype active')?.type, 'host');
  t.equal(parseCandidate('a=candidate:1 1 UDP 2122260223 x.local 50000 typ HOST')?.type, 'host', 'type is case-insensitive');
  t.equal(parseCandidate('candidate:1 256 udp 2147483647 127.0.0.1 65535 typ relay')?.port, 65535, 'the largest values');
});

// Each row was accepted by one of the two regexes whepd had (offer: webrtc/peer.ts, PATCH:
// whep/sdpfrag.ts) and refused by the other; one grammar now refuses them on both paths.
const disagreed: [string, string][] = [
  ['component 0', 'candidate:1 0 udp 1 127.0.0.1 9 typ host'],
  ['component 257', 'candidate:1 257 udp 1 127.0.0.1 9 typ host'],
  ['priority over 2^31-1', 'candidate:1 1 udp 4294967295 127.0.0.1 9 typ host'],
  ['unknown type', 'candidate:1 1 udp 1 127.0.0.1 9 typ bogus'],
  ['type glued to more text', 'candidate:1 1 udp 1 127.0.0.1 9 typ hostile'],
  ['foundation of 33 chars', `candidate:${'a'.repeat(33)} 1 udp 1 127.0.0.1 9 typ host`],
  ['port of 6 digits', 'candidate:1 1 udp 1 127.0.0.1 065535 typ host'],
];
const malformed: [string, string][] = [
  ['truncated', 'candidate:1 1 udp'],
  ['empty', 'candidate:'],
  ['words for numbers', 'candidate:1 one udp 1 127.0.0.1 9 typ host'],
  ['no typ', 'candidate:1 1 udp 1 127.0.0.1 9 host'],
  ['port 65536', 'candidate:1 1 udp 1 127.0.0.1 65536 typ host'],
  ['priority 0', 'candidate:1 1 udp 0 127.0.0.1 9 typ host'],
  ['not a candidate', 'ice-ufrag:x'],
];

t.test('parseCandidate() refuses what breaks RFC 8839 section 5.1', async (t) => {
  for (const [name, line] of [...disagreed, ...malformed]) t.equal(parseCandidate(line), undefined, name);
});

t.test('planAnswer() answers 400 for a malformed offer candidate (before any peer or slot)', async (t) => {
  const offer = readFileSync('fixtures/offers/chromium-recvonly.sdp', 'utf8');
  t.ok(planAnswer(offer), 'the fixture with its candidates plans');
  for (const [name, line] of disagreed) {
    const bad = offer.replace(/^(a=mid:0\r?\n)/m, `$1a=${line}\r\n`);
    t.throws(() => planAnswer(bad), BadRequestError, name);
    t.throws(() => checkSdpCandidates(bad), { status: 400, message: /^offer has a malformed ICE candidate: a=candidate:/ }, name);
  }
});
