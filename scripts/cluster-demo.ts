import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { POSTGRES_NOT_FOUND, findPostgresBin } from '../bench/lib/postgres-bin.js';
import { startPostgres } from '../bench/lib/throwaway-postgres.js';
import { makeTempDir } from '../bench/lib/temp-dir.js';
import { connect, type FlowrunClient, type RunStatus } from '../src/client/index.js';
import { ChunkClaims } from './cluster-demo/chunk-claims.js';
import { ClusterNodes, type ClusterNode } from './cluster-demo/cluster-nodes.js';
import { spreadLines, verify, type Verdict } from './cluster-demo/report.js';

/**
 * `npm run cluster-demo`: three `flowrun serve` nodes on one throw-away PostgreSQL share a run of
 * the greeter example (docs/cluster.md); node 2 is SIGKILLed halfway and the others take its chunks
 * over. Prints what happened and exits 0 only if every item succeeded exactly once. Everything it
 * starts is stopped and removed at the end, on failure and on Ctrl-C too.
 */
const ITEMS = 5_000;
const MAX_CONCURRENCY = 64;
const CLUSTER = { chunkSize: 64, leaseMs: 3_000, heartbeatMs: 500 };
/** Node 2 is killed once this share of the items is done (and it holds a chunk). */
const KILL_AFTER_SHARE = 0.2;
/** Bounds on every wait: generous, the machine may be busy. */
const KILL_WAIT_MS = 60_000;
const RUN_WAIT_MS = 120_000;
const POLL_MS = 50;

const dist = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const BIN = dist('../src/cli/bin.js');
const GREETER_SERVER = dist('../examples/greeter/server.js');
const GREETER_FLOW = dist('../../examples/greeter/flow.yaml');

type Cleanup = () => Promise<unknown>;
const cleanups: Cleanup[] = [];
let logDir: string | undefined;

async function main(): Promise<boolean> {
  if (findPostgresBin() === undefined && !process.env.FLOWRUN_TEST_PG_URL) {
    console.error(`cluster-demo: ${POSTGRES_NOT_FOUND}`);
    return false;
  }
  console.log('flowrun cluster demo: three `flowrun serve` nodes on one throw-away PostgreSQL share a run; node 2 is killed mid-run');
  const started = Date.now();
  const cluster = await startCluster();
  const [first, second, third] = cluster.nodes.nodes;

  const client = await connectTo(first);
  const names = Array.from({ length: ITEMS }, (_, i) => `${['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara'][i % 5]} ${i}`);
  const flow = parseYaml(readFileSync(GREETER_FLOW, 'utf8')) as Record<string, unknown>;
  const submittedAt = Date.now();
  const run = await client.submit({ flow, inputs: names.map((name) => ({ name })), maxConcurrency: MAX_CONCURRENCY });
  console.log(`submitted run ${run.runId} to node 1: ${ITEMS} greetings, chunks of ${CLUSTER.chunkSize}, maxConcurrency ${MAX_CONCURRENCY}`);

  await killWhenBusy(cluster, second, client, run.runId);
  console.log(`waiting on node 3 for the run: node 2's chunks are free to claim once its lease (${CLUSTER.leaseMs} ms) runs out`);
  const client3 = await connectTo(third);
  const status = await waitForEnd(client3, run.runId);
  const runMs = Date.now() - submittedAt;
  const verdict = verify(status, await client3.run(run.runId).itemResults(), names);

  await printReport(cluster, status, verdict);
  console.log(`elapsed: run ${seconds(runMs)}, whole demo ${seconds(Date.now() - started)}`);
  if (verdict.ok) console.log(`every item succeeded exactly once: ${ITEMS} of ${ITEMS}`);
  for (const problem of verdict.problems) console.log(`PROBLEM: ${problem}`);

  console.log(`\n$ flowrun nodes --url ${third.url}`);
  await listNodes(third.url);
  return verdict.ok;
}

/** The demo's cluster: PostgreSQL, three nodes and the claim log, each node's id in `nodes`. */
interface Cluster {
  nodes: ClusterNodes;
  claims: ChunkClaims;
  nodeIds: string[];
}

/** Starts PostgreSQL and three nodes on it, all stopped by the cleanups. */
async function startCluster(): Promise<Cluster> {
  const dir = await makeTempDir('cluster-demo');
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const postgres = await startPostgres();
  cleanups.push(() => postgres.close());
  console.log(`PostgreSQL (throw-away): ${postgres.url}`);

  // The node logs live apart from the rest: a failed demo leaves them for reading.
  logDir = await makeTempDir('cluster-demo-logs');
  const nodes = new ClusterNodes(BIN, writeConfig(dir, postgres.url), join(logDir, 'nodes.log'));
  cleanups.push(() => nodes.stopAll());
  await nodes.start();
  // The first node created the schema: the claim log can go on it before any chunk exists.
  const claims = await ChunkClaims.open(postgres.url);
  cleanups.push(() => claims.close());
  // One after the other, so that `flowrun nodes` (oldest first) lists them in their numbers' order.
  await nodes.start();
  await nodes.start();
  for (const node of nodes.nodes) console.log(`node ${node.number}: ${node.url} (pid ${node.child.pid})`);
  return { nodes, claims, nodeIds: await nodeIdsOf(claims, nodes.nodes) };
}

async function connectTo(node: ClusterNode): Promise<FlowrunClient> {
  const client = await connect(node.url);
  cleanups.push(() => client.close());
  return client;
}

/** The run's outcome and who did what: items per node, node 2's chunks taken over, items run again. */
async function printReport({ nodes, claims, nodeIds }: Cluster, status: RunStatus, verdict: Verdict): Promise<void> {
  const { runId, items } = status;
  console.log(`\nrun ${runId}: ${status.status}, ${items.success} of ${items.total} items succeeded (${items.failed} failed, ${items.cancelled} cancelled)`);
  const finishers = await claims.itemsByFinisher(runId);
  const perNode = nodes.nodes.map((node, i) => ({ name: `node ${node.number}${i === 1 ? ' (killed)' : ''}`, items: finishers.get(nodeIds[i]) ?? 0 }));
  for (const line of spreadLines(perNode, verdict)) console.log(line);
  const takers = (await claims.takenOver(runId, nodeIds[1])).map((t) => nodeIds.indexOf(t.by) + 1);
  const byWhom = [1, 3].map((n) => `, ${takers.filter((t) => t === n).length} by node ${n}`).join('');
  console.log(`node 2's chunks taken over by the others: ${takers.length}${byWhom}`);
}

/** The config every node shares: the greeter's server, blobs in one directory, PostgreSQL state. */
function writeConfig(dir: string, postgresUrl: string): string {
  const config = {
    plugins: { greeter: { type: 'stepflow', command: process.execPath, args: [GREETER_SERVER] } },
    routes: { '/greeter/{*component}': [{ plugin: 'greeter' }] },
    blobStore: { type: 'filesystem', path: join(dir, 'blobs') },
    stateStore: { type: 'postgres', url: postgresUrl },
    cluster: CLUSTER,
  };
  const path = join(dir, 'cluster.yaml');
  writeFileSync(path, stringifyYaml(config));
  return path;
}

/** Each node's id in the `nodes` table, found by its pid (a node registers before it listens). */
async function nodeIdsOf(claims: ChunkClaims, nodes: readonly ClusterNode[]): Promise<string[]> {
  const ids: string[] = [];
  for (const node of nodes) {
    const id = await claims.nodeIdOf(node.child.pid!);
    if (id === undefined) throw new Error(`node ${node.number} (pid ${node.child.pid}) has no row in the nodes table`);
    ids.push(id);
  }
  return ids;
}

/** Waits until some items are done and node 2 holds a chunk of the run, then SIGKILLs node 2. */
async function killWhenBusy({ nodes, claims, nodeIds }: Cluster, victim: ClusterNode, client: FlowrunClient, runId: string): Promise<void> {
  const victimId = nodeIds[victim.number - 1];
  const deadline = Date.now() + KILL_WAIT_MS;
  for (;;) {
    const { items, status } = await client.run(runId).status();
    if (status !== 'running' && status !== 'pending') throw new Error(`the run ended (${status}) before node 2 could be killed while holding a chunk`);
    const held = await claims.chunksHeld(runId, victimId);
    if (held > 0 && items.success >= ITEMS * KILL_AFTER_SHARE) {
      await nodes.kill(victim);
      console.log(`killed node 2 (SIGKILL) holding ${held} chunk(s), with ${items.success} of ${ITEMS} items done`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`node 2 held no chunk with ${KILL_AFTER_SHARE * 100}% of the items done within ${KILL_WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The run's final status, waited for on the given node (a server-side long poll). */
async function waitForEnd(client: FlowrunClient, runId: string): Promise<RunStatus> {
  const deadline = Date.now() + RUN_WAIT_MS;
  let status = await client.run(runId).wait({ timeoutMs: 5_000 });
  while (status.status === 'running' || status.status === 'pending') {
    if (Date.now() > deadline) throw new Error(`run ${runId} not finished after ${RUN_WAIT_MS} ms: ${JSON.stringify(status.items)}`);
    status = await client.run(runId).wait({ timeoutMs: 5_000 });
  }
  return status;
}

/** `flowrun nodes --url …` of the built CLI: a table on a terminal, JSON otherwise. */
function listNodes(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'nodes', '--url', url], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, FLOWRUN_TOKEN: '' } });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`flowrun nodes exited with ${code}`))));
  });
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Undoes what was started, last first; a failing step does not stop the others. */
async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch((err: unknown) => console.error(`cluster-demo: cleaning up: ${(err as Error).message}`));
  }
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`cluster-demo: ${signal}, stopping the nodes and PostgreSQL`);
    void cleanUp()
      .then(() => (logDir ? rm(logDir, { recursive: true, force: true }) : undefined))
      .then(() => process.exit(130));
  });
}

const ok = await main().catch((err: unknown) => {
  if (!interrupted) console.error(`cluster-demo failed: ${(err as Error).message}`);
  return false;
});
if (!interrupted) {
  await cleanUp();
  if (logDir && ok) await rm(logDir, { recursive: true, force: true });
  else if (logDir) console.error(`cluster-demo: the nodes' logs are in ${join(logDir, 'nodes.log')}`);
  process.exit(ok ? 0 : 1);
}
