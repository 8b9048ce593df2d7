/** Logging: one pino root logger; each component takes a child with its own bindings. */
import { createRequire } from 'node:module';
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** Log levels accepted in the config. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Finds a package the way the logger's transport will (throws when it is not installed). */
export type Resolve = (id: string) => string;

/**
 * True when pino-pretty can be loaded. It is a devDependency: a production install
 * (`npm ci --omit=dev`, `make install`) has none and logs JSON lines even on a terminal.
 */
export function prettyAvailable(resolve: Resolve = createRequire(import.meta.url).resolve): boolean {
  try {
    resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates the root logger: JSON lines on stdout (journald reads them), or readable colored lines
 * through pino-pretty when stdout is a terminal and pino-pretty is installed.
 */
export function createLogger(level: LogLevel = 'info', pretty = Boolean(process.stdout.isTTY), resolve?: Resolve): Logger {
  const options = { level, base: { name: 'whepd' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (!pretty || !prettyAvailable(resolve)) return pino(options);
  return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' } } });
}

/** A logger that drops everything; for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
