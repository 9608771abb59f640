import { spawn, type ChildProcess } from 'node:child_process';
import { FlowrunError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { NdjsonMessageReader } from './ndjson-reader.js';
import { NdjsonMessageWriter } from './ndjson-writer.js';

/** Options of {@link spawnStdioProcess}. */
export interface SpawnStdioOptions {
  command: string;
  /** Default `[]`. */
  args?: readonly string[];
  /** The child's whole environment, passed as is: the caller decides whether to inherit `process.env`. */
  env: Record<string, string | undefined>;
  /** Default: the current directory. */
  cwd?: string;
  /** Names the process in logs and errors (e.g. the plugin name). Default: the command. */
  name?: string;
  /** Receives stderr lines (debug) and skipped stdout lines. Default: silent. */
  logger?: Logger;
  /** Cap on one stdout line. Default 64 MiB. */
  maxMessageBytes?: number;
}

/** How a child process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned component server speaking NDJSON on stdin/stdout. */
export interface StdioProcess {
  readonly child: ChildProcess;
  /** Reads the child's stdout. */
  readonly reader: NdjsonMessageReader;
  /** Writes the child's stdin. */
  readonly writer: NdjsonMessageWriter;
  readonly pid: number;
  /** The last lines the child wrote to stderr (at most 50), oldest first. */
  stderrTail(): string[];
  /** Resolves (never rejects) once the process has exited and its pipes are closed. */
  readonly exited: Promise<ProcessExit>;
  /** Sends a signal (default SIGTERM) unless the process has already exited. */
  kill(signal?: NodeJS.Signals): void;
}

const STDERR_TAIL_LINES = 50;
/** A stderr "line" longer than this is cut, so a child spewing without newlines cannot grow memory. */
const STDERR_LINE_CHARS = 4096;

/**
 * Spawns `command` with piped stdio and resolves once it is running. A failure to start (missing
 * command, not executable, bad cwd) rejects with a `FlowrunError` (`SPAWN_FAILED`) naming the
 * command, instead of surfacing later as a bare 'error' event.
 */
export function spawnStdioProcess(options: SpawnStdioOptions): Promise<StdioProcess> {
  const name = options.name ?? options.command;
  const logger = options.logger ?? silentLogger;
  const child = spawn(options.command, options.args ?? [], {
    env: options.env,
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });
  // The reader reports stdout errors once it listens; until then they must not crash the process.
  child.stdout!.on('error', () => undefined);

  const tail = drainStderr(child, name, logger);
  let exitedAt: ProcessExit | undefined;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('close', (code, signal) => {
      exitedAt = { code, signal };
      resolve(exitedAt);
    });
  });

  return new Promise<StdioProcess>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(new FlowrunError('SPAWN_FAILED', describeSpawnError(options, name, error), { plugin: name, cause: error }));
    });
    child.once('spawn', () => {
      // Later errors (a failed kill) are not fatal to anyone; keep them from becoming uncaught.
      child.on('error', (error) => logger.warn({ plugin: name, err: error }, `${name}: child process error`));
      resolve({
        child,
        reader: new NdjsonMessageReader(child.stdout!, { maxMessageBytes: options.maxMessageBytes, logger, name }),
        writer: new NdjsonMessageWriter(child.stdin!),
        pid: child.pid!,
        stderrTail: () => tail.slice(),
        exited,
        kill: (signal: NodeJS.Signals = 'SIGTERM') => {
          if (exitedAt === undefined && child.exitCode === null && child.signalCode === null) child.kill(signal);
        },
      });
    });
  });
}

function describeSpawnError(options: SpawnStdioOptions, name: string, error: NodeJS.ErrnoException): string {
  const what = `${name}: cannot start command "${options.command}"`;
  switch (error.code) {
    case 'ENOENT':
      return `${what}: not found (ENOENT)${options.cwd ? ` or cwd "${options.cwd}" does not exist` : ''}`;
    case 'EACCES':
      return `${what}: permission denied (EACCES)`;
    default:
      return `${what}: ${error.message}`;
  }
}

/** Logs the child's stderr line by line as it arrives and keeps the last lines for error reports. */
function drainStderr(child: ChildProcess, name: string, logger: Logger): string[] {
  const tail: string[] = [];
  let partial = '';
  const push = (line: string): void => {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    logger.debug({ plugin: name, stderr: line }, `${name} stderr`);
    tail.push(line);
    if (tail.length > STDERR_TAIL_LINES) tail.shift();
  };
  const stderr = child.stderr!;
  stderr.setEncoding('utf8');
  stderr.on('data', (chunk: string) => {
    let start = 0;
    let nl = chunk.indexOf('\n');
    while (nl !== -1) {
      push(partial + chunk.slice(start, nl));
      partial = '';
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    partial += chunk.slice(start);
    if (partial.length > STDERR_LINE_CHARS) {
      push(partial.slice(0, STDERR_LINE_CHARS) + '…');
      partial = '';
    }
  });
  stderr.on('end', () => {
    if (partial !== '') push(partial);
    partial = '';
  });
  stderr.on('error', () => undefined);
  return tail;
}
