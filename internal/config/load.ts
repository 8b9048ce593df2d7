/** Loading a config: read, parse, validate with ajv (defaults filled in), cross-check, freeze. */
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { ErrorObject } from 'ajv';
import { ConfigError } from '../errors/index.js';
import type { ConfigProblem } from '../errors/index.js';
import { configSchema } from './schema.js';
import type { Config, ListenAddress } from './types.js';

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(configSchema);

/** Splits `host:port` (or `[v6]:port`); returns undefined when it is not one. */
export function parseListen(listen: string): ListenAddress | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 0 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2]) as string, port };
}

/** True when FFmpeg would read `input` as a local file (no URL scheme). */
export function isFileInput(input: string): boolean {
  // Any other scheme (rtmp://, srt://, udp://, pipe:, ...) is a protocol FFmpeg speaks.
  if (/^[a-zA-Z]:[\\/]/.test(input)) return true; // a Windows drive letter, not a scheme
  return input.startsWith('file:') || !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(input);
}

/**
 * True for an SDP file input: it describes a live RTP session (RFC 8866), so it cannot loop.
 * The same test as internal/ffmpeg's isSdpInput (config imports nothing but errors).
 */
export function isSdpInput(input: string, inputArgs: readonly string[] = []): boolean {
  return inputArgs.some((a, i) => a === '-f' && inputArgs[i + 1] === 'sdp') || /\.sdp$/i.test(input);
}

function describe(e: ErrorObject): ConfigProblem {
  let path = e.instancePath || '';
  let message = e.message ?? 'is invalid';
  switch (e.keyword) {
    case 'additionalProperties':
      path += `/${String(e.params['additionalProperty'])}`;
      message = 'is not a known key';
      break;
    case 'required':
      path += `/${String(e.params['missingProperty'])}`;
      message = 'is required';
      break;
    case 'enum':
      message = `must be one of ${(e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'type':
      message = `must be ${String(e.params['type'])}`;
      break;
    default:
      break;
  }
  return { path: path || '/', message };
}

/** ajv reports every branch of an anyOf; keep the summary line and drop the branch noise. */
function summarize(errors: readonly ErrorObject[]): ConfigProblem[] {
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const problems: ConfigProblem[] = [];
  for (const e of errors) {
    const insideAnyOf = [...anyOfPaths].some((p) => e.keyword !== 'anyOf' && e.instancePath.startsWith(p) && e.schemaPath.includes('anyOf'));
    if (insideAnyOf) continue;
    if (e.keyword === 'anyOf') {
      problems.push({ path: e.instancePath || '/', message: 'must be a stun:/turn: URL string or an object with "urls"' });
      continue;
    }
    problems.push(describe(e));
  }
  return problems;
}

// A DNS name as RFC 1123 allows it: dot-separated labels of letters, digits and inner hyphens.
const DNS_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** The mux port, the advertised addresses and the flag that needs them. */
function networkProblems(w: Config['webrtc']): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (w.udpPort !== undefined && w.portRangeBegin !== undefined) {
    problems.push({ path: '/webrtc/udpPort', message: 'set either udpPort (one port for every viewer) or portRangeBegin/portRangeEnd, not both' });
  }
  (w.advertisedAddresses ?? []).forEach((a, i) => {
    if (isIP(a) === 0 && !DNS_NAME.test(a)) problems.push({ path: `/webrtc/advertisedAddresses/${i}`, message: `must be an IPv4/IPv6 address or a DNS name, got ${JSON.stringify(a)}` });
  });
  if (w.advertiseOnly && (w.advertisedAddresses ?? []).length === 0) {
    problems.push({ path: '/webrtc/advertiseOnly', message: 'needs webrtc.advertisedAddresses: with none, the answer would carry no candidate' });
  }
  return problems;
}

function crossCheck(cfg: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (typeof cfg.http?.listen === 'string' && !parseListen(cfg.http.listen)) {
    problems.push({ path: '/http/listen', message: `must be host:port (e.g. 127.0.0.1:8889), got ${JSON.stringify(cfg.http.listen)}` });
  }
  const agentPort = cfg.cluster?.agentPort;
  const httpPort = typeof cfg.http?.listen === 'string' ? parseListen(cfg.http.listen)?.port : undefined;
  if (typeof agentPort === 'number' && agentPort !== 0 && agentPort === httpPort) {
    problems.push({ path: '/cluster/agentPort', message: `must differ from the port of http.listen (${httpPort})` });
  }
  const { portRangeBegin, portRangeEnd } = cfg.webrtc;
  if ((portRangeBegin === undefined) !== (portRangeEnd === undefined)) {
    problems.push({ path: '/webrtc/portRangeEnd', message: 'portRangeBegin and portRangeEnd must be set together' });
  } else if (portRangeBegin !== undefined && portRangeEnd !== undefined && portRangeBegin > portRangeEnd) {
    problems.push({ path: '/webrtc/portRangeEnd', message: `must be >= portRangeBegin (${portRangeBegin})` });
  }
  problems.push(...networkProblems(cfg.webrtc));
  if (cfg.limits.viewersPerStream > cfg.limits.viewersTotal) {
    problems.push({ path: '/limits/viewersPerStream', message: `must be <= viewersTotal (${cfg.limits.viewersTotal})` });
  }
  if (cfg.auth?.jwt && !cfg.auth.jwt.secret && !cfg.auth.jwt.publicKeyPem) {
    problems.push({ path: '/auth/jwt', message: 'needs secret (HS256) or publicKeyPem (RS256)' });
  }
  if (cfg.ffmpeg.restartMinMs > cfg.ffmpeg.restartMaxMs) {
    problems.push({ path: '/ffmpeg/restartMaxMs', message: `must be >= restartMinMs (${cfg.ffmpeg.restartMinMs})` });
  }
  const seen = new Map<string, number>();
  if (!Array.isArray(cfg.streams)) return problems;
  cfg.streams.forEach((s, i) => {
    if (!s || typeof s !== 'object') return;
    const first = seen.get(s.id);
    if (first !== undefined) problems.push({ path: `/streams/${i}/id`, message: `duplicates /streams/${first}/id ${JSON.stringify(s.id)}` });
    else seen.set(s.id, i);
    if (s.loop && !isFileInput(s.input)) {
      problems.push({ path: `/streams/${i}/loop`, message: 'only file inputs can loop' });
    } else if (s.loop && isSdpInput(s.input, Array.isArray(s.inputArgs) ? s.inputArgs : [])) {
      problems.push({ path: `/streams/${i}/loop`, message: 'an SDP input is a live RTP session and cannot loop' });
    }
  });
  return problems;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Validates an already-parsed JSON value; throws ConfigError naming every problem. */
export function parseConfig(raw: unknown, source = '<config>'): Config {
  const data = structuredClone(raw);
  const valid = validate(data);
  const problems = valid ? [] : summarize(validate.errors ?? []);
  // Cross-field checks run even when the schema failed, so one run reports every problem; on a
  // shape they cannot read they add nothing, and a path the schema already flagged is not repeated.
  const cfg = data as unknown as Config;
  let cross: ConfigProblem[] = [];
  try {
    cross = crossCheck(cfg);
  } catch {
    cross = [];
  }
  const seen = new Set(problems.map((p) => p.path));
  problems.push(...cross.filter((p) => !seen.has(p.path)));
  if (problems.length > 0) throw new ConfigError(source, problems);
  return deepFreeze(cfg);
}

/** Reads and validates a config file; throws ConfigError (unreadable, bad JSON, or invalid). */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '/', message: `cannot read file: ${(err as Error).message}` }], { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, [{ path: '/', message: `is not valid JSON: ${(err as Error).message}` }], { cause: err });
  }
  return parseConfig(raw, file);
}
