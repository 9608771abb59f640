import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeInfo } from '../../protocol/index.js';
import { flowrun } from '../support/cli.js';
import { BIN, ROOT } from '../support/paths.js';
import { postgresAvailable, startPostgres, type PostgresFixture } from '../support/postgres.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Several `flowrun serve` on one real PostgreSQL are the nodes of a cluster: each registers a
 * row, heartbeats it, removes it on SIGTERM, and is seen dead once its heartbeat is older than
 * leaseMs after a SIGKILL. No runs are submitted: which node resumes a run is not membership's job.
 */
const LEASE_MS = 3000;
const HEARTBEAT_MS = 300;
/** Bound on every wait for a condition: generous, the machine is noisy. */
const WAIT_MS = 30_000;

let postgres: PostgresFixture;
let dir: string;
const served: ServedProcess[] = [];
beforeAll(async () => {
  if (!postgresAvailable()) return;
  postgres = await startPostgres();
  dir = await makeTempDir('cluster-nodes');
});
afterAll(async () => {
  await Promise.all(served.map((s) => s.stop()));
  await postgres?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function adminQuery<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/** A config on a fresh, empty database of the test's PostgreSQL, and that database's URL. */
async function freshDatabaseConfig(): Promise<{ config: string; databaseUrl: string }> {
  const database = `nodes_${randomBytes(6).toString('hex')}`;
  await adminQuery(postgres.url, `CREATE DATABASE ${database}`);
  const url = new URL(postgres.url);
  url.pathname = `/${database}`;
  const config = join(dir, `${database}.yaml`);
  await writeFile(
    config,
    `blobStore: { type: memory }
stateStore: { type: postgres, url: ${JSON.stringify(url.toString())} }
cluster: { leaseMs: ${LEASE_MS}, heartbeatMs: ${HEARTBEAT_MS} }
`,
  );
  return { config, databaseUrl: url.toString() };
}

async function serveNode(config: string): Promise<ServedProcess> {
  const node = await spawnServe(['--config', config]);
  served.push(node);
  return node;
}

/** `flowrun nodes --json` against one node. */
async function nodesVia(node: ServedProcess): Promise<NodeInfo[]> {
  const { code, stdout, stderr } = await flowrun(['nodes', '--json', '--url', node.url]);
  expect(code, stderr).toBe(0);
  return (JSON.parse(stdout) as { nodes: NodeInfo[] }).nodes;
}

async function health(node: ServedProcess): Promise<{ nodeId: string; membership: { state: string; lastHeartbeatAt: string } }> {
  const res = await fetch(`${node.httpUrl}health`);
  expect(res.status).toBe(200);
  return (await res.json()) as { nodeId: string; membership: { state: string; lastHeartbeatAt: string } };
}

/** The output of a CLI command run in a pseudo-terminal (script(1)), where listings are tables. */
function inTerminal(args: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve) => {
    const command = `"${process.execPath}" "${BIN}" ${args}`;
    execFile('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, timeout: 60_000, env: { ...process.env, FLOWRUN_LOG_LEVEL: 'warn', ...env } }, (_err, stdout) => resolve(stdout));
  });
}

/** Asks `probe` until it yields a value, within the bound; rejects naming `what` after it. */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!postgresAvailable())('flowrun serve nodes on one PostgreSQL', () => {
  it('start together on an empty database, each listing all; SIGTERM removes a node, SIGKILL leaves it dead after leaseMs', async () => {
    const { config } = await freshDatabaseConfig();
    // Started at once on an empty database: the schema migration must serialize them.
    const [a, b, c] = await Promise.all([serveNode(config), serveNode(config), serveNode(config)]);
    const ids = await Promise.all([a, b, c].map(async (node) => (await health(node)).nodeId));
    expect(new Set(ids).size).toBe(3);
    for (const node of [a, b, c]) expect((await health(node)).membership.state).toBe('joined');

    for (const node of [a, b, c]) {
      const listed = await nodesVia(node);
      expect(listed.map((n) => n.nodeId).sort()).toEqual([...ids].sort());
      for (const n of listed) {
        expect(n.alive).toBe(true);
        expect(n.chunksHeld).toBe(0);
        expect(n.itemsInFlight).toBe(0);
      }
      const pids = listed.map((n) => n.pid).sort();
      expect(pids).toEqual([a, b, c].map((s) => s.child.pid!).sort());
    }

    // SIGTERM: the node removes its own row before it exits.
    expect(await a.stop()).toBe(0);
    expect((await nodesVia(b)).map((n) => n.nodeId).sort()).toEqual([ids[1], ids[2]].sort());

    // SIGKILL: the row stays, and turns dead once its heartbeat is older than leaseMs.
    c.child.kill('SIGKILL');
    await c.exited;
    const dead = await until('the killed node listed as dead', async () => {
      const found = (await nodesVia(b)).find((n) => n.nodeId === ids[2]);
      expect(found).toBeDefined();
      return found!.alive ? undefined : found!;
    });
    expect(dead.pid).toBe(c.child.pid);
    const survivor = (await nodesVia(b)).find((n) => n.nodeId === ids[1])!;
    expect(survivor.alive).toBe(true);
    expect(Date.parse(survivor.heartbeatAt)).toBeGreaterThan(Date.parse(dead.heartbeatAt));
  }, 180_000); // three nodes start, stop and die in turn: slow on a busy machine, bounded by the waits inside

  it('heartbeats its row, and registers again when the row vanished', async () => {
    const { config, databaseUrl } = await freshDatabaseConfig();
    const node = await serveNode(config);
    const { nodeId } = await health(node);
    const first = (await nodesVia(node)).find((n) => n.nodeId === nodeId)!;
    await until('a later heartbeat', async () => {
      const now = (await nodesVia(node)).find((n) => n.nodeId === nodeId)!;
      return Date.parse(now.heartbeatAt) > Date.parse(first.heartbeatAt) ? now : undefined;
    });

    await adminQuery(databaseUrl, 'DELETE FROM nodes');
    const back = await until('the row registered again', async () => (await nodesVia(node)).find((n) => n.nodeId === nodeId));
    expect(back.alive).toBe(true);
    expect(back.pid).toBe(node.child.pid);
    expect((await health(node)).membership.state).toBe('joined');
    expect(await node.stop()).toBe(0);
  });

  // Last of this file's PostgreSQL tests: it stops the shared server.
  it('stays up while the database is down: heartbeats fail and are logged, then resume', async (ctx) => {
    if (!postgres.stop || !postgres.start) ctx.skip(); // an external server is not the test's to stop
    const { config } = await freshDatabaseConfig();
    const node = await serveNode(config);
    const { nodeId } = await health(node);
    await postgres.stop!();
    try {
      await until('a failing heartbeat', async () => ((await health(node)).membership.state === 'heartbeatFailing' ? true : undefined));
      // The log line reaches the pipe on its own schedule: wait for it rather than read it at once.
      await until('the failing heartbeat logged', async () => (node.stderr().includes(`node ${nodeId}: heartbeat failed`) ? true : undefined));
    } finally {
      await postgres.start!();
    }
    await until('the heartbeat restored', async () => ((await health(node)).membership.state === 'joined' ? true : undefined));
    const listed = await until('the node listed alive', async () => (await nodesVia(node)).find((n) => n.nodeId === nodeId && n.alive));
    expect(listed.pid).toBe(node.child.pid);
    expect(node.child.exitCode).toBeNull();
    expect(await node.stop()).toBe(0);
  });
});

describe('flowrun serve on a store of one process', () => {
  it('lists just itself as one live node (JSON, and a table on a terminal via FLOWRUN_URL), and /health says so', async () => {
    const workDir = await makeTempDir('single-node');
    try {
      const node = await spawnServe([], { cwd: workDir });
      try {
        const { nodeId, membership } = await health(node);
        expect(membership.state).toBe('single');
        const listed = await nodesVia(node);
        expect(listed).toEqual([
          { nodeId, host: expect.any(String), pid: node.child.pid, startedAt: expect.any(String), heartbeatAt: expect.any(String), alive: true, chunksHeld: 0, itemsInFlight: 0 },
        ]);
        const table = await inTerminal('nodes', { FLOWRUN_URL: node.url });
        expect(table).toMatch(/^NODE +HOST +PID +STARTED +HEARTBEAT +ALIVE +CHUNKS +IN FLIGHT\r?\n/);
        expect(table).toMatch(new RegExp(`${nodeId} +\\S+ +${node.child.pid} +\\S+Z +\\S+Z +yes +0 +0`));
      } finally {
        expect(await node.stop()).toBe(0);
      }
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });
});
