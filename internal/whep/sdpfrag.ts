/** Trickle ICE SDP fragments (RFC 8840 section 9, as used by RFC 9725 section 4.3). Pure. */
import { BadRequestError } from '../errors/index.js';
import { checkCandidate } from '../webrtc/index.js';

/** What a PATCH body says. */
export interface SdpFragment {
  iceUfrag: string | undefined;
  icePwd: string | undefined;
  candidates: { candidate: string; mid: string | undefined }[];
  endOfCandidates: boolean;
}

/** Parses an sdpfrag; candidates take the mid of the `a=mid` line above them. */
export function parseSdpFragment(body: string, maxCandidates: number): SdpFragment {
  const frag: SdpFragment = { iceUfrag: undefined, icePwd: undefined, candidates: [], endOfCandidates: false };
  let mid: string | undefined;
  for (const raw of body.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('a=ice-ufrag:')) frag.iceUfrag = line.slice(12);
    else if (line.startsWith('a=ice-pwd:')) frag.icePwd = line.slice(10);
    else if (line.startsWith('a=mid:')) mid = line.slice(6);
    else if (line === 'a=end-of-candidates') frag.endOfCandidates = true;
    else if (line.startsWith('a=candidate:')) {
      // The same grammar as the offer's candidates (webrtc/candidate.ts).
      checkCandidate(line, 'malformed candidate line');
      frag.candidates.push({ candidate: line.slice(2), mid });
      if (frag.candidates.length > maxCandidates) throw new BadRequestError(`too many candidates in one PATCH (max ${maxCandidates})`);
    } else if (!/^[a-z]=/.test(line)) {
      throw new BadRequestError('body is not an SDP fragment');
    }
  }
  return frag;
}
