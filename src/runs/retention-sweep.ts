import { ErrorCodes, MAX_GC_LISTED, RpcError, type RunsGcResultType } from '../../protocol/index.js';
import type { BlobStore } from '../../blobstore/blob-store.js';
import { yieldToEventLoop } from '../event-loop.js';
import type { Logger } from '../log.js';
import { delayMs, positiveInt } from '../options.js';
import type { StateStore } from '../statestore/state-store.js';
import { asStoreError } from '../statestore/store-unavailable.js';

/** How long finished runs and unused blobs are kept (docs/retention.md). */
export interface RetentionOptions {
  /** Terminal runs whose completion is older than this (ms) are deleted. Default: kept forever. */
  runsMs?: number;
  /** Blobs stored longer ago than this (ms) that no kept run uses as its flow are deleted. Default: kept forever. */
  blobsMs?: number;
  /** How often the periodic sweep runs (ms). Default 3,600,000 (1 h). */
  sweepEveryMs?: number;
}

export interface RetentionSweepDeps {
  store: StateStore;
  blobs: BlobStore;
  /** Drops deleted runs from memory (the run manager's recent runs). */
  forget: (runIds: readonly string[]) => void;
  /** Forgets the namespaces of deleted blobs (docs/security.md). */
  blobsDeleted: (blobIds: readonly string[]) => Promise<void>;
  logger: Logger;
  now: () => number;
  options?: RetentionOptions;
}

/** Runs one sweep deletes at most; the rest wait for the next. */
const MAX_RUNS_PER_SWEEP = 100_000;
/** Deletions between two turns of the event loop (SQLite's are synchronous). */
const DELETIONS_PER_TURN = 64;

type GcReport = RunsGcResultType;

/**
 * The retention sweep (docs/retention.md): deletes terminal runs older than `runsMs` by completion,
 * each with its children in a transaction of its own (a run still running is never touched), then
 * blobs older than `blobsMs` that no run left uses as its flow. One sweep at a time in this process,
 * and on a cluster one node at a time (the store's `exclusively`).
 */
export class RetentionSweep {
  private readonly runsMs: number | undefined;
  private readonly blobsMs: number | undefined;
  private readonly everyMs: number;
  private running: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: RetentionSweepDeps) {
    const options = deps.options ?? {};
    this.runsMs = positiveInt('retention.runs', options.runsMs);
    this.blobsMs = positiveInt('retention.blobs', options.blobsMs);
    this.everyMs = delayMs('retention.sweepEvery', options.sweepEveryMs, 3_600_000);
  }

  /** Whether anything is ever deleted: `runsMs` or `blobsMs` set. */
  get enabled(): boolean {
    return this.runsMs !== undefined || this.blobsMs !== undefined;
  }

  /** Sweeps now and every `sweepEveryMs` after (`flowrun serve`); does nothing when nothing is to be deleted. */
  start(): void {
    if (!this.enabled || this.timer) return;
    const sweep = () => {
      this.sweep(false).catch((err: unknown) => {
        if (err instanceof RpcError && err.code === ErrorCodes.Conflict) this.deps.logger.debug('retention sweep: another node is sweeping');
        else this.deps.logger.warn({ err }, 'retention sweep failed; it runs again at the next period');
      });
    };
    this.timer = setInterval(sweep, this.everyMs).unref();
    sweep();
  }

  /** Stops the periodic sweep and waits for one under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running.catch(() => {});
  }

  /**
   * Sweeps now (`runs/gc`); with `dryRun`, says what it would delete and deletes nothing. Another
   * node sweeping right now → -32013.
   */
  sweep(dryRun: boolean): Promise<GcReport> {
    const done = this.running.catch(() => {}).then(() => this.exclusively(dryRun));
    this.running = done;
    return done;
  }

  private async exclusively(dryRun: boolean): Promise<GcReport> {
    const { store } = this.deps;
    if (!store.exclusively) return this.sweepOnce(dryRun);
    const outcome = await store.exclusively('retention', () => this.sweepOnce(dryRun)).catch((err: unknown) => {
      throw asStoreError(err, 'cannot sweep');
    });
    if (!outcome.ran) throw new RpcError(ErrorCodes.Conflict, 'A retention sweep is running on another node; try again when it is done');
    return outcome.value;
  }

  private async sweepOnce(dryRun: boolean): Promise<GcReport> {
    const now = this.deps.now();
    const report: GcReport = { dryRun, runs: { count: 0, items: 0, runIds: [] }, blobs: { count: 0, bytes: 0, blobIds: [] } };
    const deletedFlows = new Map<string, number>();
    if (this.runsMs !== undefined) await this.sweepRuns(now - this.runsMs, report, deletedFlows);
    if (this.blobsMs !== undefined) await this.sweepBlobs(now - this.blobsMs, report, deletedFlows);
    this.deps.logger.info(
      { dryRun, runs: report.runs.count, items: report.runs.items, blobs: report.blobs.count, blobBytes: report.blobs.bytes },
      dryRun ? 'retention sweep (dry run): nothing deleted' : 'retention sweep done',
    );
    return report;
  }

  /** Each expired run with its children, one transaction each; what a dry run would delete counts toward `deletedFlows`. */
  private async sweepRuns(completedBefore: number, report: GcReport, deletedFlows: Map<string, number>): Promise<void> {
    const { store, forget } = this.deps;
    report.runs.completedBefore = new Date(completedBefore).toISOString();
    const expired = await store.expiredRuns(completedBefore, MAX_RUNS_PER_SWEEP).catch((err: unknown) => {
      throw asStoreError(err, 'cannot find expired runs');
    });
    for (let k = 0; k < expired.length; k++) {
      if (k > 0 && k % DELETIONS_PER_TURN === 0) await yieldToEventLoop();
      const outcome = await store.deleteRun(expired[k], { dryRun: report.dryRun }).catch((err: unknown) => {
        throw asStoreError(err, `cannot delete run ${expired[k]}`);
      });
      // Deleted meanwhile (runs/delete), or a child found unfinished: left for later.
      if (outcome.outcome !== 'deleted') continue;
      if (!report.dryRun) forget(outcome.runIds);
      report.runs.count += outcome.runIds.length;
      report.runs.items += outcome.items;
      for (const runId of outcome.runIds) if (report.runs.runIds.length < MAX_GC_LISTED) report.runs.runIds.push(runId);
      for (const flowId of outcome.flowIds) deletedFlows.set(flowId, (deletedFlows.get(flowId) ?? 0) + 1);
    }
  }

  /**
   * Blobs older than `storedBefore` that no kept run uses as its flow. The runs' flows are read
   * after the blobs are listed, and each blob is deleted only if still that old: a flow stored
   * again by a submit meanwhile is kept.
   */
  private async sweepBlobs(storedBefore: number, report: GcReport, deletedFlows: Map<string, number>): Promise<void> {
    const { store, blobs } = this.deps;
    report.blobs.storedBefore = new Date(storedBefore).toISOString();
    const candidates = [];
    for await (const blob of blobs.list()) if (blob.storedAt < storedBefore) candidates.push(blob);
    const uses = await store.flowUses().catch((err: unknown) => {
      throw asStoreError(err, 'cannot read the flows of stored runs');
    });
    // A dry run deleted no run: the flows of the runs it would delete are not kept.
    if (report.dryRun) for (const [flowId, n] of deletedFlows) uses.set(flowId, (uses.get(flowId) ?? 0) - n);
    const deleted: string[] = [];
    for (const blob of candidates) {
      if ((uses.get(blob.blobId) ?? 0) > 0) continue;
      if (!report.dryRun && !(await blobs.delete(blob.blobId, storedBefore))) continue;
      if (!report.dryRun) deleted.push(blob.blobId);
      report.blobs.count++;
      report.blobs.bytes += blob.bytes;
      if (report.blobs.blobIds.length < MAX_GC_LISTED) report.blobs.blobIds.push(blob.blobId);
    }
    // A deleted blob belongs to no namespace any more: one stored again is recorded afresh (docs/security.md).
    await this.deps.blobsDeleted(deleted);
  }
}
