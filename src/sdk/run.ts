import { isIntegerIn } from '../options.js';
import type { ComponentServer } from './component-server.js';
import { guardComponentProcess } from './process-guards.js';

/** What a component server script reads from its command line. */
export interface ServerCommandLine {
  /** `--port N`: serve WebSocket on this port (0 = any free port). Absent: serve stdio. */
  port?: number;
  /** `--host H`. Default `127.0.0.1`. */
  host?: string;
  /** `--path P`: accept WebSocket upgrades on this path only. */
  path?: string;
  /** `--connect URL`: run as a worker of the runtime at `ws://HOST:PORT/workers` (docs/workers.md). */
  connect?: string;
  /** `--token T`: the bearer token of `--connect`. Default: `FLOWRUN_TOKEN`. */
  token?: string;
  /** `--pool NAME`: the pool a worker joins. Default `default`. */
  pool?: string;
  /** `--capacity N`: calls a worker takes at once. Default 16. */
  capacity?: number;
  /** `--name N`: how `flowrun workers` names the worker. */
  name?: string;
}

/** How long a server may take to wind down after SIGTERM/SIGINT before the process exits anyway. */
const EXIT_GRACE_MS = 1000;
const OPTION = /^--(port|host|path|connect|token|pool|capacity|name)(?:=(.*))?$/;

/** Reads the options above (as `--opt value` or `--opt=value`); other arguments are left to the script. */
export function parseServerCommandLine(argv: readonly string[]): ServerCommandLine {
  const out: ServerCommandLine = {};
  for (let i = 0; i < argv.length; i++) {
    const match = OPTION.exec(argv[i]!);
    if (match === null) continue;
    const name = match[1] as keyof ServerCommandLine;
    const value = match[2] ?? argv[++i];
    if (value === undefined || value === '') throw new Error(`--${name} needs a value`);
    if (name === 'port') out.port = integerArgument(name, value, 0, 65535);
    else if (name === 'capacity') out.capacity = integerArgument(name, value, 1, 100_000);
    else out[name] = value;
  }
  return out;
}

function integerArgument(name: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || !isIntegerIn(number, min, max)) throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${value}"`);
  return number;
}

/**
 * Runs a component server script: with `--port N` it serves WebSocket and prints exactly one line,
 * `{"port":N}`, on stdout once listening (nothing else ever goes to stdout), until SIGTERM or
 * SIGINT; with `--connect URL` it runs as a worker (see {@link runWorker}); otherwise it serves
 * stdio until the runtime closes stdin.
 */
export async function runComponentServer(server: ComponentServer, argv: readonly string[] = process.argv): Promise<void> {
  const args = parseServerCommandLine(argv);
  if (args.connect !== undefined) return runWorker(server, args, args.connect);
  if (args.port === undefined) {
    await server.serveStdio();
    return;
  }
  guardComponentProcess(server);
  const serving = await server.serveWebSocket({ port: args.port, host: args.host, path: args.path });
  // In WebSocket mode stdout is not a protocol channel: one line tells the launcher the port.
  process.stdout.write(`${JSON.stringify({ port: serving.port })}\n`);
  server.logger.info({ url: serving.url }, `${server.name}: serving WebSocket on ${serving.url}`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  // Component code may leave timers or sockets behind; the process must still end.
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
  await serving.close();
}

/**
 * A worker process (docs/workers.md): prints one line `{"workerId","node","pool"}` on stdout each
 * time it registers (again after every reconnect); SIGTERM or SIGINT drains it (no new calls, the
 * running ones finish) and it exits 0. A runtime refusing it for good exits 1.
 */
async function runWorker(server: ComponentServer, args: ServerCommandLine, url: string): Promise<void> {
  guardComponentProcess(server);
  const pool = args.pool ?? 'default';
  const worker = await server.serveWorker({
    url,
    token: args.token ?? (process.env.FLOWRUN_TOKEN || undefined),
    pool,
    capacity: args.capacity,
    name: args.name,
    // A worker speaks over its socket: stdout is no protocol channel here, and launchers read this line.
    onRegistered: ({ workerId, node }) => process.stdout.write(`${JSON.stringify({ workerId, node, pool })}\n`),
  });
  const drain = (signal: NodeJS.Signals): void => {
    server.logger.info({ signal }, `${server.name}: ${signal}: draining`);
    void worker.drain();
  };
  process.once('SIGTERM', drain);
  process.once('SIGINT', drain);
  try {
    await worker.done;
  } catch (error) {
    server.logger.error({ err: error }, `${server.name}: the runtime refused this worker: ${(error as Error).message}`);
    process.exitCode = 1;
  }
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
}
