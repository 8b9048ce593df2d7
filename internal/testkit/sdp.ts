/** Small SDP readers for tests: what an answer says about one m-line. */

/** The payload type and SSRC an answer announces for the first m-line of `kind`. */
export function answerTrack(sdp: string, kind: 'video' | 'audio'): { pt: number; ssrc: number; mid: string } | undefined {
  const sections = sdp.split(/\r?\nm=/).slice(1);
  const section = sections.find((s) => s.startsWith(`${kind} `));
  if (!section) return undefined;
  const pt = Number(/^\S+ \d+ \S+ (\d+)/.exec(section)?.[1]);
  const ssrc = Number(/a=ssrc:(\d+)/.exec(section)?.[1]);
  const mid = /a=mid:(\S+)/.exec(section)?.[1] ?? '';
  return { pt, ssrc, mid };
}
