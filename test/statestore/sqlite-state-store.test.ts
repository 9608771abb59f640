import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStateStore, MemoryStateStore } from '../../src/statestore/index.js';
import { SqliteStateStore } from '../../src/statestore/sqlite-state-store.js';
import { SQLITE_MIGRATIONS } from '../../src/statestore/sqlite-schema.js';
import { ItemTransitions } from '../../src/statestore/item-transitions.js';
import { makeTempDir } from '../support/temp-dir.js';

describe('SqliteStateStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('sqlite');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = (runId: string) => ({ runId, flowId: 'f', createdAt: 1, total: 1, maxConcurrency: 1, variables: {} });

  it('creates a WAL database with the current schema version', async () => {
    const path = join(dir, 'state.db');
    await SqliteStateStore.open(path).close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    } finally {
      db.close();
    }
  });

  it('refuses a database whose schema is newer than it knows', async () => {
    const path = join(dir, 'state.db');
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    expect(() => SqliteStateStore.open(path)).toThrow(/schema version 99 is newer/);
  });

  it('keeps a private database for :memory:', async () => {
    const first = SqliteStateStore.open(':memory:');
    const second = SqliteStateStore.open(':memory:');
    await first.createRun(run('r1'), ['in']);
    expect((await first.loadRun('r1'))?.items).toHaveLength(1);
    expect(await second.loadRun('r1')).toBeUndefined();
    await Promise.all([first.close(), second.close()]);
  });

  it('lets two stores on one file see each other’s writes', async () => {
    const path = join(dir, 'shared.db');
    const writer = SqliteStateStore.open(path);
    const reader = SqliteStateStore.open(path);
    try {
      await writer.createRun(run('r1'), [{ a: 1 }]);
      await writer.recordItems(ItemTransitions.of([{ runId: 'r1', itemIndex: 0, status: 'running', attempts: 1 }]));
      expect((await reader.loadRun('r1'))?.items[0].status).toBe('running');
      expect(await reader.loadInputs('r1')).toEqual([{ a: 1 }]);
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  });
});

describe('createStateStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('factory');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('opens a memory store', async () => {
    expect(await createStateStore({ type: 'memory' })).toBeInstanceOf(MemoryStateStore);
  });

  it('opens a sqlite store at the configured path, creating its directory', async () => {
    const path = join(dir, '.flowrun', 'state.db');
    const store = await createStateStore({ type: 'sqlite', path });
    expect(store).toBeInstanceOf(SqliteStateStore);
    await store.createRun(run('r1'), []);
    await store.close();
    const reopened = await createStateStore({ type: 'sqlite', path });
    expect(await reopened.unfinishedRuns()).toEqual(['r1']);
    await reopened.close();
  });

  it('names the path when the sqlite database cannot be opened', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'not a directory');
    const path = join(blocker, 'state.db');
    await expect(createStateStore({ type: 'sqlite', path })).rejects.toThrow(`cannot open state database ${path}`);
  });

  const run = (runId: string) => ({ runId, flowId: 'f', createdAt: 1, total: 0, maxConcurrency: 1, variables: {} });
});
