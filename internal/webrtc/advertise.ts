/**
 * Advertised addresses (webrtc.advertisedAddresses): behind 1:1 NAT (a cloud VM, Docker with a
 * published port) the address whepd gathers is private, and a viewer can reach it only through
 * the public one. Each gathered host candidate gets a twin with each advertised address and the
 * same port: ICE-wise it is the same socket seen through the NAT (MediaMTX's
 * webrtcAdditionalHosts, Janus' nat_1_1_mapping). With `only`, the gathered candidates go.
 */
import { parseCandidate } from './candidate.js';

/** Rewrites the candidates of an SDP answer; addresses must be IP literals (names resolved before). */
export function advertiseCandidates(sdp: string, addresses: readonly string[], only: boolean): string {
  if (addresses.length === 0) return sdp;
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const out: string[] = [];
  for (const line of sdp.split(/\r?\n/)) {
    const c = line.startsWith('a=candidate:') ? parseCandidate(line) : undefined;
    if (!c) {
      out.push(line);
      continue;
    }
    if (!only) out.push(line);
    if (c.type !== 'host') continue;
    addresses.forEach((address, i) => {
      // A distinct foundation per address (RFC 8445 section 5.1.1.3: different base IP), and a
      // priority just below the gathered one so a viewer that can reach both tries the direct one first.
      const foundation = `${c.foundation.slice(0, 28)}a${i}`;
      const priority = Math.max(1, c.priority - 1 - i);
      out.push(`a=candidate:${foundation} ${c.component} ${c.transport} ${priority} ${address} ${c.port} typ host`);
    });
  }
  return out.join(eol);
}
