/**
 * One node of the bench's cluster: the compiled CLI's `flowrun serve --port 0` with a config that
 * names the shared PostgreSQL state store, the shared filesystem blob dir and the SDK echo child
 * (over stdio) as plugin `bench`. Its logs (pino, stderr) are kept in memory for error messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { childScript } from '../lib/children.js';

/** The compiled CLI next to the compiled bench. */
const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));

/** A node that prints no URL by then failed to start. */
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

/** What every node of one cluster shares. */
export interface ClusterSetup {
  /** `postgres://…` of the cluster's database. */
  stateUrl: string;
  /** The filesystem blob store's directory, shared by the nodes. */
  blobDir: string;
  /** Where the config file is written. */
  workDir: string;
  /** `cluster.leaseMs` (default 10 000); heartbeats every `leaseMs / 3`. */
  leaseMs?: number;
}

/** The plain config object of a bench node (written as JSON, which YAML reads). */
export function nodeConfig(setup: ClusterSetup): Record<string, unknown> {
  const leaseMs = setup.leaseMs ?? 10_000;
  return {
    plugins: { bench: { type: 'stepflow', command: process.execPath, args: [childScript('sdk-echo')], env: { FLOWRUN_LOG_LEVEL: 'warn' } } },
    routes: { '/bench/{*component}': [{ plugin: 'bench' }] },
    blobStore: { type: 'filesystem', path: setup.blobDir },
    stateStore: { type: 'postgres', url: setup.stateUrl },
    cluster: { leaseMs, heartbeatMs: Math.floor(leaseMs / 3) },
  };
}

/** Writes the config of `setup` as `<workDir>/flowrun.yaml` and returns its path. */
export function writeNodeConfig(setup: ClusterSetup): string {
  const path = join(setup.workDir, 'flowrun.yaml');
  writeFileSync(path, JSON.stringify(nodeConfig(setup), null, 2) + '\n');
  return path;
}

/** A running `flowrun serve` node. */
export interface ServeNode {
  pid: number;
  url: string;
  /** The last few KiB of its stderr. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after a grace period; resolves once it exited. */
  stop(): Promise<void>;
  /** SIGKILL at once; resolves once it exited. */
  kill(): Promise<void>;
}

/** Starts one node with the config file at `configPath` and waits for the URL it prints. */
export async function startNode(configPath: string, workDir: string): Promise<ServeNode> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--config', configPath], {
    cwd: workDir,
    env: { ...process.env, FLOWRUN_LOG_LEVEL: 'warn', FLOWRUN_TOKEN: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8192)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  try {
    const url = await readUrl(child, exited, () => stderr);
    const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    };
    return { pid: child.pid!, url, stderr: () => stderr, stop: () => stopWith('SIGTERM'), kill: () => stopWith('SIGKILL') };
  } catch (err) {
    child.kill('SIGKILL');
    process.off('exit', killOnExit);
    throw err;
  }
}

function readUrl(child: ChildProcess, exited: Promise<void>, stderr: () => string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`flowrun serve printed no URL within ${START_TIMEOUT_MS / 1000} s: ${stderr()}`)), START_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`flowrun serve exited before listening: ${stderr()}`));
    });
  });
}
