#!/usr/bin/env node
/** whepd entry point: argv, signals and exit codes; everything else lives in internal/. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { App } from '../../internal/app/index.js';
import { loadConfig } from '../../internal/config/index.js';
import { ConfigError } from '../../internal/errors/index.js';
import { createLogger } from '../../internal/log/index.js';
import { notifySystemd } from '../../internal/service/index.js';

const EXIT_USAGE = 64;
const EXIT_CONFIG = 2;

const HELP = `whepd: serve live streams to browsers over WHEP (WebRTC), fed by FFmpeg

Usage:
  whepd --config <file>     serve the streams in <file> (also -c <file>, --config=<file>)
  whepd check <file>        validate <file>; exit 0 if valid, 2 with every problem otherwise
  whepd --help | --version  (also -h or help, and -v)

Endpoints (see README.md and docs/whep.md):
  POST   /whep/<stream>             SDP offer in, 201 + SDP answer + Location out
  PATCH  /whep/<stream>/<session>   trickle ICE (application/trickle-ice-sdpfrag, If-Match)
  DELETE /whep/<stream>/<session>   leave
  GET    /                          stream list; GET /play/<stream> plays one in the browser

Signals: SIGTERM/SIGINT drain and exit 0 (new sessions get 503; viewers are closed at once, or
after they leave within cluster.drainTimeoutS); SIGHUP reloads the config (an invalid one is
rejected and the running config kept).

Operator endpoints: GET /healthz, GET /readyz, GET /metrics (Prometheus), and with admin.token
set: GET /api/streams, GET /api/sessions, DELETE /api/sessions/<id>,
POST /api/streams/<id>/restart, GET|POST|DELETE /api/drain (Authorization: Bearer <token>).
With cluster.agentPort set, HAProxy's agent-check reads "up ready <free>%" or "drain" there
(docs/scale-out.md).
`;

function version(): string {
  // cmd/whepd/main.ts runs from source two levels below package.json, the build three.
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // try the next layout
    }
  }
  return 'unknown';
}

function printConfigError(err: ConfigError): void {
  process.stderr.write(`whepd: ${err.message}\n`);
}

async function serve(file: string): Promise<void> {
  let config;
  try {
    config = loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      printConfigError(err);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
  const log = createLogger(config.log.level);
  const app = await App.start(config, log);
  log.info({ url: app.url, streams: config.streams.map((s) => s.id) }, 'whepd listening');
  for (const s of config.streams) {
    log.info(`stream ${s.id}: WHEP ${app.url}/whep/${s.id}  player ${app.url}/play/${s.id}`);
  }
  void notifySystemd('READY=1', `serving ${config.streams.length} stream(s) on ${app.url}`);
  process.on('SIGHUP', () => {
    let next;
    try {
      next = loadConfig(file);
    } catch (err) {
      if (err instanceof ConfigError) {
        log.error({ problems: err.problems }, `config reload rejected, keeping the running config: ${err.message}`);
        return;
      }
      throw err;
    }
    void notifySystemd('RELOADING=1');
    app.reload(next).then(
      (result) => {
        log.info(result, 'config reloaded');
        if (result.needsRestart.length > 0) log.warn({ sections: result.needsRestart }, 'these config sections changed but take effect only after a restart');
        void notifySystemd('READY=1');
      },
      (err: unknown) => log.error({ err }, 'config reload failed'),
    );
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    // Exit only once systemd-notify has run: it is a child, and exiting would kill it.
    const notified = notifySystemd('STOPPING=1');
    // The 5 s for closing come on top of the wait for viewers to leave (cluster.drainTimeoutS).
    const drainMs = app.config.cluster.drainTimeoutS * 1000;
    const force = setTimeout(() => {
      log.error(`shutdown took longer than ${(drainMs + 5000) / 1000} s; exiting`);
      process.exit(1);
    }, drainMs + 5000);
    force.unref();
    Promise.all([app.shutdown(drainMs), notified]).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** What the command line asks for; exits 64 with the usage when it does not parse. */
function parseCommandLine(argv: string[]): { help: boolean; version: boolean; config: string | undefined; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
    return { help: values.help ?? false, version: values.version ?? false, config: values.config, positionals };
  } catch (err) {
    // --config is the only option with a value, so a missing value is always its.
    const missing = (err as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE';
    usageError(missing ? 'missing --config <file>' : (err as Error).message);
  }
}

function usageError(message: string): never {
  process.stderr.write(`whepd: ${message}\n\n${HELP}`);
  process.exit(EXIT_USAGE);
}

async function main(argv: string[]): Promise<void> {
  const args = parseCommandLine(argv);
  const [command, file, ...extra] = args.positionals;
  if (args.help || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (args.version) {
    process.stdout.write(`${version()}\n`);
    return;
  }
  if (command === 'check') {
    if (!file) {
      process.stderr.write('whepd check: missing <file>\n');
      process.exit(EXIT_USAGE);
    }
    if (extra.length > 0 || args.config !== undefined) usageError('check takes one <file> and no options');
    try {
      const cfg = loadConfig(file);
      process.stdout.write(`${file}: ok (${cfg.streams.length} stream${cfg.streams.length === 1 ? '' : 's'})\n`);
    } catch (err) {
      if (err instanceof ConfigError) {
        printConfigError(err);
        process.exit(EXIT_CONFIG);
      }
      throw err;
    }
    return;
  }
  if (command !== undefined) usageError(`unknown command ${command}`);
  if (!args.config) usageError('missing --config <file>');
  await serve(args.config);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`whepd: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
