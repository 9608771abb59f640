import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryRows as query, startPostgres } from './postgres.js';
import { TEMP_ROOT } from './temp-dir.js';

/** The helper's directory in the temp root, found by the socket of the server's port. */
async function clusterDirOf(url: string): Promise<string | undefined> {
  const port = new URL(url).port;
  for (const name of (await readdir(TEMP_ROOT)).filter((entry) => entry.startsWith('flowrun-pg-'))) {
    const exists = await stat(join(TEMP_ROOT, name, `socket/.s.PGSQL.${port}`)).then(() => true, () => false);
    if (exists) return join(TEMP_ROOT, name);
  }
  return undefined;
}

describe('startPostgres', () => {
  it('gives a database that stores and returns rows, and stops on close', async () => {
    const server = await startPostgres();
    try {
      expect(server.url).toMatch(/^postgres(ql)?:\/\//);
      await query(server.url, 'CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, doc jsonb)');
      await query(server.url, 'INSERT INTO items VALUES ($1, $2, $3), ($4, $5, $6)', [1, 'one', { a: 1 }, 2, 'two', null]);
      expect(await query(server.url, 'SELECT id, name, doc FROM items ORDER BY id')).toEqual([
        { id: 1, name: 'one', doc: { a: 1 } },
        { id: 2, name: 'two', doc: null },
      ]);
    } finally {
      await server.close();
    }
    await expect(query(server.url, 'SELECT 1')).rejects.toThrow();
  });

  it('runs two servers side by side, each with its own data', async () => {
    const [first, second] = await Promise.all([startPostgres(), startPostgres()]);
    try {
      expect(first.url).not.toBe(second.url);
      await query(first.url, 'CREATE TABLE only_in_first (x int)');
      expect(await query(second.url, "SELECT to_regclass('only_in_first') AS found")).toEqual([{ found: null }]);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it.skipIf(process.env.FLOWRUN_TEST_PG_URL !== undefined)('runs the cluster from its own temp directory and removes it on close', async () => {
    const server = await startPostgres();
    const dir = await clusterDirOf(server.url);
    expect(dir).toBeDefined();
    await server.close();
    await expect(stat(dir!)).rejects.toThrow(/ENOENT/);
  });

  it.skipIf(process.env.FLOWRUN_TEST_PG_URL !== undefined)('uses the server of FLOWRUN_TEST_PG_URL, with a fresh database dropped on close', async () => {
    const host = await startPostgres();
    process.env.FLOWRUN_TEST_PG_URL = host.url;
    try {
      const scratch = await startPostgres();
      const name = new URL(scratch.url).pathname.slice(1);
      expect(new URL(scratch.url).port).toBe(new URL(host.url).port);
      expect(name).toMatch(/^flowrun_test_[0-9a-f]+$/);
      await query(scratch.url, 'CREATE TABLE t (x int)');
      await scratch.close();
      expect(await query(host.url, 'SELECT datname FROM pg_database WHERE datname = $1', [name])).toEqual([]);
    } finally {
      delete process.env.FLOWRUN_TEST_PG_URL;
      await host.close();
    }
  });
});
