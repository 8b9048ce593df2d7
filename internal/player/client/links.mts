/** Link header values (RFC 8288) as WHEP uses them: ICE servers and extensions. */

/** One link: its target and its parameters (names lower-cased, quoted values unquoted). */
export interface LinkEntry {
  target: string;
  params: Map<string, string>;
}

/** Every link of a (comma-joined) Link header; none for null. */
export function parseLinks(header: string | null): LinkEntry[] {
  if (!header) return [];
  const out: LinkEntry[] = [];
  for (const part of header.split(/,\s*(?=<)/)) {
    const m = /^<([^>]*)>(.*)$/.exec(part.trim());
    if (!m) continue;
    const params = new Map<string, string>();
    for (const p of (m[2] ?? '').matchAll(/;\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g)) {
      params.set((p[1] ?? '').toLowerCase(), p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? ''));
    }
    out.push({ target: m[1] ?? '', params });
  }
  return out;
}

/** The ICE servers of a Link header (RFC 9725 section 4.6), TURN credentials included. */
export function iceServersOf(header: string | null): RTCIceServer[] {
  return parseLinks(header)
    .filter((l) => l.params.get('rel') === 'ice-server')
    .map((l) => {
      const username = l.params.get('username');
      const credential = l.params.get('credential');
      return { urls: l.target, ...(username !== undefined ? { username } : {}), ...(credential !== undefined ? { credential } : {}) };
    });
}

/**
 * Asks the endpoint for its ICE servers with a plain OPTIONS (whepd, like RFC 9725 allows,
 * answers it with the same Link headers as a 201, TURN credentials minted for it), so the peer
 * gathers relay candidates from the start. Nothing (not an error) when it does not answer in time.
 */
export async function fetchIceServers(endpoint: string, timeoutMs = 1500): Promise<RTCIceServer[]> {
  try {
    const res = await fetch(endpoint, { method: 'OPTIONS', signal: AbortSignal.timeout(timeoutMs) });
    return res.ok ? iceServersOf(res.headers.get('Link')) : [];
  } catch {
    return [];
  }
}
