import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStateStore } from '../../src/statestore/index.js';
import { PostgresStateStore } from '../../src/statestore/postgres-state-store.js';
import { POSTGRES_MIGRATIONS } from '../../src/statestore/postgres-schema.js';
import { queryRows, startPostgres, type PostgresFixture } from '../support/postgres.js';
import { describeStateStoreContract } from './contract.js';

let server: PostgresFixture;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.close();
});

const adminQuery = <T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> => queryRows<T>(server.url, text, values);

/** A fresh schema on the shared server and a URL whose connections work in it. */
async function freshSchema(): Promise<{ schema: string; url: string; drop(): Promise<void> }> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE SCHEMA ${schema}`);
  const url = new URL(server.url);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { schema, url: url.toString(), drop: async () => void (await adminQuery(`DROP SCHEMA ${schema} CASCADE`)) };
}

/** Runs `test` in a {@link freshSchema}, dropped afterwards whatever the outcome. */
async function inFreshSchema(test: (fresh: { schema: string; url: string }) => Promise<void>): Promise<void> {
  const { drop, ...fresh } = await freshSchema();
  try {
    await test(fresh);
  } finally {
    await drop();
  }
}

describeStateStoreContract('postgres', { durable: true }, async () => {
  const { url, drop } = await freshSchema();
  return { open: () => PostgresStateStore.connect({ url }), cleanup: drop };
});

/** The schema version just before the migration whose text contains `text`: a database there runs it next. */
function migrationWith(text: string): number {
  const index = POSTGRES_MIGRATIONS.findIndex((migration) => migration.includes(text));
  if (index < 0) throw new Error(`no migration contains ${text}`);
  return index;
}

describe('PostgresStateStore', () => {
  it('creates its tables once when several processes start together', () =>
    inFreshSchema(async ({ schema, url }) => {
      const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresStateStore.connect({ url })));
      await Promise.all(stores.map((store) => store.close()));
      expect(await adminQuery(`SELECT version FROM ${schema}.flowrun_schema`)).toEqual([{ version: POSTGRES_MIGRATIONS.length }]);
      const tables = await adminQuery<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename', [schema]);
      expect(tables.map((t) => t.tablename)).toEqual(['blob_namespaces', 'callbacks', 'chunks', 'flowrun_schema', 'items', 'namespace_submits', 'nodes', 'run_events', 'runs']);
    }));

  it('upgrades a database of the schema before namespaced events: its events belong to default', () =>
    inFreshSchema(async ({ schema, url }) => {
      await (await PostgresStateStore.connect({ url })).close();
      await adminQuery(`ALTER TABLE ${schema}.run_events DROP COLUMN namespace`);
      await adminQuery(`DROP TABLE ${schema}.namespace_submits`);
      await adminQuery(`INSERT INTO ${schema}.run_events (type, run_id, at, run) VALUES ('run.created', 'old', 1, '{}')`);
      await adminQuery(`UPDATE ${schema}.flowrun_schema SET version = ${migrationWith('namespace_submits')}`);
      await (await PostgresStateStore.connect({ url })).close();
      expect(await adminQuery(`SELECT namespace FROM ${schema}.run_events WHERE run_id = 'old'`)).toEqual([{ namespace: 'default' }]);
      expect(await adminQuery(`SELECT count(*)::int AS n FROM ${schema}.namespace_submits`)).toEqual([{ n: 0 }]);
    }));

  it('keeps item rows updatable in place: no index on a column a transition changes, and room on each page', () =>
    inFreshSchema(async ({ schema, url }) => {
      await (await PostgresStateStore.connect({ url })).close();
      // As a database of the schema before it had them.
      await adminQuery(`ALTER TABLE ${schema}.items RESET (fillfactor)`);
      await adminQuery(`CREATE INDEX items_by_status ON ${schema}.items (run_id, status, started_at)`);
      await adminQuery(`UPDATE ${schema}.flowrun_schema SET version = ${migrationWith('fillfactor = 50')}`);
      await (await PostgresStateStore.connect({ url })).close();
      const indexes = await adminQuery<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2', [schema, 'items']);
      expect(indexes.map((i) => i.indexname)).toEqual(['items_pkey']);
      const [{ options }] = await adminQuery<{ options: string[] }>(
        `SELECT c.reloptions AS options FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = 'items'`,
        [schema],
      );
      expect(options).toContain('fillfactor=50');
    }));

  it('upgrades a database of the schema before chunks kept their counts: the columns are added, empty', () =>
    inFreshSchema(async ({ schema, url }) => {
      await (await PostgresStateStore.connect({ url })).close();
      for (const column of ['done_success', 'done_failed', 'done_cancelled']) await adminQuery(`ALTER TABLE ${schema}.chunks DROP COLUMN ${column}`);
      await adminQuery(`INSERT INTO ${schema}.chunks (run_id, chunk_index, run_seq, chunk_size, first_item, end_item, state) VALUES ('old', 0, 1, 4, 0, 4, 'done')`);
      await adminQuery(`UPDATE ${schema}.flowrun_schema SET version = ${migrationWith('done_success')}`);
      await (await PostgresStateStore.connect({ url })).close();
      expect(await adminQuery(`SELECT done_success, done_failed, done_cancelled FROM ${schema}.chunks WHERE run_id = 'old'`)).toEqual([
        { done_success: null, done_failed: null, done_cancelled: null },
      ]);
    }));

  it('upgrades a database of the schema before cluster membership: the nodes table is added', () =>
    inFreshSchema(async ({ schema, url }) => {
      await (await PostgresStateStore.connect({ url })).close();
      await adminQuery(`DROP TABLE ${schema}.nodes`);
      await adminQuery(`UPDATE ${schema}.flowrun_schema SET version = 2`);
      await (await PostgresStateStore.connect({ url })).close();
      expect(await adminQuery(`SELECT version FROM ${schema}.flowrun_schema`)).toEqual([{ version: POSTGRES_MIGRATIONS.length }]);
      expect(await adminQuery(`SELECT count(*)::int AS n FROM ${schema}.nodes`)).toEqual([{ n: 0 }]);
    }));

  it('refuses a database whose schema is newer than it knows', () =>
    inFreshSchema(async ({ schema, url }) => {
      await (await PostgresStateStore.connect({ url })).close();
      await adminQuery(`UPDATE ${schema}.flowrun_schema SET version = 99`);
      await expect(PostgresStateStore.connect({ url })).rejects.toThrow(/schema version 99 is newer/);
    }));

  it('is what createStateStore opens for a postgres config', () =>
    inFreshSchema(async ({ url }) => {
      const store = await createStateStore({ type: 'postgres', url });
      expect(store).toBeInstanceOf(PostgresStateStore);
      await store.close();
    }));

  it('fails to open with an error naming the cause when the server cannot be reached', async () => {
    const unreachable = new URL(server.url);
    unreachable.port = '1';
    await expect(PostgresStateStore.connect({ url: unreachable.toString() })).rejects.toThrow(/cannot open postgres state store: .*ECONNREFUSED/);
  });
});
