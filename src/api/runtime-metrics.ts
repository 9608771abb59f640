import type { Status } from '../../protocol/index.js';
import type { CallCountsRow } from '../calls/call-counts.js';

export { CALL_OUTCOMES } from '../calls/call-counts.js';

/** What a runtime tells `GET /metrics` about itself (docs/serve.md, "Metrics"). */
export interface RuntimeMetrics {
  /** Runs of the state store by status (every node's, on a shared store). */
  runsByStatus(): Promise<Readonly<Record<Status, number>>>;
  /** Runs this process executes now. */
  liveRuns(): number;
  /** Items this process settled since it started, by status. */
  itemsSettled(): Readonly<Record<'success' | 'failed' | 'cancelled', number>>;
  /** Items this process settled per second over the last ten seconds before `now` (ms since the epoch). */
  itemsPerSecond(now: number): number;
  /** This process's component calls by component path and outcome. */
  calls(): readonly CallCountsRow[];
}
