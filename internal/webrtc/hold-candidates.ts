/** The offer's candidates, held back a moment after whepd answered (see holdBackCandidates). */

/** How long the offer's candidates are held back after answering (see holdBackCandidates). */
export const CANDIDATE_HOLD_MS = 30;

/**
 * Splits the offer's ICE candidates (and end-of-candidates) off, with the mid each belongs to.
 * whepd applies them CANDIDATE_HOLD_MS after it answered: had it applied them at once, its
 * connectivity checks and then its DTLS ClientHello would reach the viewer before the viewer had
 * the answer. RFC 5763 section 5 says an offerer must cope; libdatachannel-based players do not:
 * their ICE connects and their DTLS fails ("certificate verify failed") or waits a 1 s
 * retransmission. Meanwhile the viewer's own checks, sent once it has the answer, connect
 * anyway: whepd answers them whether or not it knows the viewer's candidates.
 */
export function holdBackCandidates(offer: string): { offer: string; candidates: { candidate: string; mid: string }[] } {
  const candidates: { candidate: string; mid: string }[] = [];
  const pending: string[] = [];
  let mid: string | undefined;
  const kept: string[] = [];
  for (const line of offer.split(/\r?\n/)) {
    if (line.startsWith('m=')) mid = undefined;
    const m = /^a=mid:(.+)$/.exec(line);
    if (m) mid = (m[1] as string).trim();
    if (line.startsWith('a=candidate:')) {
      const candidate = line.slice(2);
      if (mid === undefined) pending.push(candidate);
      else candidates.push({ candidate, mid });
      continue;
    }
    if (line === 'a=end-of-candidates') continue;
    kept.push(line);
    if (mid !== undefined && pending.length > 0) for (const c of pending.splice(0)) candidates.push({ candidate: c, mid });
  }
  return { offer: kept.join('\r\n'), candidates };
}
