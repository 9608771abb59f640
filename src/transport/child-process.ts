import { spawn, type ChildProcess } from 'node:child_process';
import { FlowrunError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { NdjsonMessageReader } from './ndjson-reader.js';
import { NdjsonMessageWriter } from './ndjson-writer.js';
import { PROCESS_GROUPS_SUPPORTED, signalGroup, trackGroup, untrackGroup } from './process-groups.js';
import { STDERR_LINE_CHARS, StderrExcerpt } from './stderr-excerpt.js';

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
  /** How long the rest of the group gets between SIGTERM and SIGKILL once the child itself exited, in ms. Default 2 000. */
  killGraceMs?: number;
}

/** How a child process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned component server speaking NDJSON on stdin/stdout, leader of its own process group. */
export interface StdioProcess {
  readonly child: ChildProcess;
  /** Reads the child's stdout. */
  readonly reader: NdjsonMessageReader;
  /** Writes the child's stdin. */
  readonly writer: NdjsonMessageWriter;
  /** The child's pid, which is also its process group's id. */
  readonly pid: number;
  /** What the child said on stderr: the last lines (at most 50 and 4 KiB) and the first error line. */
  readonly stderr: StderrExcerpt;
  /** The last lines the child wrote to stderr, oldest first (see `stderr`). */
  stderrTail(): string[];
  /**
   * Resolves (never rejects) once the child has exited and its pipes are closed. When the child
   * exits, the rest of its group gets SIGTERM, then SIGKILL after `killGraceMs`, so a grandchild
   * holding the pipes cannot keep this pending.
   */
  readonly exited: Promise<ProcessExit>;
  /** Sends a signal (default SIGTERM) to the child's whole process group, unless it is gone. */
  kill(signal?: NodeJS.Signals): void;
  /**
   * Stops the child politely, then less so: closes its stdin and waits up to `graceMs` for it to
   * exit, then SIGTERM to the group and up to `graceMs` more, then SIGKILL. Resolves once exited.
   */
  stop(graceMs: number): Promise<ProcessExit>;
}

const DEFAULT_KILL_GRACE_MS = 2_000;
/** After SIGKILL, how long the pipes may stay open (held by a process that left the group) before they are destroyed. */
const PIPE_CLOSE_WAIT_MS = 1_000;
/** How often a group's remaining processes are checked for after SIGTERM. */
const GROUP_POLL_MS = 25;

/**
 * Spawns `command` with piped stdio as the leader of a new process group and resolves once it is
 * running. A failure to start (missing command, not executable, bad cwd) rejects with a
 * `FlowrunError` (`SPAWN_FAILED`) naming the command, instead of surfacing later as a bare 'error' event.
 */
export function spawnStdioProcess(options: SpawnStdioOptions): Promise<StdioProcess> {
  const name = options.name ?? options.command;
  const logger = options.logger ?? silentLogger;
  const child = spawn(options.command, options.args ?? [], {
    env: options.env,
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group (setsid): stopping the server stops what it started (docs/component-servers.md).
    detached: PROCESS_GROUPS_SUPPORTED,
    windowsHide: true,
  });
  // The reader reports stdout errors once it listens; until then they must not crash the process.
  child.stdout!.on('error', () => undefined);
  const stderr = new StderrExcerpt();
  drainStderr(child, name, logger, stderr);

  return new Promise<StdioProcess>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(new FlowrunError('SPAWN_FAILED', describeSpawnError(options, name, error), { plugin: name, cause: error }));
    });
    child.once('spawn', () => {
      // Later errors (a failed kill) are not fatal to anyone; keep them from becoming uncaught.
      child.on('error', (error) => logger.warn({ plugin: name, err: error }, `${name}: child process error`));
      const reader = new NdjsonMessageReader(child.stdout!, { maxMessageBytes: options.maxMessageBytes, logger, name });
      const writer = new NdjsonMessageWriter(child.stdin!);
      resolve(new SpawnedProcess(child, reader, writer, stderr, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS));
    });
  });
}

class SpawnedProcess implements StdioProcess {
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  /** Resolves when the child itself has exited (its pipes may still be open). */
  private readonly leaderExited: Promise<void>;
  /** Set once no process of the group is left to signal (or the group was given up on). */
  private groupDone = false;

  constructor(
    readonly child: ChildProcess,
    readonly reader: NdjsonMessageReader,
    readonly writer: NdjsonMessageWriter,
    readonly stderr: StderrExcerpt,
    private readonly killGraceMs: number,
  ) {
    const pid = child.pid!;
    this.pid = pid;
    trackGroup(pid);
    this.exited = new Promise<ProcessExit>((resolve) => {
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    this.leaderExited = new Promise<void>((resolve) => {
      // Synchronously on 'exit': 'close' may follow in the same turn, and the group must go too.
      child.once('exit', () => {
        resolve();
        void this.reapGroup();
      });
    });
  }

  stderrTail(): string[] {
    return this.stderr.tail();
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.groupDone) return;
    if (PROCESS_GROUPS_SUPPORTED) signalGroup(this.pid, signal);
    else if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  async stop(graceMs: number): Promise<ProcessExit> {
    this.writer.end();
    if (!(await settlesWithin(this.leaderExited, graceMs))) {
      this.kill('SIGTERM');
      if (!(await settlesWithin(this.leaderExited, graceMs))) this.kill('SIGKILL');
    }
    return this.exited;
  }

  /**
   * The child is gone: the rest of its group gets SIGTERM, and SIGKILL if some of it is still
   * there after `killGraceMs`; pipes still held after that (by a process that left the group) are
   * destroyed, so `exited` comes in bounded time.
   */
  private async reapGroup(): Promise<void> {
    if (PROCESS_GROUPS_SUPPORTED && signalGroup(this.pid, 'SIGTERM') && !(await groupGoneWithin(this.pid, this.killGraceMs))) {
      signalGroup(this.pid, 'SIGKILL');
    }
    this.groupDone = true;
    untrackGroup(this.pid);
    if (!(await settlesWithin(this.exited, PIPE_CLOSE_WAIT_MS))) {
      this.child.stdout?.destroy();
      this.child.stderr?.destroy();
      this.child.stdin?.destroy();
    }
  }
}

/**
 * True once no process of group `pgid` is left, false if some still is after `ms`. Polls without
 * keeping the runtime alive: if it exits meanwhile, its exit hook kills the group.
 */
async function groupGoneWithin(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (signalGroup(pgid, 0)) {
    if (Date.now() >= deadline) return false;
    await new Promise<void>((resolve) => setTimeout(resolve, GROUP_POLL_MS).unref());
  }
  return true;
}

/** True if `promise` settles within `ms`. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
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

/** Logs the child's stderr line by line as it arrives and keeps a bounded excerpt for error reports. */
function drainStderr(child: ChildProcess, name: string, logger: Logger, excerpt: StderrExcerpt): void {
  let partial = '';
  const push = (line: string): void => {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    logger.debug({ plugin: name, stderr: line }, `${name} stderr`);
    excerpt.push(line);
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
      push(partial);
      partial = '';
    }
  });
  stderr.on('end', () => {
    if (partial !== '') push(partial);
    partial = '';
  });
  stderr.on('error', () => undefined);
}
