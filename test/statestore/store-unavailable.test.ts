import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../protocol/index.js';
import { asStoreError, isStoreClosed, isStoreUnavailable } from '../../src/statestore/store-unavailable.js';
import { TEMP_ROOT } from '../support/temp-dir.js';

/** A port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The error a real call raises. */
async function errorOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

describe('isStoreUnavailable', () => {
  it('is true for a PostgreSQL server that refuses connections', async () => {
    const client = new pg.Client({ connectionString: `postgres://x@127.0.0.1:${await closedPort()}/x`, connectionTimeoutMillis: 5_000 });
    const err = await errorOf(() => client.connect());
    expect(isStoreUnavailable(err)).toBe(true);
    expect(asStoreError(err, 'cannot store run r')).toMatchObject({ code: ErrorCodes.ResourceUnavailable, message: expect.stringMatching(/^state store unavailable: cannot store run r: /) });
  });

  it('is true for SQLSTATEs of lost connections, shutdowns and resource exhaustion; false for data errors', () => {
    for (const code of ['08006', '08001', '57P01', '57P02', '57P03', '53300', '53100', '40001', '40P01', '25P03']) expect(isStoreUnavailable({ code, message: 'x' })).toBe(true);
    for (const code of ['22P02', '54001', '23505', '42P01', '57014']) expect(isStoreUnavailable({ code, message: 'x' })).toBe(false);
    expect(isStoreUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('is true for a busy SQLite database and false for a value JSON cannot write', async () => {
    const path = join(TEMP_ROOT, `flowrun-unavailable-${process.pid}.db`);
    const holder = new Database(path);
    const writer = new Database(path, { timeout: 1 });
    try {
      holder.exec('CREATE TABLE t (x)');
      holder.exec('BEGIN IMMEDIATE');
      const busy = await errorOf(() => writer.exec('INSERT INTO t VALUES (1)'));
      expect(isStoreUnavailable(busy)).toBe(true);
      holder.exec('ROLLBACK');
    } finally {
      holder.close();
      writer.close();
      for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(path + suffix, { force: true });
    }
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(isStoreUnavailable(await errorOf(() => JSON.stringify(deep)))).toBe(false);
  });

  it('tells a closed store apart', async () => {
    const db = new Database(':memory:');
    db.close();
    expect(isStoreClosed(await errorOf(() => db.exec('SELECT 1')))).toBe(true);
    expect(isStoreClosed(new Error('postgres state store is closed'))).toBe(true);
    expect(isStoreClosed(new Error('SQLITE_BUSY'))).toBe(false);
  });
});
