/**
 * The ICE candidate grammar, once for offers (POST) and trickle fragments (PATCH). Pure:
 * sdp-transform splits the attribute, this file checks the ranges RFC 8839 section 5.1 sets.
 */
import { parse } from 'sdp-transform';
import { BadRequestError } from '../errors/index.js';

/** The candidate types whepd can use (RFC 8839 section 5.1 `cand-type`). */
export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

/** The fields of one `candidate:` attribute whepd checks. */
export interface IceCandidate {
  foundation: string;
  component: number;
  transport: string;
  priority: number;
  address: string;
  port: number;
  type: CandidateType;
}

const TYPES: ReadonlySet<string> = new Set(['host', 'srflx', 'prflx', 'relay']);
// foundation = 1*32ice-char; ice-char = ALPHA / DIGIT / "+" / "/"
const FOUNDATION = /^[A-Za-z0-9+/]{1,32}$/;

/** A decimal field of at most `digits` digits within [min, max]; NaN otherwise. */
function decimal(v: unknown, digits: number, min: number, max: number): number {
  const s = String(v ?? '');
  if (s.length === 0 || s.length > digits || !/^\d+$/.test(s)) return NaN;
  const n = Number(s);
  return n >= min && n <= max ? n : NaN;
}

/**
 * Parses one candidate attribute, `candidate:...` or `a=candidate:...`; undefined when it breaks
 * the grammar: component-id 1..256, priority 1..2^31-1 (RFC 8445 section 5.1.2), port 0..65535,
 * and a type whepd can use. Extensions after the type (raddr, generation, ...) are not checked.
 */
export function parseCandidate(value: string): IceCandidate | undefined {
  const attr = value.startsWith('a=') ? value : `a=${value}`;
  if (!attr.startsWith('a=candidate:') || /[\r\n]/.test(attr)) return undefined;
  // A lone attribute parses at session level; a line off the grammar lands in `invalid` instead.
  const c = (parse(attr) as { candidates?: Record<string, unknown>[] }).candidates?.[0];
  if (!c) return undefined;
  const foundation = String(c['foundation'] ?? '');
  const transport = String(c['transport'] ?? '');
  const address = String(c['ip'] ?? '');
  const type = String(c['type'] ?? '').toLowerCase();
  const component = decimal(c['component'], 3, 1, 256);
  const priority = decimal(c['priority'], 10, 1, 2 ** 31 - 1);
  const port = decimal(c['port'], 5, 0, 65535);
  if (!FOUNDATION.test(foundation) || !transport || !address || !TYPES.has(type)) return undefined;
  if (Number.isNaN(component) || Number.isNaN(priority) || Number.isNaN(port)) return undefined;
  return { foundation, component, transport, priority, address, port, type: type as CandidateType };
}

/** Throws 400 (`<what>: <line>`) unless `value` is a candidate whepd accepts. */
export function checkCandidate(value: string, what: string): void {
  if (!parseCandidate(value)) throw new BadRequestError(`${what}: ${value.slice(0, 120)}`);
}

/**
 * Checks every `a=candidate` line of an SDP body (offer candidates are applied after the answer,
 * where a refusal could no longer be a 400, so they are checked before anything is reserved).
 */
export function checkSdpCandidates(sdp: string): void {
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('a=candidate:')) checkCandidate(line, 'offer has a malformed ICE candidate');
  }
}
