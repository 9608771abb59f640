import { pino, type Logger } from 'pino';

/** A log line as pino wrote it. */
export interface LogRecord {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A debug-level pino logger whose records land in `records`, for asserting on what was logged. */
export function captureLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => records.push(JSON.parse(line) as LogRecord) });
  return { logger, records };
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;
