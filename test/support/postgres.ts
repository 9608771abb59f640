import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { PostgresStateStore } from '../../src/statestore/postgres-state-store.js';
import { createDatabase, postgresAvailable, startPostgres, type PostgresFixture } from '../../bench/lib/throwaway-postgres.js';

// The bench starts throw-away PostgreSQL clusters too (its peers' cases); the one implementation lives there.
export * from '../../bench/lib/throwaway-postgres.js';

/** The throw-away PostgreSQL server of one test file (see {@link postgresForFile}). */
export interface FilePostgres {
  /** A fresh database on the server; its URL. */
  database(name: string): Promise<string>;
  /** A fresh database with a state store and a plain client on it, closed after the file's tests. */
  storeAndClient(name: string): Promise<{ url: string; store: PostgresStateStore; client: pg.Client }>;
}

/**
 * Starts a throw-away PostgreSQL server before the calling file's tests and closes it, and what
 * `storeAndClient` opened, after them. Where PostgreSQL is not available nothing starts: the
 * file's suites skip with `describe.skipIf(!postgresAvailable())`.
 */
export function postgresForFile(): FilePostgres {
  let server: PostgresFixture | undefined;
  const opened: Array<{ store: PostgresStateStore; client: pg.Client }> = [];
  beforeAll(async () => {
    if (postgresAvailable()) server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    for (const { store, client } of opened.splice(0)) {
      await client.end();
      await store.close();
    }
    await server?.close();
  });
  const database = (name: string): Promise<string> => {
    if (server === undefined) throw new Error('no PostgreSQL server for this file: skip its suites with postgresAvailable()');
    return createDatabase(server.url, name);
  };
  return {
    database,
    async storeAndClient(name) {
      const url = await database(name);
      const store = await PostgresStateStore.connect({ url });
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      opened.push({ store, client });
      return { url, store, client };
    },
  };
}
