import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { ROOT } from '../support/paths.js';
import { spawnServe } from '../support/serve.js';
import { startPostgres, type PostgresFixture } from '../support/postgres.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * `flowrun serve` on PostgreSQL while the database blinks: its backends are terminated and the
 * server is stopped and started mid-run. The process stays up, the run completes exactly, and
 * `runs/list` agrees with `runs/get`.
 */
const N = 1_500;
const GATED_FROM = 1_000;

let postgres: PostgresFixture;
let dir: string;
beforeAll(async () => {
  postgres = await startPostgres();
  dir = await makeTempDir('serve-pg');
});
afterAll(async () => {
  await postgres?.close();
  await rm(dir, { recursive: true, force: true });
});

async function adminQuery<T extends pg.QueryResultRow>(text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

describe('flowrun serve on a PostgreSQL that blinks', () => {
  it('stays up through terminated backends and a server restart; the run ends exactly and list agrees with get', async (ctx) => {
    if (!postgres.stop || !postgres.start) ctx.skip(); // an external server is not the test's to stop
    const database = `serve_${randomBytes(6).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${database}`);
    const url = new URL(postgres.url);
    url.pathname = `/${database}`;
    const gate = join(dir, 'gate');
    const config = join(dir, 'flowrun.yaml');
    await writeFile(
      config,
      `plugins:
  d: { type: stepflow, command: node, args: [${JSON.stringify(join(ROOT, 'test/fixtures/deep-output-server.mjs'))}] }
routes:
  "/d/{*component}": [{ plugin: d }]
blobStore: { type: memory }
stateStore: { type: postgres, url: ${JSON.stringify(url.toString())} }
`,
    );
    const served = await spawnServe(['--config', config]);
    const client = await connect(served.url);
    try {
      const flow = { steps: [{ id: 'w', component: '/d/work', input: { $input: '$' } }], output: { $step: 'w' } };
      const inputs = Array.from({ length: N }, (_, i) => (i < GATED_FROM ? { i } : { i, gate }));
      const handle = await client.submit({ flow, inputs, maxConcurrency: 16 });

      let status = await handle.status();
      for (const mark of [250, 500]) {
        for (let k = 0; k < 10_000 && status.items.success < mark; k++) status = await handle.wait({ timeoutMs: 50 });
        await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database}'`);
      }
      await postgres.stop!();
      // A cluster node answers from the database: while it is down, a read says so; nothing is lost.
      await expect(handle.status()).rejects.toThrow(/state store unavailable/);
      await postgres.start!();
      await writeFile(gate, '');
      const final = await handle.wait();
      expect(final.status).toBe('success');
      expect(final.items).toEqual({ total: N, pending: 0, running: 0, success: N, failed: 0, cancelled: 0 });
      const page = await handle.results({ order: 'byIndex', offset: 0, limit: N });
      expect(page.results.map((r) => (r.result as { value: { i: number } }).value.i)).toEqual(Array.from({ length: N }, (_, i) => i));
      const listed = (await client.list({ limit: 10 })).runs.find((r) => r.runId === handle.runId)!;
      expect(listed.status).toBe('success');
      expect(listed.items).toEqual(final.items);
      expect(served.child.exitCode).toBeNull();
    } finally {
      await client.close();
      await served.stop();
    }

    // What the database holds, read directly: every item stored with its result, the run finished.
    const db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    try {
      const items = await db.query('SELECT status, count(*)::int AS n, count(result)::int AS with_result FROM items GROUP BY status');
      expect(items.rows).toEqual([{ status: 'success', n: N, with_result: N }]);
      const runs = await db.query('SELECT status, completed_at IS NOT NULL AS finished FROM runs');
      expect(runs.rows).toEqual([{ status: 'success', finished: true }]);
    } finally {
      await db.end();
    }
  });
});
