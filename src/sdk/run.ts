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
}

/** How long a server may take to wind down after SIGTERM/SIGINT before the process exits anyway. */
const EXIT_GRACE_MS = 1000;

/** Reads `--port`, `--host` and `--path` (as `--opt value` or `--opt=value`); other arguments are left to the script. */
export function parseServerCommandLine(argv: readonly string[]): ServerCommandLine {
  const out: ServerCommandLine = {};
  for (let i = 0; i < argv.length; i++) {
    const match = /^--(port|host|path)(?:=(.*))?$/.exec(argv[i]!);
    if (match === null) continue;
    const name = match[1] as keyof ServerCommandLine;
    const value = match[2] ?? argv[++i];
    if (value === undefined || value === '') throw new Error(`--${name} needs a value`);
    if (name === 'port') {
      const port = Number(value);
      if (!/^\d+$/.test(value) || !isIntegerIn(port, 0, 65535)) throw new Error(`--port must be an integer from 0 to 65535, got "${value}"`);
      out.port = port;
    } else {
      out[name] = value;
    }
  }
  return out;
}

/**
 * Runs a component server script: with `--port N` it serves WebSocket and prints exactly one line,
 * `{"port":N}`, on stdout once listening (nothing else ever goes to stdout), until SIGTERM or
 * SIGINT; otherwise it serves stdio until the runtime closes stdin.
 */
export async function runComponentServer(server: ComponentServer, argv: readonly string[] = process.argv): Promise<void> {
  const args = parseServerCommandLine(argv);
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
