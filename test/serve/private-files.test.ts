import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FilesystemBlobStore } from '../../blobstore/index.js';
import { SqliteStateStore } from '../../src/statestore/sqlite-state-store.js';
import { makeTempDir } from '../support/temp-dir.js';

/** Permission bits of a file or directory. */
async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

/**
 * The state database (with its WAL and shared-memory files) and the blob tree hold whatever flows
 * handled: they are created for their owner only, even under a umask that lets everyone read.
 */
describe('private files', () => {
  let dir: string;
  let umask: number;
  beforeEach(async () => {
    dir = await makeTempDir('private');
    umask = process.umask(0);
  });
  afterEach(async () => {
    process.umask(umask);
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the SQLite database, its -wal and -shm files 0600 and its directory 0700', async () => {
    const path = join(dir, 'state', 'nested', 'state.db');
    const store = SqliteStateStore.open(path);
    try {
      await store.createRun({ runId: 'r1', flowId: 'f', createdAt: 1, total: 1, maxConcurrency: 1, variables: {} }, [{ x: 1 }]);
      for (const file of [path, `${path}-wal`, `${path}-shm`]) expect(await modeOf(file), file).toBe(0o600);
      expect(await modeOf(join(dir, 'state'))).toBe(0o700);
      expect(await modeOf(join(dir, 'state', 'nested'))).toBe(0o700);
    } finally {
      await store.close();
    }
  });

  it('makes a database file left readable by everyone private when it opens it', async () => {
    const path = join(dir, 'state.db');
    await writeFile(path, '', { mode: 0o644 });
    expect(await modeOf(path)).toBe(0o644);
    const store = SqliteStateStore.open(path);
    await store.close();
    expect(await modeOf(path)).toBe(0o600);
  });

  it('creates blob files 0600 and the blob directories 0700, small and large blobs alike', async () => {
    const root = join(dir, 'data', 'blobs');
    const store = new FilesystemBlobStore({ path: root });
    const small = await store.put({ secret: 'small' });
    const large = await store.put({ secret: 'x'.repeat(200_000) }, 'data');
    for (const id of [small, large]) {
      const file = store.fileOf(id);
      expect(await modeOf(file), file).toBe(0o600);
      expect(await modeOf(join(file, '..')), 'shard directory').toBe(0o700);
    }
    expect(await modeOf(root)).toBe(0o700);
    expect(await modeOf(join(dir, 'data'))).toBe(0o700);
  });
});
