/** What a browser's WHEP offer contains, read with sdp-transform (no regexes over the SDP). */
import { parse } from 'sdp-transform';

/** One m-line of an offer. */
export interface OfferSection {
  kind: string;
  mid: string;
  port: number;
  bundleOnly: boolean;
  direction: string;
  /** Codec names in the offer's order, rtx (RFC 4588) left out, e.g. ["VP8", "VP9", "AV1", "ulpfec", "red"]. */
  codecs: string[];
}

/** A summary of an offer. */
export interface OfferShape {
  /** The mids of the BUNDLE group (RFC 9143), empty when there is none. */
  bundle: string[];
  sections: OfferSection[];
  /** UDP host candidates as address:port (the other kinds are left out). */
  udpHosts: string[];
  /** Every a=candidate line (without `a=`). */
  candidates: string[];
}

/** Reads `sdp` into an {@link OfferShape}. */
export function describeOffer(sdp: string): OfferShape {
  const s = parse(sdp);
  const bundle = s.groups?.find((g) => g.type === 'BUNDLE')?.mids.split(' ').filter(Boolean) ?? [];
  const candidates: string[] = [];
  const udpHosts: string[] = [];
  const sections = s.media.map((m) => {
    for (const c of m.candidates ?? []) {
      candidates.push(`candidate:${c.foundation} ${c.component} ${c.transport} ${c.priority} ${c.ip} ${c.port} typ ${c.type}`);
      if (c.transport.toLowerCase() === 'udp' && c.type === 'host' && c.component === 1) udpHosts.push(`${c.ip}:${c.port}`);
    }
    return {
      kind: m.type,
      mid: String(m.mid ?? ''),
      port: m.port,
      bundleOnly: m.bundleOnly !== undefined,
      direction: m.direction ?? 'sendrecv',
      codecs: (m.rtp ?? []).map((r) => r.codec).filter((c) => c.toLowerCase() !== 'rtx'),
    };
  });
  return { bundle, sections, udpHosts: [...new Set(udpHosts)], candidates };
}

/** One line about an offer's shape, e.g. `BUNDLE 0 1; video mid 0 port 9 recvonly VP8 VP9 ...`. */
export function formatOffer(o: OfferShape): string {
  const parts = o.sections.map((m) => `${m.kind} mid ${m.mid} port ${m.port}${m.bundleOnly ? ' bundle-only' : ''} ${m.direction}: ${m.codecs.join(' ')}`);
  return [`BUNDLE ${o.bundle.join(' ') || 'none'}`, ...parts].join('; ');
}
