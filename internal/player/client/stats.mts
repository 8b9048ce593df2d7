/** Turns getStats() reports into the figures the player overlay shows. */

/** One sample of what a viewer is receiving. */
export interface PlaybackStats {
  at: number;
  width: number | undefined;
  height: number | undefined;
  fps: number | undefined;
  framesDecoded: number;
  videoBytes: number;
  audioBytes: number;
  videoPackets: number;
  audioPackets: number;
  /** Bits per second since the previous sample (video + audio). */
  bitrateBps: number | undefined;
  rttMs: number | undefined;
  packetsLost: number;
  videoJitterMs: number | undefined;
  audioJitterMs: number | undefined;
  audioLevel: number | undefined;
  totalSamplesReceived: number;
}

type Entry = Record<string, unknown> & { type: string; id: string };

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Reads one sample from a peer; `prev` gives the bitrate. */
export async function readStats(pc: RTCPeerConnection, prev: PlaybackStats | undefined): Promise<PlaybackStats> {
  const report = await pc.getStats();
  const entries: Entry[] = [];
  report.forEach((e: Entry) => entries.push(e));
  const video = entries.find((e) => e.type === 'inbound-rtp' && e.kind === 'video');
  const audio = entries.find((e) => e.type === 'inbound-rtp' && e.kind === 'audio');
  const transport = entries.find((e) => e.type === 'transport');
  const pairId = transport?.selectedCandidatePairId;
  const pair = entries.find((e) => e.type === 'candidate-pair' && (e.id === pairId || (pairId === undefined && e.nominated === true)));
  const at = performance.now();
  const videoBytes = num(video?.bytesReceived) ?? 0;
  const audioBytes = num(audio?.bytesReceived) ?? 0;
  let bitrateBps: number | undefined;
  if (prev && at > prev.at) bitrateBps = ((videoBytes + audioBytes - prev.videoBytes - prev.audioBytes) * 8 * 1000) / (at - prev.at);
  const jitter = (e: Entry | undefined) => {
    const j = num(e?.jitter);
    return j === undefined ? undefined : j * 1000;
  };
  const rtt = num(pair?.currentRoundTripTime);
  return {
    at,
    width: num(video?.frameWidth),
    height: num(video?.frameHeight),
    fps: num(video?.framesPerSecond),
    framesDecoded: num(video?.framesDecoded) ?? 0,
    videoBytes,
    audioBytes,
    videoPackets: num(video?.packetsReceived) ?? 0,
    audioPackets: num(audio?.packetsReceived) ?? 0,
    bitrateBps,
    rttMs: rtt === undefined ? undefined : rtt * 1000,
    packetsLost: (num(video?.packetsLost) ?? 0) + (num(audio?.packetsLost) ?? 0),
    videoJitterMs: jitter(video),
    audioJitterMs: jitter(audio),
    audioLevel: num(audio?.audioLevel),
    totalSamplesReceived: num(audio?.totalSamplesReceived) ?? 0,
  };
}

function fmt(v: number | undefined, digits: number, unit: string): string {
  return v === undefined ? '–' : `${v.toFixed(digits)}${unit}`;
}

/** The overlay text for one sample. */
export function formatStats(s: PlaybackStats, ttffMs: number | undefined): string {
  const res = s.width && s.height ? `${s.width}x${s.height}` : '–';
  const kbps = s.bitrateBps === undefined ? undefined : s.bitrateBps / 1000;
  return [
    `resolution   ${res}`,
    `fps          ${fmt(s.fps, 0, '')}`,
    `bitrate      ${fmt(kbps, 0, ' kbit/s')}`,
    `RTT          ${fmt(s.rttMs, 1, ' ms')}`,
    `packets lost ${s.packetsLost}`,
    `jitter       video ${fmt(s.videoJitterMs, 1, ' ms')}, audio ${fmt(s.audioJitterMs, 1, ' ms')}`,
    `first frame  ${fmt(ttffMs, 0, ' ms')} after POST`,
  ].join('\n');
}
