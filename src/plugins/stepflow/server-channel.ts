import type { MessageReader, MessageWriter } from 'vscode-jsonrpc';
import type { StderrExcerpt } from '../../transport/stderr-excerpt.js';
import { ComponentError } from '../../calls/component-error.js';

/**
 * An open channel to one component server — a spawned process's stdio, or a dialled WebSocket.
 * The session on top of it (`ServerConnection`) is the same for both; only opening and ending differ.
 */
export interface ServerChannel {
  readonly reader: MessageReader;
  readonly writer: MessageWriter;
  /** Names the server in error messages: `command "node server.js"` or `url "ws://…"`. */
  readonly label: string;
  /** Identifying fields for error data: `{command, args, pid}` or `{url}`. */
  readonly details: Readonly<Record<string, unknown>>;
  /** The process id of a spawned server; undefined for a remote one. */
  readonly pid: number | undefined;
  /** Resolves (never rejects) once the server is gone, saying how: `exited (code 1)`, `closed the connection (code 1006)`. */
  readonly ended: Promise<string>;
  /** How a lost connection is described when `ended` does not come: `closed its stdout`, `broke the connection`. */
  readonly brokenDescription: string;
  /** What the server said on stderr (bounded); only a spawned server has it. */
  readonly stderr?: StderrExcerpt;
  /** Ends the channel at once, without grace (SIGKILL, or terminating the socket). */
  destroy(): void;
  /**
   * Ends the channel politely (close stdin, or a close frame) and waits up to `graceMs` for
   * `ended`; then a process group gets SIGTERM and `graceMs` more before SIGKILL, a socket is terminated.
   */
  shutdown(graceMs: number): Promise<void>;
}

/** Opens a fresh transport to the server; rejects with a `ServerStartError`. */
export type ChannelOpener = () => Promise<ServerChannel>;

/**
 * Why a server could not be brought up; `retryable` is false when trying again cannot help.
 * `stderrTail` (a spawned server's last stderr lines, at most 4 KiB) is for the log, not the wire.
 */
export class ServerStartError extends ComponentError {
  override name = 'ServerStartError';
  constructor(
    error: { code: number; message: string; data?: unknown },
    readonly retryable: boolean,
    plugin: string,
    readonly stderrTail?: readonly string[],
  ) {
    super(error, { plugin });
  }
}

/** `promise`'s value if it settles within `ms`, else undefined. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
