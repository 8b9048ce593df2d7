/** Typed errors: each carries a stable code, the HTTP status it maps to, and an optional cause. */

/** Options every whepd error accepts. */
export interface WhepdErrorOptions {
  cause?: unknown;
  /** Seconds a client should wait before trying again (503, 409, 429). */
  retryAfter?: number;
}

/** Base class: `code` is stable for logs and metrics, `status` is what HTTP answers. */
export class WhepdError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryAfter: number | undefined;

  constructor(code: string, status: number, message: string, options: WhepdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.retryAfter = options.retryAfter;
  }
}

/** 400: the request is malformed (empty body, SDP that does not parse). */
export class BadRequestError extends WhepdError {
  constructor(message: string, options?: WhepdErrorOptions) {
    super('BAD_REQUEST', 400, message, options);
  }
}

/** 404: unknown stream or session. */
export class NotFoundError extends WhepdError {
  constructor(message: string, options?: WhepdErrorOptions) {
    super('NOT_FOUND', 404, message, options);
  }
}

/** 406: the offer has no video or no audio m-line whepd can send on (codec, direction or port). */
export class CodecNotAcceptableError extends WhepdError {
  constructor(message: string, options?: WhepdErrorOptions) {
    super('CODEC_NOT_ACCEPTABLE', 406, message, options);
  }
}

/** 409: the stream exists but is not producing media yet. */
export class StreamNotLiveError extends WhepdError {
  constructor(message: string, options?: WhepdErrorOptions) {
    super('STREAM_NOT_LIVE', 409, message, { retryAfter: 2, ...options });
  }
}

/** 412: If-Match does not match the session's current ETag. */
export class PreconditionFailedError extends WhepdError {
  constructor(message: string, options?: WhepdErrorOptions) {
    super('PRECONDITION_FAILED', 412, message, options);
  }
}

/** 413: the request body exceeds the configured limit. */
export class PayloadTooLargeError extends WhepdError {
  constructor(message: string, options?: WhepdErrorOptions) {
    super('PAYLOAD_TOO_LARGE', 413, message, options);
  }
}

/** 415: wrong Content-Type. */
export class UnsupportedMediaTypeError extends WhepdError {
  constructor(message: string, options?: WhepdErrorOptions) {
    super('UNSUPPORTED_MEDIA_TYPE', 415, message, options);
  }
}

/** 422: a well-formed request whepd cannot act on (e.g. an ICE restart it does not support). */
export class UnprocessableError extends WhepdError {
  constructor(message: string, options?: WhepdErrorOptions) {
    super('UNPROCESSABLE', 422, message, options);
  }
}

/** 428: PATCH without If-Match. */
export class PreconditionRequiredError extends WhepdError {
  constructor(message: string, options?: WhepdErrorOptions) {
    super('PRECONDITION_REQUIRED', 428, message, options);
  }
}

/** 503: admission refused (a viewer cap is reached, or whepd is shutting down). */
export class OverloadedError extends WhepdError {
  constructor(code: string, message: string, options?: WhepdErrorOptions) {
    super(code, 503, message, { retryAfter: 5, ...options });
  }
}

/** 504: ICE gathering did not complete in time. */
export class GatewayTimeoutError extends WhepdError {
  constructor(message: string, options?: WhepdErrorOptions) {
    super('GATEWAY_TIMEOUT', 504, message, options);
  }
}

/** One problem found in a config file, located by its JSON path. */
export interface ConfigProblem {
  /** JSON pointer-like path, e.g. `/streams/0/input`; `/` for the root. */
  path: string;
  message: string;
}

/** A config file that cannot be used; carries every problem found, not just the first. */
export class ConfigError extends WhepdError {
  readonly problems: readonly ConfigProblem[];

  constructor(source: string, problems: readonly ConfigProblem[], options?: WhepdErrorOptions) {
    const lines = problems.map((p) => `  ${p.path}: ${p.message}`).join('\n');
    super('CONFIG_INVALID', 500, `invalid config ${source}:\n${lines}`, options);
    this.problems = problems;
  }
}

/** True for errors whepd raised on purpose (as opposed to bugs). */
export function isWhepdError(err: unknown): err is WhepdError {
  return err instanceof WhepdError;
}

/** Options of a 401. */
export interface UnauthorizedErrorOptions extends WhepdErrorOptions {
  /** RFC 6750 section 3.1 error code for the challenge, e.g. `invalid_token` when one was sent. */
  bearerError?: string;
}

/** 401: a token is required and was missing or wrong. */
export class UnauthorizedError extends WhepdError {
  /** The WWW-Authenticate value (RFC 6750 section 3). */
  readonly challenge: string;

  constructor(message: string, options: UnauthorizedErrorOptions = {}) {
    super('UNAUTHORIZED', 401, message, options);
    this.challenge = `Bearer realm="whepd"${options.bearerError ? `, error="${options.bearerError}"` : ''}`;
  }
}

/** 429: this client sent too many requests; carries Retry-After. */
export class RateLimitedError extends WhepdError {
  constructor(message: string, options?: WhepdErrorOptions) {
    super('RATE_LIMITED', 429, message, { retryAfter: 1, ...options });
  }
}

/** An error as it crosses a process boundary (shard IPC): its code, status and one sentence. */
export interface WireError {
  code: string;
  status: number;
  message: string;
  retryAfter?: number;
}

/** Any thrown value as a WireError; errors whepd did not raise on purpose travel as `INTERNAL` 500. */
export function errorToWire(err: unknown): WireError {
  if (isWhepdError(err)) return { code: err.code, status: err.status, message: err.message, ...(err.retryAfter !== undefined ? { retryAfter: err.retryAfter } : {}) };
  return { code: 'INTERNAL', status: 500, message: err instanceof Error ? err.message : String(err) };
}

const WIRE_CLASSES: Record<string, new (message: string, options?: WhepdErrorOptions) => WhepdError> = {
  BAD_REQUEST: BadRequestError,
  NOT_FOUND: NotFoundError,
  CODEC_NOT_ACCEPTABLE: CodecNotAcceptableError,
  STREAM_NOT_LIVE: StreamNotLiveError,
  PRECONDITION_FAILED: PreconditionFailedError,
  PRECONDITION_REQUIRED: PreconditionRequiredError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  UNSUPPORTED_MEDIA_TYPE: UnsupportedMediaTypeError,
  UNPROCESSABLE: UnprocessableError,
  GATEWAY_TIMEOUT: GatewayTimeoutError,
  UNAUTHORIZED: UnauthorizedError,
  RATE_LIMITED: RateLimitedError,
};

/**
 * The error a WireError stands for, of the same class as the one thrown on the other side, so
 * the HTTP edge maps it as if it had been thrown here. `INTERNAL` becomes a plain Error: the edge
 * logs it and answers a 500 that leaks nothing.
 */
export function errorFromWire(w: WireError): Error {
  const options = w.retryAfter !== undefined ? { retryAfter: w.retryAfter } : {};
  const known = WIRE_CLASSES[w.code];
  if (known) return new known(w.message, options);
  if (w.status === 503) return new OverloadedError(w.code, w.message, options);
  if (w.code === 'INTERNAL' || w.status >= 500) return new Error(`shard process: ${w.message}`);
  return new WhepdError(w.code, w.status, w.message, options);
}
