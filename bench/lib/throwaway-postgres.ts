import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chown, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.js';
import { findPostgresBin, POSTGRES_NOT_FOUND } from './postgres-bin.js';
import { makeTempDir } from './temp-dir.js';

/**
 * Whether PostgreSQL suites can run here (the same rule as vitest.config.ts): a server URL is
 * given, Debian's server binaries are installed, or CI requires them.
 */
export function postgresAvailable(): boolean {
  if (process.env.FLOWRUN_TEST_PG_URL || process.env.FLOWRUN_REQUIRE_POSTGRES === '1') return true;
  return findPostgresBin() !== undefined;
}

/** A PostgreSQL database for one test file or bench run: a fresh cluster, or a fresh database on FLOWRUN_TEST_PG_URL. */
export interface PostgresFixture {
  /** `postgres://…` of a database nobody else uses. */
  url: string;
  /** Stops the server (or drops the database) and removes its files. */
  close(): Promise<void>;
  /** Shuts the server down at once, keeping its data (throw-away clusters only, not FLOWRUN_TEST_PG_URL). */
  stop?(): Promise<void>;
  /** Starts the stopped server again on the same port and data. */
  start?(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
/** Attempts at a free port: another process may bind the port between our probe and postgres. */
const PORT_ATTEMPTS = 5;

export interface StartPostgresOptions {
  /** Extra server settings (`name=value`, passed as `-c`), after the defaults; ignored with FLOWRUN_TEST_PG_URL. */
  settings?: readonly string[];
}

/**
 * Starts a throw-away PostgreSQL cluster in a temp dir (initdb, then postgres on 127.0.0.1 and a free
 * port, trust auth, no fsync), or, when FLOWRUN_TEST_PG_URL is set, creates a fresh database there.
 * Safe to call from several workers at once: each cluster has its own directory and port.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresFixture> {
  const external = process.env.FLOWRUN_TEST_PG_URL;
  return external ? createScratchDatabase(external) : startCluster(options.settings ?? []);
}

async function startCluster(settings: readonly string[]): Promise<PostgresFixture> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(POSTGRES_NOT_FOUND);
  const user = await postgresUser();
  const dir = await makeTempDir('pg');
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'socket');
  try {
    await mkdir(socketDir);
    if (user) {
      await chown(dir, user.uid, user.gid);
      await chown(socketDir, user.uid, user.gid);
    }
    await run(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'], dir, user);
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        return await startServer({ bin, dataDir, socketDir, port, user, settings }, dir);
      } catch (err) {
        if (!(err instanceof PortTakenError) || attempt === PORT_ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

class PortTakenError extends Error {}

/** How to launch one throw-away server. */
interface ServerLaunch {
  bin: string;
  dataDir: string;
  socketDir: string;
  port: number;
  user: PosixUser | undefined;
  settings: readonly string[];
}

async function startServer(how: ServerLaunch, dir: string): Promise<PostgresFixture> {
  const url = `postgres://postgres@127.0.0.1:${how.port}/postgres`;
  let server = await launch(how, url);
  // Never leave files behind when the test process exits without calling close().
  const removeOnExit = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  let closing: Promise<void> | undefined;
  return {
    url,
    // A fast shutdown (SIGINT) writes what was committed: with synchronous_commit off, an immediate
    // one would lose the last commits, which no real server configured for durability does.
    stop: () => server.stop('SIGINT'),
    start: async () => {
      await server.stop();
      server = await launch(how, url);
    },
    close: () =>
      (closing ??= (async () => {
        await server.stop();
        process.off('exit', removeOnExit);
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}

/** Starts postgres on an initialized data directory and waits until it answers; `stop()` shuts it down at once. */
async function launch(how: ServerLaunch, url: string): Promise<{ stop(signal?: 'SIGQUIT' | 'SIGINT'): Promise<void> }> {
  const { bin, dataDir, socketDir, port, user } = how;
  const args = ['-D', dataDir, '-h', '127.0.0.1', '-p', String(port), '-k', socketDir];
  // Durability is pointless for a throw-away cluster; small buffers let several run side by side.
  for (const setting of ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'shared_buffers=16MB', 'max_connections=50', ...how.settings]) {
    args.push('-c', setting);
  }
  const child = spawn(join(bin, 'postgres'), args, { cwd: dirname(dataDir), stdio: ['ignore', 'ignore', 'pipe'], ...user });
  const stderr = tailOf(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  // Never leave a server behind when the test process exits without stopping it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stopping: Promise<void> | undefined;
  // SIGQUIT is PostgreSQL's immediate shutdown (the default: nothing in the cluster is worth keeping).
  const stop = (signal: 'SIGQUIT' | 'SIGINT' = 'SIGQUIT') =>
    (stopping ??= (async () => {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
    })());

  try {
    await waitUntilReady(url, dataDir, exited, stderr);
  } catch (err) {
    await stop();
    if (err instanceof PortTakenError) throw err;
    if (/could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(stderr())) {
      throw new PortTakenError(`port ${port} is taken`, { cause: err });
    }
    throw err;
  }
  return { stop };
}

/** Connects until the server answers, the process dies, or the deadline passes. */
async function waitUntilReady(url: string, dataDir: string, exited: Promise<number | null>, stderr: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let died = false;
  void exited.then(() => (died = true));
  let lastError: unknown;
  while (!died && Date.now() < deadline) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      const { rows } = await client.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir");
      // Our server may have failed to bind while another test's cluster answers on the port.
      if (rows[0]?.dir !== dataDir) throw new PortTakenError(`another server answers on ${url}`);
      return;
    } catch (err) {
      if (err instanceof PortTakenError) throw err;
      lastError = err;
    } finally {
      await client.end().catch(() => {});
    }
    // Short pause between attempts; the loop is bounded by the deadline and the process exiting.
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 50)), exited]);
  }
  const why = died ? 'postgres exited' : `postgres not ready after ${READY_TIMEOUT_MS} ms`;
  throw new Error(`${why}: ${(lastError as Error | undefined)?.message ?? ''}\n${stderr()}`, { cause: lastError });
}

/** A fresh database on an existing server, dropped on close. */
async function createScratchDatabase(serverUrl: string): Promise<PostgresFixture> {
  const name = `flowrun_test_${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let closing: Promise<void> | undefined;
  return {
    url: url.toString(),
    close: () =>
      (closing ??= withClient(serverUrl, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      })),
  };
}

/** Creates database `name` (an SQL identifier) on the server of `serverUrl` and returns its URL. */
export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The rows of one query on a connection of its own. */
export function queryRows<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  return withClient(url, async (client) => (await client.query<T>(text, values)).rows);
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

interface PosixUser {
  uid: number;
  gid: number;
}

/** The `postgres` system user when we are root (postgres refuses to run as root); else run as ourselves. */
async function postgresUser(): Promise<PosixUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const id = promisify(execFile);
  try {
    const [uid, gid] = await Promise.all([id('id', ['-u', 'postgres']), id('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch (err) {
    throw new Error('running as root, but there is no "postgres" user to run PostgreSQL as', { cause: err });
  }
}

/** Runs a command to completion (as `user` when given); rejects with its output on failure. */
function run(command: string, args: string[], cwd: string, user: PosixUser | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], ...user });
    const output = tailOf(child, true);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} failed (${signal ?? `exit ${code}`}):\n${output()}`));
    });
  });
}

/** Keeps the last few KiB a child wrote to stderr (and stdout), for error messages. */
function tailOf(child: ChildProcess, withStdout = false): () => string {
  let text = '';
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-8192);
  };
  child.stderr?.on('data', keep);
  if (withStdout) child.stdout?.on('data', keep);
  return () => text;
}
