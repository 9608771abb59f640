import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { NodesList, isTerminal, type ItemResult, type NodeInfo, type RunStatus } from '../../protocol/index.js';
import { connect, type FlowrunClient } from '../../src/client/index.js';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import { parseConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';
import type { StateStore } from '../../src/statestore/state-store.js';
import { fixturePath, requireBuilt } from './paths.js';
import { createDatabase, startPostgres, type PostgresFixture } from './postgres.js';
import { startS3rver, type S3rverFixture } from './s3.js';
import { spawnServe, type ServedProcess } from './serve.js';
import { makeTempDir } from './temp-dir.js';
import { until } from './wait-for.js';

/**
 * A cluster of `flowrun serve` nodes on real parts (docs/cluster.md): one PostgreSQL database as
 * the state store, one s3rver bucket as the blob store, and beside every node its own stdio
 * component server (`test/fixtures/cluster-recorder-server.mjs`, routed under `/rec/`). Every
 * wait is bounded; cleanup continues, stops and kills every process it started, whatever state the
 * test left it in.
 */

/** The `cluster` settings of the config: small, so that tests see chunks and takeovers quickly. */
export interface ClusterSettings {
  chunkSize: number;
  leaseMs: number;
  heartbeatMs: number;
}

export const TEST_CLUSTER_SETTINGS: ClusterSettings = { chunkSize: 64, leaseMs: 2000, heartbeatMs: 300 };

/** Bound on one wait for a condition in a cluster test: generous, the machine is noisy. */
export const CLUSTER_WAIT_MS = 60_000;

/** The flow of one /record step whose output is the step's output. */
export const RECORD_FLOW = {
  name: 'record',
  steps: [{ id: 'record', component: '/rec/record', input: { $input: '$' } }],
  output: { $step: 'record' },
};

/** The flow of one /parent step, which submits a child run of RECORD_FLOW from inside its item. */
export const PARENT_FLOW = {
  name: 'parent',
  steps: [{ id: 'parent', component: '/rec/parent', input: { $input: '$' } }],
  output: { $step: 'parent' },
};

/** What /record answers: the item, the component server's pid, the node (ppid) that spawned it, the attempt. */
export interface RecordOutput {
  item: number;
  pid: number;
  ppid: number;
  attempt: number;
}

/** /record's answer in an item's result, when the item succeeded. */
export function recordOutput(item: ItemResult): RecordOutput | undefined {
  return item.result?.outcome === 'success' ? (item.result.value as RecordOutput) : undefined;
}

/**
 * Checks that a finished run of `total` /record items has each item exactly once, in order, succeeded with its own
 * output, and that its counters say so; returns the outputs by item index.
 */
export function expectEachItemSucceededOnce(status: RunStatus, results: ItemResult[], total: number): RecordOutput[] {
  expect(status.status).toBe('success');
  expect(status.items).toEqual({ total, pending: 0, running: 0, success: total, failed: 0, cancelled: 0 });
  expect(results).toHaveLength(total);
  return results.map((item, index) => {
    expect(item.itemIndex).toBe(index);
    expect(item.status, `item ${index}`).toBe('success');
    const output = recordOutput(item);
    expect(output?.item, `item ${index}`).toBe(index);
    return output!;
  });
}

/** SQL: the node (ppid) whose component server produced an `items` row's result. */
export const RESULT_PPID_SQL = "(result->'value'->>'ppid')::int";

/** One line of `calls.jsonl`, written by /record for inputs with `log: true`. */
export interface CallRecord {
  event: 'start' | 'end' | 'abort';
  runId: string;
  item: number;
  pid: number;
  ppid: number;
  attempt: number;
  /** Date.now() of the component server: one machine, one clock. */
  at: number;
  /** On `start`: calls in flight across every node's server at that moment (this one included). */
  inFlight?: number;
}

/** A row of the `chunks` table (numbers as numbers). */
export interface ChunkRow {
  chunk_index: number;
  first_item: number;
  end_item: number;
  state: string;
  holder: string | null;
  epoch: number;
  lease_until: number | null;
  slots: number;
}

/** A row of the `items` table (numbers as numbers, `result` as stored text and parsed). */
export interface ItemRow {
  item_index: number;
  status: string;
  attempts: number;
  result_text: string | null;
  completed_at: number | null;
  completion_seq: number | null;
}

/** The PostgreSQL server and the s3rver of one test file: each cluster of the file gets a fresh database and prefix. */
export interface ClusterBackends {
  postgres: PostgresFixture;
  s3: S3rverFixture;
  close(): Promise<void>;
}

export async function startClusterBackends(): Promise<ClusterBackends> {
  const [postgres, s3] = await Promise.all([startPostgres(), startS3rver()]);
  return {
    postgres,
    s3,
    async close() {
      await Promise.all([postgres.close(), s3.close()]);
    },
  };
}

export interface ClusterNode {
  /** `node1`, `node2`, …: for messages. */
  readonly name: string;
  readonly served: ServedProcess;
  readonly pid: number;
  /** Its id in `nodes` (from `/health`). */
  readonly nodeId: string;
  /** A client connected to this node. Do not use it while the node is paused: calls would wait. */
  readonly client: FlowrunClient;
  /** What the test did to it last. */
  state: 'running' | 'paused' | 'exited';
}

export interface ClusterOptions {
  nodes?: number;
  settings?: Partial<ClusterSettings>;
  /** FLOWRUN_LOG_LEVEL of the nodes; default `warn`. */
  logLevel?: string;
  /** More top-level keys of the nodes' config (`retention`, say). */
  config?: Record<string, unknown>;
  /** Plugins and routes added to the nodes' config (beside the recorder's). */
  extra?: { plugins?: Record<string, unknown>; routes?: Record<string, unknown> };
}

export interface TestCluster {
  readonly nodes: ClusterNode[];
  readonly databaseUrl: string;
  readonly settings: ClusterSettings;
  /** The node whose process is `pid` (the `ppid` in /record's answers). */
  nodeOfPid(pid: number): ClusterNode | undefined;
  /** Sends `signal` (default SIGKILL) and waits until the process exited. */
  kill(node: ClusterNode, signal?: NodeJS.Signals): Promise<number>;
  /** SIGTERM, and the exit code once it exited. */
  stop(node: ClusterNode): Promise<number>;
  /**
   * SIGSTOP: the process stays, frozen, holding whatever it held. Resolves once none of its
   * statements still runs in the database, so what a test reads next is all it wrote before it froze.
   */
  pause(node: ClusterNode): Promise<void>;
  /** SIGCONT. */
  resume(node: ClusterNode): void;
  /** One query on the cluster's database. */
  sql<T extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]>;
  chunks(runId: string): Promise<ChunkRow[]>;
  items(runId: string): Promise<ItemRow[]>;
  /**
   * The database's sessions in a transaction, longest first (state, age of the transaction, query):
   * what a test adds to its failure when the cluster stops making progress.
   */
  sessionsInTransaction(): Promise<string>;
  /** Every call /record logged so far (inputs with `log: true`). */
  calls(): CallRecord[];
  /** `nodes/list` asked of `node`. */
  nodesList(node: ClusterNode): Promise<NodeInfo[]>;
  /** Waits (bounded) until the run is terminal, asking `node`; returns its final status. */
  waitForRun(node: ClusterNode, runId: string, timeoutMs?: number): Promise<RunStatus>;
  /** Starts one more node on the same database and config (named `node4`, … in order). */
  addNode(): Promise<ClusterNode>;
  /** Continues, stops and kills every process, closes every connection, removes the files. */
  close(): Promise<void>;
}

/** Starts `options.nodes` (default 3) serve nodes at once on a fresh database of `backends`. */
export async function startTestCluster(backends: ClusterBackends, options: ClusterOptions = {}): Promise<TestCluster> {
  requireBuilt('dist/src/cli/bin.js', 'dist/src/sdk/index.js');
  const settings = { ...TEST_CLUSTER_SETTINGS, ...options.settings };
  const database = `cluster_${randomBytes(6).toString('hex')}`;
  const databaseUrl = await createDatabase(backends.postgres.url, database);
  const dir = await makeTempDir('cluster');
  const callsDir = join(dir, 'calls');
  await mkdir(join(callsDir, 'inflight'), { recursive: true });
  await mkdir(join(callsDir, 'servers'));
  const config = join(dir, 'flowrun.yaml');
  await writeFile(config, clusterConfig(backends.s3, `${database}/`, databaseUrl, callsDir, settings, options.extra, options.config));
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const nodes: ClusterNode[] = [];
  const env = { FLOWRUN_LOG_LEVEL: options.logLevel ?? 'warn', AWS_ACCESS_KEY_ID: backends.s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: backends.s3.credentials.secretAccessKey };
  const cluster = makeCluster({ nodes, databaseUrl, settings, pool, callsDir, dir, start: (name) => startNode(name, config, env) });
  try {
    const started = await Promise.allSettled(Array.from({ length: options.nodes ?? 3 }, (_, i) => startNode(`node${i + 1}`, config, env)));
    for (const outcome of started) if (outcome.status === 'fulfilled') nodes.push(outcome.value);
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

/** The one config every node reads: JSON, which is YAML too. */
function clusterConfig(
  s3: S3rverFixture,
  prefix: string,
  databaseUrl: string,
  callsDir: string,
  settings: ClusterSettings,
  extra: ClusterOptions['extra'] = {},
  topLevel: ClusterOptions['config'] = {},
): string {
  return JSON.stringify({
    plugins: {
      rec: { type: 'stepflow', command: process.execPath, args: [fixturePath('cluster-recorder-server.mjs')], env: { FLOWRUN_TEST_CALLS_DIR: callsDir } },
      ...extra.plugins,
    },
    routes: { '/rec/{*component}': [{ plugin: 'rec' }], ...extra.routes },
    blobStore: { type: 's3', bucket: s3.bucket, prefix, endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true },
    stateStore: { type: 'postgres', url: databaseUrl },
    cluster: settings,
    ...topLevel,
  });
}

async function startNode(name: string, config: string, env: NodeJS.ProcessEnv): Promise<ClusterNode> {
  const served = await spawnServe(['--config', config], { env });
  try {
    const health = (await (await fetch(`${served.httpUrl}health`)).json()) as { nodeId: string };
    const client = await connect(served.url);
    return { name, served, pid: served.child.pid!, nodeId: health.nodeId, client, state: 'running' };
  } catch (err) {
    served.child.kill('SIGKILL');
    throw err;
  }
}

interface ClusterParts {
  nodes: ClusterNode[];
  databaseUrl: string;
  settings: ClusterSettings;
  pool: pg.Pool;
  callsDir: string;
  dir: string;
  start(name: string): Promise<ClusterNode>;
}

function makeCluster(parts: ClusterParts): TestCluster {
  const { nodes, pool, callsDir } = parts;
  const sql = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []) => (await pool.query<T>(text, values)).rows;
  let closing: Promise<void> | undefined;
  return {
    nodes,
    databaseUrl: parts.databaseUrl,
    settings: parts.settings,
    nodeOfPid: (pid) => nodes.find((node) => node.pid === pid),
    kill: (node, signal = 'SIGKILL') => signalAndWait(node, signal),
    stop: (node) => signalAndWait(node, 'SIGTERM'),
    async pause(node) {
      node.served.child.kill('SIGSTOP');
      node.state = 'paused';
      // Its connections are named after its pid (the state store's application_name).
      await until(
        async () => {
          const [row] = await sql<{ active: string }>(`SELECT count(*) AS active FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'`, [
            `flowrun pid ${node.pid}`,
          ]);
          return Number(row.active) === 0 ? true : undefined;
        },
        { what: `no statement of the frozen ${node.name} running`, timeoutMs: CLUSTER_WAIT_MS },
      );
    },
    resume(node) {
      node.served.child.kill('SIGCONT');
      node.state = 'running';
    },
    sql,
    chunks: async (runId) => (await sql<Record<string, unknown>>('SELECT * FROM chunks WHERE run_id = $1 ORDER BY chunk_index', [runId])).map(chunkRow),
    items: async (runId) =>
      (
        await sql<Record<string, unknown>>(
          'SELECT item_index, status, attempts, result::text AS result_text, completed_at, completion_seq FROM items WHERE run_id = $1 ORDER BY item_index',
          [runId],
        )
      ).map(itemRow),
    sessionsInTransaction: async () =>
      JSON.stringify(
        await sql(
          `SELECT state, wait_event_type, round(extract(epoch FROM now() - xact_start) * 1000) AS xact_ms, left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS query
           FROM pg_stat_activity WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid() ORDER BY xact_start`,
        ),
      ),
    calls: () => readCalls(callsDir),
    nodesList: async (node) => (await node.client.sendRequest(NodesList, {})).nodes,
    waitForRun: (node, runId, timeoutMs = CLUSTER_WAIT_MS) => waitForRun(node, runId, timeoutMs),
    async addNode() {
      const node = await parts.start(`node${nodes.length + 1}`);
      nodes.push(node);
      return node;
    },
    close: () => (closing ??= closeCluster(parts)),
  };
}

async function signalAndWait(node: ClusterNode, signal: NodeJS.Signals): Promise<number> {
  const { child, exited } = node.served;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill(signal);
    // A stopped process acts on SIGTERM only once continued (SIGKILL needs no help).
    if (node.state === 'paused') child.kill('SIGCONT');
  }
  const code = await exited;
  node.state = 'exited';
  return code;
}

async function waitForRun(node: ClusterNode, runId: string, timeoutMs: number): Promise<RunStatus> {
  const deadline = Date.now() + timeoutMs;
  const handle = node.client.run(runId);
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`run ${runId} not terminal within ${timeoutMs} ms (asking ${node.name})`);
    const status = await handle.wait({ timeoutMs: Math.min(left, 10_000) });
    if (isTerminal(status.status)) return status;
  }
}

/**
 * Waits until `node` holds an open chunk of the run and its server has answered at least
 * `minDone` of the run's items; returns the open chunks it holds then.
 */
export async function holdingWork(cluster: TestCluster, node: ClusterNode, runId: string, minDone: number): Promise<ChunkRow[]> {
  return until(
    async () => {
      const [row] = await cluster.sql<{ done: string }>(`SELECT count(*) AS done FROM items WHERE run_id = $1 AND status = 'success' AND ${RESULT_PPID_SQL} = $2`, [runId, node.pid]);
      const held = (await cluster.chunks(runId)).filter((chunk) => chunk.holder === node.nodeId && chunk.state === 'open');
      return Number(row.done) >= minDone && held.length > 0 ? held : undefined;
    },
    { what: `${node.name} holding a chunk of run ${runId} after answering ${minDone} of its items`, timeoutMs: CLUSTER_WAIT_MS },
  );
}

const toNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

function chunkRow(row: Record<string, unknown>): ChunkRow {
  return {
    chunk_index: Number(row.chunk_index),
    first_item: Number(row.first_item),
    end_item: Number(row.end_item),
    state: String(row.state),
    holder: (row.holder as string | null) ?? null,
    epoch: Number(row.epoch),
    lease_until: toNumber(row.lease_until),
    slots: Number(row.slots),
  };
}

function itemRow(row: Record<string, unknown>): ItemRow {
  return {
    item_index: Number(row.item_index),
    status: String(row.status),
    attempts: Number(row.attempts),
    result_text: (row.result_text as string | null) ?? null,
    completed_at: toNumber(row.completed_at),
    completion_seq: toNumber(row.completion_seq),
  };
}

function readCalls(callsDir: string): CallRecord[] {
  const file = join(callsDir, 'calls.jsonl');
  if (!existsSync(file)) return [];
  // A line being appended right now may be incomplete: only whole lines count.
  const text = readFileSync(file, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as CallRecord);
}

const CLOSE_BOUND_MS = 15_000;

/** Resolves with `promise`, or after `ms` whatever it does: cleanup must not hang on one part. */
function bounded(promise: Promise<unknown>, ms = CLOSE_BOUND_MS): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([promise.catch(() => {}), timeout]).finally(() => clearTimeout(timer));
}

async function closeCluster({ nodes, pool, callsDir, dir }: ClusterParts): Promise<void> {
  // A stopped process must be continued first, or neither its socket nor SIGTERM would be answered.
  for (const node of nodes) if (node.state === 'paused') node.served.child.kill('SIGCONT');
  for (const node of nodes) if (node.state === 'paused') node.state = 'running';
  await Promise.all(nodes.map((node) => bounded(node.client.close())));
  await Promise.all(
    nodes.map(async (node) => {
      if (node.state === 'exited') return;
      const { child } = node.served;
      child.kill('SIGTERM');
      await bounded(node.served.exited);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await node.served.exited;
      node.state = 'exited';
    }),
  );
  killLeftoverServers(join(callsDir, 'servers'));
  await pool.end();
  await rm(dir, { recursive: true, force: true });
}

/** Component servers of nodes that were killed may outlive them: each wrote its pid at start. */
function killLeftoverServers(serversDir: string): void {
  if (!existsSync(serversDir)) return;
  for (const name of readdirSync(serversDir)) {
    const pid = Number(name);
    const cmdline = `/proc/${pid}/cmdline`;
    // Only a process that is still our fixture: the pid may have been reused.
    if (existsSync(cmdline) && !readFileSync(cmdline, 'utf8').includes('cluster-recorder-server.mjs')) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** A cluster node in the test process, and the calls its recording component server logged. */
export interface InProcessNode {
  runtime: Runtime;
  calls(): CallRecord[];
  close(): Promise<void>;
}

/**
 * A cluster node in the test process: a `Runtime` that joins the cluster of `stateStore`'s
 * database, with the recording component server of the cluster tests at `/rec/*`.
 */
export async function startInProcessNode(stateStore: StateStore, cluster: { chunkSize: number }): Promise<InProcessNode> {
  const dir = await makeTempDir('in-process-node');
  const callsDir = join(dir, 'calls');
  await mkdir(join(callsDir, 'inflight'), { recursive: true });
  await mkdir(join(callsDir, 'servers'));
  const config = parseConfig(
    {
      plugins: { rec: { type: 'stepflow', command: process.execPath, args: [fixturePath('cluster-recorder-server.mjs')], env: { FLOWRUN_TEST_CALLS_DIR: callsDir } } },
      routes: { '/rec/{*component}': [{ plugin: 'rec' }] },
      cluster,
    },
    { workingDirectory: process.cwd(), env: process.env },
  );
  const runtime = await Runtime.create({ config, blobStore: new MemoryBlobStore(), stateStore, joinCluster: true });
  return {
    runtime,
    calls: () => readCalls(callsDir),
    async close() {
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
