import t from 'tap';
import type { Test } from 'tap';
import { BadRequestError } from '../errors/index.js';
import { parseSdpFragment } from './sdpfrag.js';

const C1 = 'candidate:2284183423 1 udp 2113937151 127.0.0.1 40350 typ host generation 0 network-cost 999';
const C2 = 'candidate:2404889551 1 udp 2113942271 ::1 53961 typ host generation 0 network-cost 999';
const C3 = 'candidate:842163049 1 udp 1677729535 203.0.113.7 61000 typ srflx raddr 0.0.0.0 rport 0 generation 0';
const C4 = 'candidate:3 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active';

/** Returns what parseSdpFragment throws (fails the test if it does not). */
function refusal(t: Test, body: string, max = 20): BadRequestError | undefined {
  try {
    parseSdpFragment(body, max);
  } catch (err) {
    return err as BadRequestError;
  }
  t.fail('parseSdpFragment accepted the body');
  return undefined;
}

t.test('parseSdpFragment() reads ufrag, pwd, candidates with their mid, and end-of-candidates', async (t) => {
  const body = [
    'a=ice-options:trickle ice2',
    'a=group:BUNDLE 0 1',
    'm=video 9 UDP/TLS/RTP/SAVPF 108',
    'a=mid:0',
    'a=ice-ufrag:EsAw',
    'a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y',
    `a=${C1}`,
    `a=${C2}`,
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'a=mid:1',
    `a=${C3}`,
    'a=end-of-candidates',
    '',
  ].join('\r\n');
  const frag = parseSdpFragment(body, 20);
  t.equal(frag.iceUfrag, 'EsAw');
  t.equal(frag.icePwd, 'bP+XJMM09aR8AiX1jdukzR6Y');
  t.same(frag.candidates, [
    { candidate: C1, mid: '0' },
    { candidate: C2, mid: '0' },
    { candidate: C3, mid: '1' },
  ]);
  t.equal(frag.endOfCandidates, true);
});

t.test('parseSdpFragment() accepts LF line endings and a candidate before any mid', async (t) => {
  const frag = parseSdpFragment(`a=${C4}\na=mid:0\na=${C1}\n`, 20);
  t.same(frag.candidates, [
    { candidate: C4, mid: undefined },
    { candidate: C1, mid: '0' },
  ]);
  t.equal(frag.endOfCandidates, false);
  t.equal(frag.iceUfrag, undefined);
  t.equal(frag.icePwd, undefined);
});

t.test('parseSdpFragment() with only end-of-candidates has no candidates', async (t) => {
  const frag = parseSdpFragment('a=ice-ufrag:x\r\na=ice-pwd:y\r\na=mid:0\r\na=end-of-candidates\r\n', 20);
  t.same(frag, { iceUfrag: 'x', icePwd: 'y', candidates: [], endOfCandidates: true });
});

t.test('parseSdpFragment() answers 400 for a malformed candidate', async (t) => {
  for (const line of ['a=candidate:1 1 udp', 'a=candidate:', 'a=candidate:1 one udp 2113937151 127.0.0.1 40350 typ host', 'a=candidate:1 1 udp 2113937151 127.0.0.1 port typ host', 'a=candidate:1 1 udp 2113937151 127.0.0.1 40350 host']) {
    const err = refusal(t, `a=mid:0\r\n${line}\r\n`);
    t.type(err, BadRequestError, line);
    t.equal(err?.status, 400, line);
    t.match(err?.message, 'malformed candidate line', line);
  }
});

t.test('parseSdpFragment() answers 400 beyond maxCandidates, and accepts exactly the max', async (t) => {
  const three = `a=mid:0\r\na=${C1}\r\na=${C2}\r\na=${C4}\r\n`;
  const err = refusal(t, three, 2);
  t.type(err, BadRequestError);
  t.equal(err?.status, 400);
  t.match(err?.message, 'too many candidates in one PATCH (max 2)');
  t.equal(parseSdpFragment(three, 3).candidates.length, 3);
});

t.test('parseSdpFragment() answers 400 for a body that is not SDP', async (t) => {
  for (const body of ['hello world', '{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host"}', `a=mid:0\r\n${C1}\r\n`, 'A=candidate:x']) {
    const err = refusal(t, body);
    t.type(err, BadRequestError, JSON.stringify(body));
    t.equal(err?.status, 400);
  }
  t.match(refusal(t, 'hello world')?.message, 'not an SDP fragment');
});
