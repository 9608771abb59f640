import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateStoreInUseError } from '../../src/index.js';
import { createStateStore } from '../../src/statestore/index.js';
import { SqliteStateStore } from '../../src/statestore/sqlite-state-store.js';
import { ROOT, requireBuilt } from '../support/paths.js';
import { makeTempDir } from '../support/temp-dir.js';

/** Whether a connection of this process could take the lock now (SQLite makes it contend like another process). */
function lockIsFree(path: string): boolean {
  const probe = new Database(`${path}.lock`, { timeout: 0 });
  try {
    probe.pragma('journal_mode = MEMORY');
    probe.exec('BEGIN IMMEDIATE');
    probe.exec('ROLLBACK');
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return false;
    throw err;
  } finally {
    probe.close();
  }
}

/** A child process holding a store on `path` until its stdin closes. */
async function holdInChild(path: string) {
  const STORE = join(ROOT, 'dist/src/statestore/sqlite-state-store.js');
  requireBuilt('dist/src/statestore/sqlite-state-store.js');
  const script = `const { SqliteStateStore } = await import(${JSON.stringify(STORE)});
const store = SqliteStateStore.open(${JSON.stringify(path)});
console.log('held');
process.stdin.resume().on('end', () => store.close());`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number>((r) => child.once('exit', (code) => r(code ?? -1)));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', () => resolve());
    void exited.then((code) => reject(new Error(`the holder exited with ${code} before holding`)));
  });
  return { pid: child.pid!, stop: () => (child.stdin!.end(), exited) };
}

describe('the SQLite process lock', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await makeTempDir('sqlite-lock');
    path = join(dir, 'state.db');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is shared by the stores of one process and released when the last one closes', async () => {
    const first = SqliteStateStore.open(path);
    const second = SqliteStateStore.open(path);
    expect(lockIsFree(path)).toBe(false);
    expect(JSON.parse(readFileSync(`${path}.lock-holder`, 'utf8'))).toEqual({ pid: process.pid, host: hostname() });
    await first.close();
    await first.close(); // a second close does not give up the other store's use
    expect(lockIsFree(path)).toBe(false);
    await second.close();
    expect(lockIsFree(path)).toBe(true);
    expect(existsSync(`${path}.lock-holder`)).toBe(false);
    expect(existsSync(`${path}.lock-journal`)).toBe(false);
  });

  it('is released when the store cannot be opened', async () => {
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    expect(() => SqliteStateStore.open(path)).toThrow(/schema version 99 is newer/);
    expect(lockIsFree(path)).toBe(true);
  });

  it('is not taken for a private :memory: database', async () => {
    const store = SqliteStateStore.open(':memory:');
    await store.close();
    expect(existsSync(':memory:.lock')).toBe(false);
  });

  it('refuses the file held by another process with StateStoreInUseError naming it, and frees it when that process lets go', async () => {
    const holder = await holdInChild(path);
    try {
      let refused: unknown;
      try {
        SqliteStateStore.open(path);
      } catch (err) {
        refused = err;
      }
      expect(refused).toBeInstanceOf(StateStoreInUseError);
      expect(refused).toMatchObject({ code: 'STATE_STORE_IN_USE', path, holder: { pid: holder.pid, host: hostname() } });
      expect((refused as Error).message).toBe(
        `state store ${path} is in use by another flowrun process (pid ${holder.pid} on host ${hostname()}); ` +
          'one process per SQLite file — stop it, or use a PostgreSQL state store to run several nodes',
      );
      await expect(createStateStore({ type: 'sqlite', path })).rejects.toBeInstanceOf(StateStoreInUseError);
    } finally {
      expect(await holder.stop()).toBe(0);
    }
    const store = SqliteStateStore.open(path);
    await store.close();
  });

  it('still refuses without naming a holder when the holder file is unreadable', async () => {
    const holder = await holdInChild(path);
    try {
      await writeFile(`${path}.lock-holder`, 'not json');
      expect(() => SqliteStateStore.open(path)).toThrow(`state store ${path} is in use by another flowrun process; one process per SQLite file`);
    } finally {
      await holder.stop();
    }
  });
});
