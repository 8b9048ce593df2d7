/** STUN/TURN servers: config form to libdatachannel form, and to WHEP `Link` headers. */
import type { IceServer } from 'node-datachannel';

/** A STUN/TURN server as the config writes it. */
export type IceServerInput = string | { urls: string | string[]; username?: string; credential?: string };

interface ParsedUrl {
  scheme: 'stun' | 'stuns' | 'turn' | 'turns';
  host: string;
  port: number;
  transport: string | undefined;
}

function parseIceUrl(url: string): ParsedUrl | undefined {
  // RFC 7064 / RFC 7065: stun:host[:port], turn:host[:port][?transport=udp|tcp]
  const m = /^(stuns?|turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/i.exec(url);
  if (!m) return undefined;
  const scheme = (m[1] as string).toLowerCase() as ParsedUrl['scheme'];
  const secure = scheme.endsWith('s');
  return { scheme, host: (m[2] as string).replace(/^\[|\]$/g, ''), port: m[3] ? Number(m[3]) : secure ? 5349 : 3478, transport: m[4]?.toLowerCase() };
}

function urlsOf(server: IceServerInput): string[] {
  if (typeof server === 'string') return [server];
  return Array.isArray(server.urls) ? server.urls : [server.urls];
}

/** Converts config servers to what node-datachannel's PeerConnection takes; skips unparsable URLs. */
export function toRtcIceServers(servers: readonly IceServerInput[]): IceServer[] {
  const out: IceServer[] = [];
  for (const server of servers) {
    const username = typeof server === 'string' ? undefined : server.username;
    const password = typeof server === 'string' ? undefined : server.credential;
    for (const url of urlsOf(server)) {
      const p = parseIceUrl(url);
      if (!p) continue;
      if (p.scheme.startsWith('stun')) {
        out.push({ hostname: p.host, port: p.port });
      } else {
        const relayType = p.scheme === 'turns' ? 'TurnTls' : p.transport === 'tcp' ? 'TurnTcp' : 'TurnUdp';
        out.push({ hostname: p.host, port: p.port, relayType, ...(username ? { username } : {}), ...(password ? { password } : {}) });
      }
    }
  }
  return out;
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * One `Link` header value per URL (RFC 9725 section 4.6): `<url>; rel="ice-server"` plus
 * `username`, `credential` and `credential-type: "password"` for TURN.
 */
export function iceServerLinks(servers: readonly IceServerInput[]): string[] {
  const links: string[] = [];
  for (const server of servers) {
    for (const url of urlsOf(server)) {
      let link = `<${url}>; rel="ice-server"`;
      if (typeof server !== 'string' && server.username !== undefined) {
        link += `; username=${quote(server.username)}; credential=${quote(server.credential ?? '')}; credential-type="password"`;
      }
      links.push(link);
    }
  }
  return links;
}
