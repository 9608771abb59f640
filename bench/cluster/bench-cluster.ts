/**
 * A cluster for one pass: a fresh database on the bench's PostgreSQL, a fresh shared blob dir, and
 * N `flowrun serve` nodes on them, started one after the other (the first creates the schema).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isTerminal } from '../../protocol/index.js';
import { connect, type FlowrunClient, type RunHandle, type RunStatus } from '../../src/client/index.js';
import { makeTempDir } from '../lib/temp-dir.js';
import { createDatabase } from '../lib/throwaway-postgres.js';
import { startNode, writeNodeConfig, type ClusterSetup, type ServeNode } from './serve-node.js';

export interface BenchCluster {
  database: string;
  setup: ClusterSetup;
  nodes: ServeNode[];
  /** Stops every node still running (SIGTERM) and removes the blob dir and config. */
  close(): Promise<void>;
}

/** Creates database `database` on `serverUrl` and starts `count` nodes on it. */
export async function startBenchCluster(serverUrl: string, database: string, count: number, leaseMs?: number): Promise<BenchCluster> {
  const stateUrl = await createDatabase(serverUrl, database);
  const workDir = await makeTempDir('cluster');
  const blobDir = join(workDir, 'blobs');
  await mkdir(blobDir);
  const setup: ClusterSetup = { stateUrl, blobDir, workDir, leaseMs };
  const configPath = writeNodeConfig(setup);
  const nodes: ServeNode[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) nodes.push(await startNode(configPath, workDir));
  } catch (err) {
    await close();
    throw err;
  }
  return { database, setup, nodes, close };
}

/** Runs `use` with a client connected to `url`, closing it after. */
export async function withClient<T>(url: string, use: (client: FlowrunClient) => Promise<T>): Promise<T> {
  const client = await connect(url);
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

/** Waits (server-side long polls, repeated) until the run is terminal; counts the `runs/get` answers it took. */
export async function waitTerminal(handle: RunHandle): Promise<{ status: RunStatus; polls: number }> {
  let polls = 1;
  let status = await handle.wait();
  while (!isTerminal(status.status)) {
    status = await handle.wait();
    polls++;
  }
  return { status, polls };
}

/** Throws, naming the run, unless every one of its `items` items succeeded. */
export function expectAllSucceeded(status: RunStatus, items: number): void {
  if (status.status !== 'success' || status.items.success !== items) {
    throw new Error(`run ${status.runId} did not succeed: ${JSON.stringify({ status: status.status, items: status.items })}`);
  }
}
