import { pino } from 'pino';
import pretty from 'pino-pretty';
import { createLogger, type Logger } from '../log.js';

/**
 * The CLI's logger, always on stderr: readable lines when stderr is a terminal, JSON lines
 * otherwise (for log collectors). Level from FLOWRUN_LOG_LEVEL (default `info`), see docs/cli.md.
 */
export function createCliLogger(stream: NodeJS.WriteStream = process.stderr): Logger {
  if (!stream.isTTY) return createLogger();
  const level = process.env.FLOWRUN_LOG_LEVEL ?? 'info';
  return pino({ name: 'flowrun', level }, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname' }));
}
