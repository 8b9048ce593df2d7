/**
 * WHEP access control: static bearer tokens (global or per stream) and/or JWTs (HS256 with a
 * shared secret, RS256 with a public key) checked with jose, so tokens minted by a restreaming
 * core's auth can be reused. Tokens are compared in constant time and never logged.
 */
import { createHash, createPublicKey, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { jwtVerify } from 'jose';
import { UnauthorizedError } from '../errors/index.js';

/** JWT checking options. */
export interface JwtOptions {
  /** HS256 shared secret. */
  secret?: string;
  /** RS256 public key (PEM). */
  publicKeyPem?: string;
  issuer?: string;
  audience?: string;
}

/** What the authorizer accepts. */
export interface AuthorizerOptions {
  /** Tokens valid for every stream. */
  tokens: readonly string[];
  /** Tokens valid for one stream, by stream id. */
  streamTokens: ReadonlyMap<string, readonly string[]>;
  jwt?: JwtOptions;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Checks `Authorization: Bearer` headers for a stream; throws 401 when access is refused. */
export class Authorizer {
  readonly #global: Buffer[];
  readonly #perStream: Map<string, Buffer[]>;
  readonly #jwt: JwtOptions | undefined;
  readonly #hsKey: Uint8Array | undefined;
  readonly #rsKey: KeyObject | undefined;

  constructor(o: AuthorizerOptions) {
    this.#global = o.tokens.map(digest);
    this.#perStream = new Map([...o.streamTokens].map(([id, list]) => [id, list.map(digest)]));
    this.#jwt = o.jwt;
    this.#hsKey = o.jwt?.secret ? new TextEncoder().encode(o.jwt.secret) : undefined;
    this.#rsKey = o.jwt?.publicKeyPem ? createPublicKey(o.jwt.publicKeyPem) : undefined;
  }

  /** True when requests for this stream need a token. */
  required(streamId: string): boolean {
    return this.#global.length > 0 || (this.#perStream.get(streamId)?.length ?? 0) > 0 || this.#jwt !== undefined;
  }

  #matchesStatic(token: string, streamId: string): boolean {
    const d = digest(token);
    let ok = false;
    // Visit every candidate so timing does not reveal which list matched.
    for (const t of [...this.#global, ...(this.#perStream.get(streamId) ?? [])]) ok = timingSafeEqual(d, t) || ok;
    return ok;
  }

  async #matchesJwt(token: string, streamId: string): Promise<boolean> {
    const jwt = this.#jwt;
    if (!jwt || token.split('.').length !== 3) return false;
    const verifyOptions = { ...(jwt.issuer ? { issuer: jwt.issuer } : {}), ...(jwt.audience ? { audience: jwt.audience } : {}) };
    for (const [key, alg] of [[this.#hsKey, 'HS256'], [this.#rsKey, 'RS256']] as const) {
      if (!key) continue;
      try {
        const { payload } = await jwtVerify(token, key, { ...verifyOptions, algorithms: [alg] });
        // Optional scoping: a `streams` array or `stream` string claim limits the token.
        const streams = payload['streams'] ?? payload['stream'];
        if (streams === undefined) return true;
        if (typeof streams === 'string') return streams === streamId;
        return Array.isArray(streams) && streams.includes(streamId);
      } catch {
        // try the next key type
      }
    }
    return false;
  }

  /** Resolves when the request may proceed; throws UnauthorizedError otherwise. */
  async check(streamId: string, authorization: string | undefined): Promise<void> {
    if (!this.required(streamId)) return;
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!token) throw new UnauthorizedError('this stream needs Authorization: Bearer <token>');
    if (this.#matchesStatic(token, streamId)) return;
    if (await this.#matchesJwt(token, streamId)) return;
    throw new UnauthorizedError('the bearer token is not valid for this stream');
  }
}
