/**
 * Shared parts of the WHEP fuzz tests (internal/app/fuzz*.test.ts): the seed, the known-bug
 * classifier, the offer fixtures, the loopback guard and the candidate-line arbitrary.
 */
import type { Test } from 'tap';
import fc from 'fast-check';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
export const SEED = Number(process.env.FUZZ_SEED ?? 20240607);
export const RUNS = Number(process.env.FUZZ_RUNS ?? 5000);
export const PATCH_RUNS = Number(process.env.FUZZ_PATCH_RUNS ?? 1000);
// The input in flight is written here first, so a native crash (which kills tap's report) still
// leaves the exact bytes that caused it.
export const LAST_INPUT = join(tmpdir(), `whepd-fuzz-last-input-${process.pid}.bin`);

// Bugs this fuzzer found, now fixed; their checks stay as regressions.
export const BUG_REJECTED_OFFER =
  'fixed bug: ViewerPeer.answer() (internal/webrtc/peer.ts) closes the peer when libdatachannel rejects an offer; ' +
  'the close rejects the un-awaited gathering promise, an unhandled rejection that exits a production whepd';

export const BUG_NUMERIC_CODEC =
  'fixed bug: planAnswer() (internal/webrtc/negotiate.ts) calls r.codec.toLowerCase() but sdp-transform turns an all-digit ' +
  'encoding name (a=rtpmap:127 1/90000) into a number: TypeError, answered 500 instead of 400/406';
export const BUG_PATCH_CANDIDATE =
  'fixed bug: PATCH (internal/whep/routes.ts) passes candidates that match its shape check but that libdatachannel refuses ' +
  '(priority or component >= 2^32, port > 65535) to addRemoteCandidate, whose "Invalid candidate format" throw is answered 500, not 400';

/** Server errors that belong to a bug reported above, named in the failure; anything else fails as unknown. */
const KNOWN_500S: [RegExp, string][] = [
  [/codec\.toLowerCase is not a function/, BUG_NUMERIC_CODEC],
  [/error while adding remote candidate/, BUG_PATCH_CANDIDATE],
];

/** Splits recorded failures into unknown ones and the ones of each known bug. */
export function classify(bad: string[]): { unknown: string[]; known: Map<string, string[]> } {
  const known = new Map<string, string[]>(KNOWN_500S.map(([, bug]) => [bug, []]));
  const unknown: string[] = [];
  for (const b of bad) {
    const hit = KNOWN_500S.find(([re]) => re.test(b));
    if (hit) known.get(hit[1])!.push(b);
    else unknown.push(b);
  }
  return { unknown, known };
}

/** Asserts no 500 at all, naming the earlier bug a failure matches, if any. */
export function assertClassified(t: Test, bad: string[], what: string): void {
  const { unknown, known } = classify(bad);
  t.same(unknown, [], what);
  for (const [bug, hits] of known) {
    if (hits.length) t.comment(`${hits.length} x known ${bug.slice(11, 70)}...: e.g. ${hits[0]!.slice(0, 400)}`);
    t.same(hits, [], `${what}: none from the fixed bug (${bug.slice(11, 70)}...)`);
  }
}

export const seeds = readdirSync('fixtures/offers')
  .filter((f) => f.endsWith('.sdp'))
  .sort()
  .map((f) => readFileSync(join('fixtures/offers', f), 'utf8'));

// ---------------------------------------------------------------------------------------------
// Loopback guard. libdatachannel resolves candidate addresses (DNS, mDNS for *.local) and sends
// connectivity checks to them. Any candidate address that is not a literal loopback address is
// rewritten to 127.0.0.1 so that no fuzz input can make whepd send a packet off this host.
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const LOOPBACK = new RegExp(`^(?:127\\.${OCTET}\\.${OCTET}\\.${OCTET}|::1)$`);

/** Rewrites every candidate address that is not a loopback literal (byte-exact via latin1). */
export function keepOnLoopback(body: Buffer): Buffer {
  const text = body.toString('latin1');
  const lines = text.split('\n').map((line) => {
    const at = line.indexOf('candidate:');
    if (at < 0) return line;
    const head = line.slice(0, at + 'candidate:'.length);
    const parts = line.slice(head.length).split(/(\s+)/); // keeps separators: tokens at even indexes
    const addrIndex = 8; // foundation, sep, component, sep, transport, sep, priority, sep, address
    const addr = parts[addrIndex];
    if (addr !== undefined && !LOOPBACK.test(addr)) parts[addrIndex] = '127.0.0.1';
    // raddr is never contacted, but keep it literal too so nothing is resolved.
    for (let i = 0; i + 2 < parts.length; i += 2) {
      if (parts[i] === 'raddr' && parts[i + 2] !== undefined && !LOOPBACK.test(parts[i + 2]!)) parts[i + 2] = '127.0.0.1';
    }
    return head + parts.join('');
  });
  return Buffer.from(lines.join('\n'), 'latin1');
}

// Candidate lines: odd numbers and tokens around loopback addresses only.
export const loopbackAddr = fc.oneof(fc.constant('127.0.0.1'), fc.constant('::1'), fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `127.${a}.${b}.${c}`));
export const weirdNumber = fc.oneof(
  fc.integer({ min: -5, max: 70000 }).map(String),
  fc.constantFrom('0', '-1', '65536', '4294967296', '99999999999999999999999', '1e9', '0x10', '', ' ', 'NaN', '١٢٣'),
  fc.string({ maxLength: 8 }),
);
export const token = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }), fc.constantFrom('H264', 'opus', 'VP8', 'rtx', 'red', 'AV1'));
export const candidateLine = fc
  .record({ f: token, comp: weirdNumber, tr: fc.constantFrom('udp', 'UDP', 'tcp', 'foo', ''), prio: weirdNumber, addr: loopbackAddr, port: weirdNumber, typ: fc.constantFrom('host', 'srflx', 'relay', 'prflx', 'bogus', ''), ext: fc.string({ maxLength: 40 }) })
  .map((c) => `a=candidate:${c.f} ${c.comp} ${c.tr} ${c.prio} ${c.addr} ${c.port} typ ${c.typ}${c.ext ? ' ' + c.ext : ''}`);


export function errorLog(): { log: Logger; last: () => string } {
  let last = '';
  const log = pino({ level: 'error' }, { write: (line: string) => void (last = (JSON.parse(line) as { err?: { message?: string } }).err?.message ?? line) });
  return { log, last: () => last };
}

export const okStatus = (s: number) => (s >= 200 && s < 300) || (s >= 400 && s < 500) || s === 504;
