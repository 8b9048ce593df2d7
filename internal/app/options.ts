/** What app derives from the config for each module: a stream's options, the peers' network. */
import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import type { Logger } from 'pino';
import { isFileInput, isSdpInput } from '../config/index.js';
import type { Config, StreamConfig } from '../config/index.js';
import type { Delivery } from '../stream/index.js';
import type { PeerNetworkOptions } from '../webrtc/index.js';
import type { LiveStreamOptions } from './live-stream.js';

/** One configured stream's options for its hub and supervisor. */
export function liveStreamOptions(s: StreamConfig, config: Config, delivery: Delivery, log: Logger): LiveStreamOptions {
  return {
    id: s.id,
    input: s.input,
    inputArgs: s.inputArgs,
    loop: s.loop,
    isFile: isFileInput(s.input),
    video: s.video,
    keyframeIntervalS: s.keyframeIntervalS,
    videoBitrateKbps: s.videoBitrateKbps,
    audioBitrateKbps: s.audioBitrateKbps,
    ffmpegPath: config.ffmpeg.path,
    ffprobePath: config.ffmpeg.ffprobePath,
    probeTimeoutMs: config.ffmpeg.probeTimeoutMs,
    restartMinMs: config.ffmpeg.restartMinMs,
    restartMaxMs: config.ffmpeg.restartMaxMs,
    stopGraceMs: config.ffmpeg.stopGraceMs,
    onDemand: s.onDemand,
    stallTimeoutMs: s.stallTimeoutS * 1000,
    demandTimeoutMs: s.startTimeoutS * 1000,
    idleStopMs: s.idleTimeoutS * 1000,
    syncHoldMaxMs: s.syncHoldMaxMs,
    restartGraceMs: s.restartGraceS * 1000,
    delivery,
    log,
  };
}

/**
 * Whether a second FFmpeg can read the input beside the first: not an SDP file or a udp:// or
 * rtp:// URL (one socket receives a session), and not an input FFmpeg listens on for a publisher
 * (`listen=1` for RTMP/HTTP/TCP, `mode=listener` for SRT): the port is the first FFmpeg's.
 */
export function inputReadableTwice(input: string, inputArgs: readonly string[]): boolean {
  if (isSdpInput(input, inputArgs)) return false;
  if (/^(udp|rtp):/i.test(input)) return false;
  if (/[?&](listen=1|mode=listener)(&|$)/i.test(input)) return false;
  const listens = inputArgs.some((a, i) => (a === '-listen' && inputArgs[i + 1] === '1') || (a === '-mode' && inputArgs[i + 1] === 'listener'));
  return !listens;
}

/**
 * Whether a stream gets a VP8 encoding for viewers without H264: on unless turned off, and only
 * for an input a second FFmpeg can read (see inputReadableTwice).
 */
export function hasVp8Fallback(s: StreamConfig): boolean {
  return s.fallbackVideo === 'vp8' && inputReadableTwice(s.input, s.inputArgs);
}

/** The internal id of a stream's VP8 encoding: `~` is not allowed in a configured id, so it cannot collide. */
export function fallbackStreamId(id: string): string {
  return `${id}~vp8`;
}

/**
 * The VP8 encoding's options: the stream's input and timing, always on demand (started by the
 * first VP8 viewer, stopped idleTimeoutS after the last), and no restart grace.
 */
export function fallbackStreamOptions(s: StreamConfig, config: Config, delivery: Delivery, log: Logger): LiveStreamOptions {
  return {
    ...liveStreamOptions(s, config, delivery, log.child({ variant: 'vp8' })),
    id: fallbackStreamId(s.id),
    videoCodec: 'vp8',
    onDemand: true,
    restartGraceMs: 0,
  };
}

/** The network every viewer peer gets (in this process or a shard); `advertised` are IP literals. */
export function peerNetwork(config: Config, advertised: readonly string[]): PeerNetworkOptions {
  const w = config.webrtc;
  return {
    iceServers: w.iceServers,
    gatheringTimeoutMs: w.gatheringTimeoutMs,
    ...(w.bindAddress ? { bindAddress: w.bindAddress } : {}),
    ...(w.portRangeBegin !== undefined ? { portRangeBegin: w.portRangeBegin } : {}),
    ...(w.portRangeEnd !== undefined ? { portRangeEnd: w.portRangeEnd } : {}),
    ...(w.udpPort !== undefined ? { udpPort: w.udpPort } : {}),
    ...(advertised.length > 0 ? { advertisedAddresses: advertised, advertiseOnly: w.advertiseOnly } : {}),
  };
}

/**
 * The advertised addresses as IP literals: browsers such as Firefox fail on a name in a
 * candidate, so whepd resolves names itself, once at start (webrtc changes need a restart).
 */
export async function resolveAdvertised(config: Config): Promise<string[]> {
  const out: string[] = [];
  for (const a of config.webrtc.advertisedAddresses) {
    if (isIP(a) !== 0) out.push(a);
    else {
      try {
        for (const r of await lookup(a, { all: true })) out.push(r.address);
      } catch (err) {
        throw new Error(`webrtc.advertisedAddresses: cannot resolve ${a} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
      }
    }
  }
  return [...new Set(out)];
}
