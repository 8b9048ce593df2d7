/** The validated, defaulted, frozen config as the rest of whepd sees it. */

/** A STUN/TURN server as written in the config (string URL or RTCIceServer-like object). */
export type IceServerConfig = string | { urls: string | string[]; username?: string; credential?: string };

/** How a stream's video leaves FFmpeg: copied when safe, or always re-encoded. */
export type VideoMode = 'auto' | 'copy' | 'transcode';

/** One configured stream. */
export interface StreamConfig {
  readonly id: string;
  readonly input: string;
  readonly loop: boolean;
  readonly inputArgs: readonly string[];
  readonly video: VideoMode;
  readonly keyframeIntervalS: number;
  readonly videoBitrateKbps: number;
  readonly audioBitrateKbps: number;
  /** Start FFmpeg on the first POST and stop it `idleTimeoutS` after the last viewer left. */
  readonly onDemand: boolean;
  /** Restart FFmpeg when no video arrived for this long (0 disables). */
  readonly stallTimeoutS: number;
  /** Bearer tokens valid for this stream only (in addition to auth.tokens). */
  readonly tokens: readonly string[];
  readonly startTimeoutS: number;
  readonly idleTimeoutS: number;
  /** Longest hold that puts both tracks on the media clock (ms; 0: forward at once, no alignment). */
  readonly syncHoldMaxMs: number;
  /** Seconds viewers are kept through an FFmpeg exit or stall for the next run (0: ended at once). */
  readonly restartGraceS: number;
  /**
   * Video for viewers whose offer has no usable H264: "vp8" encodes the stream to VP8 on demand
   * (a second FFmpeg reading the same input; not for SDP inputs), "none" answers them 406.
   */
  readonly fallbackVideo: 'vp8' | 'none';
}

/** The whole config file. */
export interface Config {
  readonly http: { readonly listen: string; readonly corsOrigins: readonly string[]; readonly maxBodyBytes: number };
  readonly webrtc: {
    readonly bindAddress?: string;
    readonly iceServers: readonly IceServerConfig[];
    readonly portRangeBegin?: number;
    readonly portRangeEnd?: number;
    /** One UDP port for every viewer peer (ICE UDP mux); shard k uses udpPort + k. */
    readonly udpPort?: number;
    /** Public IPs or DNS names announced as host candidates with the gathered ports (1:1 NAT). */
    readonly advertisedAddresses: readonly string[];
    /** Announce only the advertised addresses. */
    readonly advertiseOnly: boolean;
    readonly gatheringTimeoutMs: number;
    readonly handshakeTimeoutMs: number;
    readonly disconnectGraceMs: number;
    readonly rtcpTimeoutMs: number;
    /** After a `reconnect` event, how long the session lives on before whepd closes it. */
    readonly reconnectDelayMs: number;
    /** Viewer peers live in this many child processes (0: in whepd's own process). */
    readonly shards: number;
    /** TURN server with a shared secret: expiring credentials per answer (TURN REST API). */
    readonly turn?: { readonly urls: readonly string[]; readonly secret: string; readonly ttlS: number };
  };
  readonly whep: {
    /** A trickle PATCH without If-Match gets 428 instead of being applied to the current ICE session. */
    readonly requireIfMatch: boolean;
  };
  readonly limits: {
    readonly viewersPerStream: number;
    readonly viewersTotal: number;
    readonly pendingSessions: number;
    readonly candidatesPerPatch: number;
  };
  readonly auth: {
    readonly tokens: readonly string[];
    readonly jwt?: { readonly secret?: string; readonly publicKeyPem?: string; readonly issuer?: string; readonly audience?: string };
  };
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
  readonly log: { readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  readonly admin: { readonly token?: string };
  readonly cluster: {
    /** HAProxy agent-check port, bound on http.listen's host (unset: no agent; 0: a free port). */
    readonly agentPort?: number;
    /** On SIGTERM, how long to wait for viewers to leave before closing them (0: close at once). */
    readonly drainTimeoutS: number;
  };
  readonly ffmpeg: {
    readonly path: string;
    readonly ffprobePath: string;
    readonly probeTimeoutMs: number;
    readonly restartMinMs: number;
    readonly restartMaxMs: number;
    readonly stopGraceMs: number;
  };
  readonly streams: readonly StreamConfig[];
}

/** `host:port` split; IPv6 hosts are written `[::1]:8889`. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}
