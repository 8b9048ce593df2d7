/** The JSON schema of whepd's config file; ajv fills in the defaults written here. */

const streamId = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' } as const;

const iceServer = {
  anyOf: [
    { type: 'string', pattern: '^(stun|stuns|turn|turns):', minLength: 6 },
    {
      type: 'object',
      additionalProperties: false,
      required: ['urls'],
      properties: {
        urls: {
          anyOf: [
            { type: 'string', pattern: '^(stun|stuns|turn|turns):' },
            { type: 'array', minItems: 1, items: { type: 'string', pattern: '^(stun|stuns|turn|turns):' } },
          ],
        },
        username: { type: 'string' },
        credential: { type: 'string' },
      },
    },
  ],
} as const;

/** JSON schema (draft-07 as ajv speaks it) for the whole config file. */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['streams'],
  properties: {
    http: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        listen: { type: 'string', default: '127.0.0.1:8889', minLength: 3 },
        corsOrigins: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, default: ['*'] },
        maxBodyBytes: { type: 'integer', minimum: 1024, maximum: 1048576, default: 65536 },
      },
    },
    webrtc: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        bindAddress: { type: 'string', minLength: 1 },
        iceServers: { type: 'array', items: iceServer, default: [] },
        portRangeBegin: { type: 'integer', minimum: 1024, maximum: 65535 },
        portRangeEnd: { type: 'integer', minimum: 1024, maximum: 65535 },
        udpPort: { type: 'integer', minimum: 1024, maximum: 65535 },
        advertisedAddresses: { type: 'array', maxItems: 16, items: { type: 'string', minLength: 1, maxLength: 253 }, default: [] },
        advertiseOnly: { type: 'boolean', default: false },
        gatheringTimeoutMs: { type: 'integer', minimum: 100, maximum: 60000, default: 5000 },
        handshakeTimeoutMs: { type: 'integer', minimum: 500, maximum: 300000, default: 10000 },
        disconnectGraceMs: { type: 'integer', minimum: 0, maximum: 60000, default: 5000 },
        rtcpTimeoutMs: { type: 'integer', minimum: 0, maximum: 600000, default: 15000 },
        reconnectDelayMs: { type: 'integer', minimum: 0, maximum: 3000, default: 1000 },
        shards: { type: 'integer', minimum: 0, maximum: 64, default: 0 },
        // A TURN server sharing a secret with whepd (coturn use-auth-secret): each answer gets
        // fresh credentials that expire after ttlS.
        turn: {
          type: 'object',
          additionalProperties: false,
          required: ['urls', 'secret'],
          properties: {
            urls: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^turns?:[^\\s]+$' } },
            secret: { type: 'string', minLength: 8 },
            ttlS: { type: 'integer', minimum: 60, maximum: 604800, default: 86400 },
          },
        },
      },
    },
    whep: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        requireIfMatch: { type: 'boolean', default: false },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        viewersPerStream: { type: 'integer', minimum: 1, maximum: 100000, default: 8 },
        viewersTotal: { type: 'integer', minimum: 1, maximum: 100000, default: 32 },
        pendingSessions: { type: 'integer', minimum: 1, maximum: 100000, default: 16 },
        candidatesPerPatch: { type: 'integer', minimum: 1, maximum: 1000, default: 64 },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
      },
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        tokens: { type: 'array', items: { type: 'string', minLength: 16 }, default: [] },
        jwt: {
          type: 'object',
          additionalProperties: false,
          properties: {
            secret: { type: 'string', minLength: 32 },
            publicKeyPem: { type: 'string', pattern: '-----BEGIN PUBLIC KEY-----' },
            issuer: { type: 'string', minLength: 1 },
            audience: { type: 'string', minLength: 1 },
          },
        },
      },
    },
    rateLimit: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        perSecond: { type: 'number', minimum: 0, maximum: 100000, default: 20 },
        burst: { type: 'integer', minimum: 1, maximum: 100000, default: 60 },
      },
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        token: { type: 'string', minLength: 16 },
      },
    },
    cluster: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        agentPort: { type: 'integer', minimum: 0, maximum: 65535 },
        drainTimeoutS: { type: 'number', minimum: 0, maximum: 86400, default: 0 },
      },
    },
    ffmpeg: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        path: { type: 'string', minLength: 1, default: 'ffmpeg' },
        ffprobePath: { type: 'string', minLength: 1, default: 'ffprobe' },
        probeTimeoutMs: { type: 'integer', minimum: 1000, maximum: 120000, default: 15000 },
        restartMinMs: { type: 'integer', minimum: 100, maximum: 600000, default: 1000 },
        restartMaxMs: { type: 'integer', minimum: 100, maximum: 600000, default: 30000 },
        stopGraceMs: { type: 'integer', minimum: 100, maximum: 60000, default: 2000 },
      },
    },
    streams: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'input'],
        properties: {
          id: streamId,
          input: { type: 'string', minLength: 1 },
          loop: { type: 'boolean', default: false },
          inputArgs: { type: 'array', items: { type: 'string' }, default: [] },
          video: { enum: ['auto', 'copy', 'transcode'], default: 'auto' },
          keyframeIntervalS: { type: 'number', exclusiveMinimum: 0, maximum: 10, default: 1 },
          videoBitrateKbps: { type: 'integer', minimum: 100, maximum: 50000, default: 2500 },
          audioBitrateKbps: { type: 'integer', minimum: 16, maximum: 510, default: 96 },
          onDemand: { type: 'boolean', default: false },
          stallTimeoutS: { type: 'number', minimum: 0, maximum: 3600, default: 10 },
          tokens: { type: 'array', items: { type: 'string', minLength: 16 }, default: [] },
          startTimeoutS: { type: 'number', exclusiveMinimum: 0, maximum: 120, default: 10 },
          idleTimeoutS: { type: 'number', minimum: 0, maximum: 86400, default: 10 },
          syncHoldMaxMs: { type: 'integer', minimum: 0, maximum: 5000, default: 1000 },
          restartGraceS: { type: 'number', minimum: 0, maximum: 600, default: 0 },
          fallbackVideo: { enum: ['vp8', 'none'], default: 'vp8' },
        },
      },
    },
  },
} as const;
