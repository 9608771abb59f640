import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The process logger. Always writes to stderr (fd 2): stdout carries protocol messages on stdio
 * transports. Level from FLOWRUN_LOG_LEVEL (default `info`; `silent` in tests unless set).
 */
export function createLogger(name = 'flowrun', level = process.env.FLOWRUN_LOG_LEVEL ?? defaultLevel()): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}

function defaultLevel(): string {
  return process.env.VITEST ? 'silent' : 'info';
}

/** A logger that drops everything, for unit tests and embedding. */
export const silentLogger: Logger = pino({ level: 'silent' });
