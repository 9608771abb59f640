import { resolve } from 'node:path';
import { loadConfig, type FlowrunConfig } from '../../config/index.js';
import type { Logger } from '../../log.js';
import { createCliLogger } from '../logger.js';
import { printHelp } from '../help.js';
import { Runtime } from '../../runtime.js';
import { DEFAULT_STATE_DB_PATH } from '../../statestore/index.js';
import { isLoopbackHost } from '../../serve/loopback.js';
import { normalizeOrigin } from '../../config/origin.js';
import { DEFAULT_HOST, DEFAULT_MAX_IN_FLIGHT, DEFAULT_PORT, startRuntimeServer } from '../../serve/ws-server.js';
import type { Output } from '../output.js';
import { UsageError } from '../usage-error.js';
import { parseCommandArgs } from '../args.js';
import { integerFlag } from '../integer-flag.js';

const USAGE = `flowrun serve [--host H] [--port P] [--token T] [--config C] [--allow-origin O]… [--max-message-bytes N] [--max-in-flight N]

  --host               interface to bind (default ${DEFAULT_HOST}); anything but loopback needs a token
  --port               TCP port (default ${DEFAULT_PORT}; 0 picks a free one)
  --token              bearer token every client must send (default: env FLOWRUN_TOKEN): an admin
                       of namespace default; the config's auth.tokens add tokens with a
                       namespace and a role (docs/security.md)
  --config             config file (default: flowrun.yaml in the working directory); without a
                       stateStore in it, runs are kept in sqlite at .flowrun/state.db in the
                       current directory (next to the default blob store, .flowrun/blobs)
  --allow-origin       a web origin (https://app.example.com) whose pages may connect besides the
                       server's own; repeatable, added to the config's serve.allowOrigins. Requests
                       from any other page (an Origin header) are refused with 403
  --max-message-bytes  largest accepted WebSocket frame (default 64 MiB)
  --max-in-flight      requests one connection may have in flight (default ${DEFAULT_MAX_IN_FLIGHT})

Prints {"url": "ws://…/"} on stdout once listening; logs go to stderr. Unfinished runs of an
earlier start are resumed in the background once it listens. SIGINT/SIGTERM stop it; unfinished
runs are left in the state store and resumed by the next start.

example:
  flowrun serve --config examples/greeter/flowrun.yaml --port 7837`;

/** `flowrun serve`: hosts the runtime over WebSocket (docs/serve.md) until SIGINT/SIGTERM. */
export async function serveCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parseOptions(argv);
  if (values.help) return printHelp(out, USAGE);
  const host = values.host ?? DEFAULT_HOST;
  const port = integerFlag(values.port, '--port', 0, 65535) ?? DEFAULT_PORT;
  const token = values.token ?? (process.env.FLOWRUN_TOKEN || undefined);
  if (token !== undefined && token.length === 0) throw new UsageError('--token must not be empty');
  const maxMessageBytes = integerFlag(values['max-message-bytes'], '--max-message-bytes', 1);
  const maxInFlight = integerFlag(values['max-in-flight'], '--max-in-flight', 1);
  const allowOriginFlags = (values['allow-origin'] ?? []).map((origin) => {
    try {
      return normalizeOrigin(origin);
    } catch (err) {
      throw new UsageError(`--allow-origin: ${(err as Error).message}`);
    }
  });

  const loaded = await loadConfig({ configPath: values.config });
  const tokens = loaded.auth?.tokens ?? [];
  if (token === undefined && tokens.length === 0 && !isLoopbackHost(host)) {
    throw new UsageError(
      `refusing to listen on ${host} without a token: anyone who can reach it could run flows. ` +
        'Give --token, set FLOWRUN_TOKEN or list auth.tokens in the config, or bind to a loopback address (127.0.0.1, ::1)',
    );
  }
  // A server keeps its runs by default (docs/serve.md): sqlite next to the config unless it names a store.
  const config = loaded.stateStore ? loaded : { ...loaded, stateStore: { type: 'sqlite' as const, path: resolve(process.cwd(), DEFAULT_STATE_DB_PATH) } };
  const logger = createCliLogger();
  logConfig(logger, config);
  const runtime = await Runtime.create({ config, logger, auditCallbacks: true });
  const allowOrigins = [...(config.serve?.allowOrigins ?? []), ...allowOriginFlags];
  let server;
  try {
    server = await startRuntimeServer({ runtime, host, port, token, tokens, allowOrigins, maxMessageBytes, maxInFlight, logger });
  } catch (err) {
    await runtime.close({ cancelRuns: false });
    throw err;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    out.line(JSON.stringify({ url: server.url }));
    // Listening first: however many runs the store holds unfinished, clients are answered while
    // they resume (docs/serve.md).
    resumeInBackground(runtime, logger);
    // Deletes old runs and blobs when the config's `retention:` says so (docs/retention.md).
    runtime.runs.startRetention();
  });
  logger.info({ signal }, `${signal}: shutting down`);
  await server.close();
  // Suspend rather than cancel: on a durable store the next `flowrun serve` resumes them.
  await runtime.close({ cancelRuns: false });
  logger.flush();
  return 0;
}

/**
 * Says which config file `serve` loaded (or that it found none) and the routes it serves, so a
 * server started in the wrong directory is noticed before its runs fail (docs/config.md).
 */
function logConfig(logger: Logger, config: FlowrunConfig): void {
  if (config.file === undefined) {
    logger.warn(`no config file found in ${process.cwd()} (give --config): serving the builtins only`);
  } else {
    logger.info({ config: config.file }, `config: ${config.file}`);
  }
  const routes = Object.entries(config.routes).map(([pattern, rules]) => `${pattern} → ${rules.map((r) => r.plugin).join(', ')}`);
  logger.info({ routes: Object.keys(config.routes) }, `routes: ${routes.join('; ') || 'none'}`);
}

/** Resumes the runs an earlier process left unfinished, logging how many (or why it could not). */
function resumeInBackground(runtime: Runtime, logger: Logger): void {
  runtime.runs.recover().then(
    (resumed) => {
      if (resumed > 0) logger.info({ resumed }, `resumed ${resumed} unfinished run(s)`);
    },
    (err: unknown) => logger.error({ err }, `cannot resume unfinished runs: ${(err as Error)?.message ?? String(err)}`),
  );
}

function parseOptions(argv: string[]) {
  return parseCommandArgs(
    {
      args: argv,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        token: { type: 'string' },
        config: { type: 'string' },
        'allow-origin': { type: 'string', multiple: true },
        'max-message-bytes': { type: 'string' },
        'max-in-flight': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    USAGE,
  );
}
