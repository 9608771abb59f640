import { NdjsonMessageReader } from '../transport/ndjson-reader.js';
import { NdjsonMessageWriter } from '../transport/ndjson-writer.js';
import type { ComponentServer } from './component-server.js';
import { guardComponentProcess } from './process-guards.js';

/** How long a server whose runtime hung up may take to wind down before the process exits anyway. */
const EXIT_GRACE_MS = 1000;

/**
 * Serves `server` over this process's stdin/stdout until the runtime closes stdin.
 *
 * Stdout carries protocol messages only. Component code must log through `ctx.logger` (stderr),
 * never `console.log`; to keep a stray call from corrupting the stream, `console.log`, `info`,
 * `debug` and `trace` are redirected to stderr here.
 */
export async function serveOverStdio(server: ComponentServer): Promise<void> {
  guardComponentProcess(server);
  const reader = new NdjsonMessageReader(process.stdin, {
    maxMessageBytes: server.maxMessageBytes,
    logger: server.logger,
    name: server.name,
  });
  const writer = new NdjsonMessageWriter(process.stdout);
  const connection = server.serve(reader, writer);
  await connection.closed;
  // The runtime is done with us: exit even if component code left a timer or socket open.
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
}
