/** Logging: one pino root logger; each component takes a child with its own bindings. */
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** Log levels accepted in the config. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * Creates the root logger: JSON lines on stdout (journald reads them), or readable colored lines
 * through pino-pretty when stdout is a terminal.
 */
export function createLogger(level: LogLevel = 'info', pretty = Boolean(process.stdout.isTTY)): Logger {
  const options = { level, base: { name: 'whepd' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (!pretty) return pino(options);
  return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' } } });
}

/** A logger that drops everything; for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
