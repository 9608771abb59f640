import { closeSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import Database from 'better-sqlite3';
import { StateStoreInUseError } from '../errors.js';

/**
 * One process per SQLite state file (docs/state-stores.md): two would both resume the same runs.
 *
 * The lock is a write transaction (`BEGIN IMMEDIATE`) held for the process's life on a dedicated
 * connection to a separate database next to the state file (`state.db.lock`). SQLite takes it as
 * an fcntl lock on that file, which the kernel drops when the process ends, however it ends
 * (SIGKILL included), so a restart after a crash never finds a stale lock. A separate file, not
 * the state database itself: in WAL mode a held write transaction there would block the store's
 * own connection. The transaction never writes, and its journal is kept in memory (SQLite opens a
 * journal file at `BEGIN IMMEDIATE` otherwise), so no file but the lock's own is left behind.
 *
 * fcntl locks belong to the process, and SQLite makes a second connection of the same process
 * wait like another process would; so the lock is taken once per process and counted: several
 * stores of one process on one file (a runtime and an embedder's tool) stay allowed.
 *
 * Who holds it goes in `state.db.lock-holder` (pid and host), written once the lock is taken, so
 * the refusal can name the process to stop. It is read only while another process holds the lock,
 * so one left behind by a killed process could be shown only in the instant between another's
 * taking the lock and writing its own.
 */
export interface ProcessLock {
  /** Gives up this use of the lock; the last use closes the lock connection. Idempotent. */
  release(): void;
}

interface HeldLock {
  db: Database.Database;
  holderFile: string;
  uses: number;
}

/** The locks this process holds, by the real path of the state file. */
const held = new Map<string, HeldLock>();

/**
 * Takes the process lock of the existing state file at `path` (named as given in the error), or
 * throws `StateStoreInUseError` at once when another process holds it.
 */
export function lockStateFile(path: string): ProcessLock {
  const key = realpathSync(path);
  let lock = held.get(key);
  if (lock === undefined) {
    lock = acquire(path, key);
    held.set(key, lock);
  }
  lock.uses++;
  const taken = lock;
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      if (--taken.uses > 0) return;
      held.delete(key);
      rmSync(taken.holderFile, { force: true });
      taken.db.close();
    },
  };
}

function acquire(path: string, key: string): HeldLock {
  const lockFile = `${key}.lock`;
  const holderFile = `${key}.lock-holder`;
  closeSync(openSync(lockFile, 'a', 0o600));
  // timeout 0: a held lock is refused at once rather than waited for.
  const db = new Database(lockFile, { timeout: 0 });
  try {
    db.pragma('journal_mode = MEMORY');
    db.exec('BEGIN IMMEDIATE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new StateStoreInUseError(path, readHolder(holderFile));
    throw err;
  }
  writeHolder(holderFile);
  return { db, holderFile, uses: 0 };
}

/** Written to a temporary file and renamed, so a reader never sees half of it. */
function writeHolder(holderFile: string): void {
  const temporary = `${holderFile}.${process.pid}`;
  writeFileSync(temporary, JSON.stringify({ pid: process.pid, host: hostname() }), { mode: 0o600 });
  renameSync(temporary, holderFile);
}

function readHolder(holderFile: string): { pid: number; host: string } | undefined {
  try {
    const { pid, host } = JSON.parse(readFileSync(holderFile, 'utf8')) as { pid?: unknown; host?: unknown };
    return typeof pid === 'number' && typeof host === 'string' ? { pid, host } : undefined;
  } catch {
    return undefined; // not yet written by a holder that just took the lock, or unreadable
  }
}
