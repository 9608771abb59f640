import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, startPostgres, type PostgresFixture } from '../support/postgres.js';
import { ROOT } from '../support/paths.js';

// The parts of `npm run bench -- --cluster` (bench/README.md), small, on a real PostgreSQL with real
// `flowrun serve` nodes. The cases find the CLI and their children next to their compiled modules,
// so they are loaded from dist/.
const dist = async <T>(path: string): Promise<T> => (await import(join(ROOT, 'dist', path))) as T;
const { chunkTable, heldChunks, waitForTakeover } = await dist<typeof import('../../bench/cluster/chunk-holders.js')>('bench/cluster/chunk-holders.js');
const { processesCpuMicros, treeCpuMicros, parentPid } = await dist<typeof import('../../bench/lib/proc-cpu.js')>('bench/lib/proc-cpu.js');
const { PgUsageMeter, statementStatsSettings } = await dist<typeof import('../../bench/lib/pg-usage.js')>('bench/lib/pg-usage.js');
const { clusterThroughputPass, inProcessNodePass, singleProcessPass } = await dist<typeof import('../../bench/cluster/throughput.js')>('bench/cluster/throughput.js');
const { crossNodeWaitPass } = await dist<typeof import('../../bench/cluster/cross-node-wait.js')>('bench/cluster/cross-node-wait.js');
const { takeoverPass } = await dist<typeof import('../../bench/cluster/takeover.js')>('bench/cluster/takeover.js');

const PASS_TIMEOUT_MS = 120_000;
const linux = process.platform === 'linux';

let server: PostgresFixture;
let meter: import('../../bench/lib/pg-usage.js').PgUsageMeter;
let databases = 0;
beforeAll(async () => {
  server = await startPostgres({ settings: statementStatsSettings() });
  meter = await PgUsageMeter.open(server.url);
});
afterAll(async () => {
  await meter?.close();
  await server?.close();
});

const freshName = (): string => `cluster_test_${++databases}`;

async function withDb<T>(use: (db: pg.Client, name: string, url: string) => Promise<T>): Promise<T> {
  const name = freshName();
  const url = await createDatabase(server.url, name);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return await use(db, name, url);
  } finally {
    await db.end();
  }
}

/** Burns at least `micros` of this process's CPU. */
function burn(micros: number): void {
  const start = process.cpuUsage();
  let x = 0;
  while (process.cpuUsage(start).user < micros) x += Math.sqrt(x + 1);
  if (x < 0) throw new Error('unreachable');
}

describe.runIf(linux)('process CPU from /proc', () => {
  it('counts CPU this process burns, and a tree holds at least its root', () => {
    const before = processesCpuMicros([process.pid]);
    burn(200_000);
    const after = processesCpuMicros([process.pid]);
    // Clock ticks are 10 ms: 200 ms burnt shows as at least 150 ms.
    expect(after - before).toBeGreaterThanOrEqual(150_000);
    expect(treeCpuMicros(process.pid)).toBeGreaterThanOrEqual(after);
  });

  it('finds a child by its parent, and counts a vanished pid as 0', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      expect(parentPid(child.pid!)).toBe(process.pid);
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    expect(processesCpuMicros([child.pid!])).toBe(0);
  });
});

describe('PostgreSQL usage over a window', () => {
  it('counts the statements run in the database, the WAL they wrote and the server CPU', async () => {
    await withDb(async (db, name) => {
      await db.query('CREATE TABLE t (id int PRIMARY KEY, v text)');
      const end = await meter.start(name);
      for (let i = 0; i < 50; i++) await db.query('INSERT INTO t VALUES ($1, $2)', [i, 'x'.repeat(100)]);
      const usage = await end();
      if (usage.source === 'pg_stat_statements') expect(usage.statements).toBeGreaterThanOrEqual(50);
      else expect(usage.transactions).toBeGreaterThanOrEqual(50);
      expect(usage.walBytes).toBeGreaterThan(50 * 100);
      if (linux) expect(usage.cpuMicros).toBeGreaterThanOrEqual(0);
    });
  });
});

describe('chunk takeover polling', () => {
  it('finds no chunks table in a database without one', async () => {
    await withDb(async (db) => {
      expect(await chunkTable(db)).toBeUndefined();
    });
  });

  it('returns once another node holds a chunk the killed node held, not while it is unheld', async () => {
    await withDb(async (db, _name, url) => {
      await db.query(`CREATE TABLE chunks (run_id text, chunk_index int, state text, holder text, epoch int, PRIMARY KEY (run_id, chunk_index))`);
      await db.query(
        `INSERT INTO chunks VALUES ('r1', 0, 'open', 'dead', 1), ('r1', 1, 'open', 'dead', 1), ('r1', 2, 'open', 'alive', 1), ('r1', 3, 'done', 'dead', 1), ('r2', 0, 'open', 'other', 1)`,
      );
      const table = await chunkTable(db);
      expect(table).toEqual({ holder: '"holder"', open: "state = 'open'", slots: '1', ranges: false });
      // Done chunks are not held for the takeover's purpose.
      expect(await heldChunks(db, table!, 'r1')).toEqual([
        { chunkIndex: 0, holder: 'dead', slots: 1 },
        { chunkIndex: 1, holder: 'dead', slots: 1 },
        { chunkIndex: 2, holder: 'alive', slots: 1 },
      ]);
      // A lease handed back is no takeover yet; the claim by 'alive' of chunk 1 is.
      await db.query(`UPDATE chunks SET holder = NULL WHERE chunk_index = 0 AND run_id = 'r1'`);
      const polling = waitForTakeover(db, table!, 'r1', 'dead', [0, 1], { pollMs: 20, timeoutMs: 30_000 });
      const other = new pg.Client({ connectionString: url });
      await other.connect();
      try {
        await other.query(`UPDATE chunks SET holder = 'alive', epoch = 2 WHERE run_id = 'r1' AND chunk_index = 1`);
      } finally {
        await other.end();
      }
      const takeover = await polling;
      expect(takeover).toMatchObject({ chunkIndex: 1, newHolder: 'alive' });
    });
  });

  it('gives up after its timeout, naming the run and the node', async () => {
    await withDb(async (db) => {
      await db.query(`CREATE TABLE chunks (run_id text, chunk_index int, holder_node text)`);
      await db.query(`INSERT INTO chunks VALUES ('r9', 0, 'dead')`);
      const table = await chunkTable(db);
      expect(table).toEqual({ holder: '"holder_node"', open: 'TRUE', slots: '1', ranges: false });
      await expect(waitForTakeover(db, table!, 'r9', 'dead', [0], { pollMs: 20, timeoutMs: 200 })).rejects.toThrow(/run r9 held by killed node dead/);
    });
  });
});

describe('cluster cases', () => {
  it('runs every item of a run submitted to node 1 of two serve nodes, and measures runtime CPU and PostgreSQL', async () => {
    const m = await clusterThroughputPass({ serverUrl: server.url, meter, database: freshName(), items: 500, warmup: 50, maxConcurrency: 64 }, 2);
    expect(m.items).toBe(500);
    expect(m.wallMs).toBeGreaterThan(0);
    expect(m.pg.walBytes).toBeGreaterThan(0);
    if (m.pg.source === 'pg_stat_statements') expect(m.pg.statements).toBeGreaterThan(0);
    if (linux) expect(m.runtimeCpuMicros).toBeGreaterThan(0);
  }, PASS_TIMEOUT_MS);

  it('runs the same run in this process, not joining the cluster', async () => {
    const m = await singleProcessPass({ serverUrl: server.url, meter, database: freshName(), items: 500, warmup: 50, maxConcurrency: 64 });
    expect(m.items).toBe(500);
    expect(m.runtimeCpuMicros).toBeGreaterThan(0);
    expect(m.pg.walBytes).toBeGreaterThan(0);
  }, PASS_TIMEOUT_MS);

  it('runs the same run through a one-node cluster in this process, whose chunks it claims and journals fenced', async () => {
    const database = freshName();
    const m = await inProcessNodePass({ serverUrl: server.url, meter, database, items: 500, warmup: 50, maxConcurrency: 64 });
    expect(m.items).toBe(500);
    expect(m.runtimeCpuMicros).toBeGreaterThan(0);
    // It ran as a node: the run was cut into chunks, every one of them done.
    const url = new URL(server.url);
    url.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      const { rows } = await client.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM chunks GROUP BY state');
      expect(rows.length).toBe(1);
      expect(rows[0].state).toBe('done');
      expect(rows[0].n).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
  }, PASS_TIMEOUT_MS);

  it('returns a wait parked on node 2 after the run submitted to node 1 completed', async () => {
    const w = await crossNodeWaitPass({ serverUrl: server.url, database: freshName(), samples: 3, sleepMs: 50 });
    expect(w.samples).toBe(3);
    expect(w.medianMs).toBeGreaterThanOrEqual(0);
    expect(w.medianPolls).toBeGreaterThanOrEqual(1);
  }, PASS_TIMEOUT_MS);

  it('times the takeover of a SIGKILLed node\'s chunk by another node, and the run still succeeds', async () => {
    const r = await takeoverPass({ serverUrl: server.url, database: freshName(), items: 2_000, sleepMs: 20, leaseMs: 3_000, maxConcurrency: 32 });
    expect(r.measured).toBe(true);
    if (!r.measured) return;
    expect(r.takeoverMs).toBeGreaterThan(0);
    expect(r.chunksOfKilled).toBeGreaterThan(0);
    expect(r.newHolder).not.toBe(r.killedNode);
    // The cluster's chunks carry their item range: the items running on the killed node are counted.
    expect(r.itemsRunningAtKill).toBeGreaterThanOrEqual(0);
  }, PASS_TIMEOUT_MS);
});
