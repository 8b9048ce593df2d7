/** Logging: one pino root logger; each component takes a child with its own bindings. */
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** Log levels accepted in the config. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Creates the root logger: JSON lines on stdout (journald reads them). */
export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({ level, base: { name: 'whepd' }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that drops everything; for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
