import type { StateStoreConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { StateStoreInUseError } from '../errors.js';
import { MemoryStateStore } from './memory-state-store.js';
import type { StateStore } from './state-store.js';

export type {
  ItemCountsRecord,
  ItemUpdate,
  LoadedRun,
  RunQuery,
  RunRecord,
  RunSummary,
  StateStore,
  StoredItem,
  StoredItemDetail,
  StepTiming,
  ItemQuery,
  ItemPage,
  ItemTimings,
  StoredRunState,
} from './state-store.js';
export type { FlowPage, FlowQuery, StoredFlowUse } from './flow-listing.js';
export { MemoryStateStore } from './memory-state-store.js';
export { ItemTransitions } from './item-transitions.js';
export { deriveRunStatus } from './derive.js';
export type { RunStatusCounts } from './run-status-counts.js';

/** Where `flowrun serve` keeps its state when the config says nothing (relative to the base directory). */
export const DEFAULT_STATE_DB_PATH = '.flowrun/state.db';

export interface CreateStateStoreOptions {
  /** Receives errors of idle PostgreSQL connections; default silent. */
  logger?: Logger;
  /** PostgreSQL: sessions idle inside a transaction longer than this are ended by the server (default 5000 ms). */
  idleInTransactionTimeoutMs?: number;
}

/** Opens the configured state store; the SQL backends are loaded only when configured. */
export async function createStateStore(config: StateStoreConfig, options: CreateStateStoreOptions = {}): Promise<StateStore> {
  switch (config.type) {
    case 'memory':
      return new MemoryStateStore();
    case 'sqlite': {
      const { SqliteStateStore } = await import('./sqlite-state-store.js');
      try {
        return SqliteStateStore.open(config.path);
      } catch (err) {
        if (err instanceof StateStoreInUseError) throw err; // its message already names the file and says why
        throw new Error(`cannot open state database ${config.path}: ${(err as Error).message}`, { cause: err });
      }
    }
    case 'postgres': {
      const { PostgresStateStore } = await import('./postgres-state-store.js');
      return PostgresStateStore.connect({ url: config.url, logger: options.logger, idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs });
    }
  }
}
