import type { DashboardPlan } from '../cases/dashboard-list.js';
import type { PayloadName } from './payloads.js';

/** What one bench invocation runs: sizes for the full run and for `--quick`. */
export interface Plan {
  quick: boolean;
  reps: number;
  payloads: readonly PayloadName[];
  concurrencies: readonly number[];
  /** Items per timed pass, by concurrency (C=1 is latency-bound, so it gets fewer). */
  items(concurrency: number, payload: PayloadName): number;
  warmup(concurrency: number): number;
  threeStepItems: number;
  millionItems: number;
  waitSamples: number;
  blobCounts: { '1KiB': number; '1MiB': number };
  /** Items of the durable case's timed run through `flowrun serve`, and of its warm-up run. */
  durableItems: number;
  durableWarmup: number;
  /** The dashboard case: runs stored, and timed requests per listing. */
  dashboard: DashboardPlan;
}

/** The full plan (≈3 minutes here) or the quick one (≈30 s). */
export function makePlan(quick: boolean, reps?: number): Plan {
  if (quick) {
    return {
      quick,
      reps: reps ?? 1,
      payloads: ['small'],
      concurrencies: [16, 256],
      items: () => 40_000,
      warmup: () => 5_000,
      threeStepItems: 15_000,
      millionItems: 300_000,
      waitSamples: 300,
      blobCounts: { '1KiB': 300, '1MiB': 5 },
      durableItems: 30_000,
      durableWarmup: 5_000,
      dashboard: { runs: 10_000, itemsPerRun: 5, samples: 50, warmup: 10 },
    };
  }
  return {
    quick,
    reps: reps ?? 3,
    payloads: ['small', '1KiB'],
    concurrencies: [1, 16, 256],
    items: (c, payload) => (c === 1 ? 10_000 : payload === 'small' ? 100_000 : 50_000),
    warmup: (c) => (c === 1 ? 1_000 : 10_000),
    threeStepItems: 50_000,
    millionItems: 1_000_000,
    waitSamples: 1_000,
    blobCounts: { '1KiB': 1_000, '1MiB': 20 },
    durableItems: 100_000,
    durableWarmup: 10_000,
    dashboard: { runs: 10_000, itemsPerRun: 10, samples: 200, warmup: 20 },
  };
}
