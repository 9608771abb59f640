import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeStateStoreContract } from './contract.js';
import { SqliteStateStore } from '../../src/statestore/sqlite-state-store.js';
import { makeTempDir } from '../support/temp-dir.js';

describeStateStoreContract('sqlite', { durable: true }, async () => {
  const dir = await makeTempDir('state');
  // A directory that does not exist yet: opening creates it.
  const path = join(dir, 'nested', 'state.db');
  return { open: async () => SqliteStateStore.open(path), cleanup: () => rm(dir, { recursive: true, force: true }) };
});
