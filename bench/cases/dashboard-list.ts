/**
 * The dashboard case (bench/README.md, `--only dashboard`): how fast `flowrun serve` answers the
 * dashboard's listings with many runs stored. A SQLite state store is filled with 10,000 finished
 * runs (written through the store directly, before `serve` opens it), then this process times
 * the first page of `runs/list` (newest first, 50 rows; with and without a status or namespace
 * filter) and of `flows/list` over one WebSocket, one request at a time.
 */
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { FlowsList, RunsList, type ParamsIn } from '../../protocol/index.js';
import { connect, type FlowrunClient } from '../../src/client/index.js';
import { ItemTransitions } from '../../src/statestore/item-transitions.js';
import { SqliteStateStore } from '../../src/statestore/sqlite-state-store.js';
import type { ItemUpdate } from '../../src/statestore/state-store.js';
import { stopChild } from '../lib/children.js';
import { median, quantile } from '../lib/measure.js';
import { makeTempDir } from '../lib/temp-dir.js';
import { startServe } from './durable-serve.js';

/** The goal: a listing page answers within this, at the 95th percentile. */
export const DASHBOARD_TARGET_MS = 200;

export interface DashboardPlan {
  runs: number;
  itemsPerRun: number;
  /** Timed requests per query, after `warmup` untimed ones. */
  samples: number;
  warmup: number;
}

export interface DashboardQueryResult {
  query: string;
  rows: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

export interface DashboardSummary extends DashboardPlan {
  /** How long writing the runs into the store took. */
  fillMs: number;
  queries: DashboardQueryResult[];
  targetMs: number;
}

/** What each timed request asks: the dashboard's queries. */
const QUERIES: Array<{ query: string; params: ParamsIn<typeof RunsList> } | { query: string; flows: ParamsIn<typeof FlowsList> }> = [
  { query: 'runs/list newest 50 (an admin: every namespace)', params: { limit: 50 } },
  { query: 'runs/list newest 50 of a namespace', params: { limit: 50, namespace: 'default' } },
  { query: 'runs/list status failed (1 run in 10)', params: { limit: 50, status: ['failed'] } },
  { query: 'runs/list status success of a namespace', params: { limit: 50, status: ['success'], namespace: 'default' } },
  { query: 'runs/list status pending/running (none)', params: { limit: 50, status: ['pending', 'running'] } },
  { query: 'flows/list of a namespace (18 of the 20 flows)', flows: { limit: 50, namespace: 'default' } },
];

const FLOWS = 20;

export async function dashboardCase(plan: DashboardPlan, progress: (line: string) => void): Promise<DashboardSummary> {
  const dir = await makeTempDir('bench-dashboard');
  let serve: ChildProcess | undefined;
  let client: FlowrunClient | undefined;
  try {
    const dbPath = join(dir, 'state.db');
    const t0 = performance.now();
    await fillStore(dbPath, plan);
    const fillMs = performance.now() - t0;
    progress(`  stored ${plan.runs} runs of ${plan.itemsPerRun} items in ${(fillMs / 1000).toFixed(1)} s`);
    const configPath = join(dir, 'flowrun.yaml');
    writeFileSync(configPath, JSON.stringify({ blobStore: { type: 'filesystem', path: join(dir, 'blobs') }, stateStore: { type: 'sqlite', path: dbPath } }));
    const started = await startServe(configPath, dir);
    serve = started.child;
    client = await connect(started.url);
    const queries: DashboardQueryResult[] = [];
    for (const q of QUERIES) {
      const ask = 'flows' in q ? () => client!.sendRequest(FlowsList, q.flows).then((r) => r.flows.length) : () => client!.sendRequest(RunsList, q.params).then((r) => r.runs.length);
      const result = await timeQuery(q.query, ask, plan);
      progress(`  ${q.query}: ${result.rows} rows, p50 ${result.p50Ms.toFixed(1)} ms, p95 ${result.p95Ms.toFixed(1)} ms`);
      queries.push(result);
    }
    return { ...plan, fillMs, queries, targetMs: DASHBOARD_TARGET_MS };
  } finally {
    await client?.close();
    if (serve) {
      serve.kill('SIGTERM');
      await stopChild(serve, 10_000);
    }
    await rm(dir, { recursive: true, force: true });
  }
}

async function timeQuery(query: string, ask: () => Promise<number>, plan: DashboardPlan): Promise<DashboardQueryResult> {
  let rows = 0;
  for (let k = 0; k < plan.warmup; k++) rows = await ask();
  const ms: number[] = [];
  for (let k = 0; k < plan.samples; k++) {
    const t = performance.now();
    rows = await ask();
    ms.push(performance.now() - t);
  }
  return { query, rows, p50Ms: median(ms), p95Ms: quantile(ms, 0.95), maxMs: Math.max(...ms) };
}

/**
 * Writes `plan.runs` finished runs as the runtime would: one run in ten failed (its last item),
 * one in ten of namespace `team-b`, the rest `default`; 20 flows in turn. Runs a second apart.
 */
async function fillStore(path: string, plan: DashboardPlan): Promise<void> {
  const store = SqliteStateStore.open(path);
  try {
    const start = Date.now() - plan.runs * 1000;
    const BATCH = 200;
    for (let first = 0; first < plan.runs; first += BATCH) {
      const updates: ItemUpdate[] = [];
      const finished: Array<[string, 'success' | 'failed', number]> = [];
      for (let r = first; r < Math.min(plan.runs, first + BATCH); r++) {
        const runId = `bench-run-${String(r).padStart(6, '0')}`;
        const createdAt = start + r * 1000;
        const flow = r % FLOWS;
        await store.createRun(
          {
            runId, flowId: `sha256:${flow.toString(16).padStart(64, '0')}`, flowName: `flow-${flow}`, createdAt, total: plan.itemsPerRun, maxConcurrency: 16,
            variables: {}, namespace: r % 10 === 5 ? 'team-b' : undefined, metadata: { team: 'bench' },
          },
          Array.from({ length: plan.itemsPerRun }, (_, i) => ({ i })),
        );
        const failed = r % 10 === 3;
        for (let i = 0; i < plan.itemsPerRun; i++) {
          const bad = failed && i === plan.itemsPerRun - 1;
          updates.push({
            runId, itemIndex: i, status: bad ? 'failed' : 'success', attempts: 1, completedAt: createdAt + 100 + i, completionSeq: i, startedAt: createdAt + 10,
            result: bad ? { outcome: 'failed', error: { code: 500, message: 'boom' } } : { outcome: 'success', value: { i } },
          });
        }
        finished.push([runId, failed ? 'failed' : 'success', createdAt + 200]);
      }
      await store.recordItems(ItemTransitions.of(updates));
      for (const [runId, status, at] of finished) await store.finishRun(runId, status, at);
    }
  } finally {
    await store.close();
  }
}
