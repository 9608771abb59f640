import { describe, expect, it } from 'vitest';
import { PostgresStateStore } from '../../src/statestore/postgres-state-store.js';
import { prepared } from '../../src/statestore/prepared-statement.js';
import { postgresAvailable, postgresForFile } from '../support/postgres.js';

/**
 * Named prepared statements (src/statestore/prepared-statement.ts): a cluster node's fixed
 * statements are parsed once per connection instead of at every call.
 */
const postgres = postgresForFile();

describe('prepared statements', () => {
  it('name a text the same way every time, and different texts differently', () => {
    const a = prepared('SELECT $1::int AS x');
    expect(prepared('SELECT $1::int AS x')).toBe(a);
    expect(a.name).toMatch(/^flowrun_[0-9a-f]{24}$/);
    expect(prepared('SELECT $1::int AS y').name).not.toBe(a.name);
  });

  describe.skipIf(!postgresAvailable())('through the state store', () => {
    it('are prepared on the connection once and answer every call after', async () => {
      // One connection, so the catalog of its prepared statements shows what the calls did.
      const store = await PostgresStateStore.connect({ url: await postgres.database('prepared'), maxConnections: 1 });
      try {
        const statement = prepared('SELECT $1::int + 1 AS next');
        for (let k = 0; k < 8; k++) expect((await store.query<{ next: number }>(statement, [k])).rows).toEqual([{ next: k + 1 }]);
        const { rows } = await store.query<{ name: string; calls: number }>('SELECT name, generic_plans + custom_plans AS calls FROM pg_prepared_statements', []);
        expect(rows).toEqual([{ name: statement.name, calls: 8 }]);
      } finally {
        await store.close();
      }
    });
  });
});
