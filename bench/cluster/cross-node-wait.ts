/**
 * Case 4 of `--cluster` (bench/README.md): client A parks `runs/get {wait: true}` on node 2 for a run
 * of one slow item submitted to node 1, and the bench times from the run's completion (its
 * `completedAt`, set by the node that finished it; same machine, same clock) to A's answer. Where a
 * node cannot wait on another's run, each `runs/get` answers at once and A asks again: `polls`
 * counts the answers A needed.
 */
import { median, quantile } from '../lib/measure.js';
import { expectAllSucceeded, startBenchCluster, waitTerminal, withClient } from './bench-cluster.js';
import { SLEEP_FLOW } from './takeover.js';

export interface CrossNodeWaitOptions {
  serverUrl: string;
  database: string;
  samples: number;
  /** How long the item runs: A is parked well before it completes. */
  sleepMs: number;
}

export interface CrossNodeWait {
  samples: number;
  medianMs: number;
  p90Ms: number;
  maxMs: number;
  /** Median `runs/get` answers A needed per run. */
  medianPolls: number;
}

export async function crossNodeWaitPass(o: CrossNodeWaitOptions): Promise<CrossNodeWait> {
  const cluster = await startBenchCluster(o.serverUrl, o.database, 2);
  try {
    const [one, two] = cluster.nodes;
    return await withClient(one.url, (submitter) =>
      withClient(two.url, async (waiter) => {
        const latencies: number[] = [];
        const polls: number[] = [];
        for (let i = 0; i < o.samples; i++) {
          const { runId } = await submitter.submit({ flow: SLEEP_FLOW, inputs: [{ ms: o.sleepMs }], maxConcurrency: 1 });
          const waited = await waitTerminal(waiter.run(runId));
          const returnedAt = Date.now();
          expectAllSucceeded(waited.status, 1);
          const completedAt = Date.parse(waited.status.completedAt ?? '');
          if (!Number.isFinite(completedAt)) throw new Error(`run ${runId} is terminal without completedAt`);
          latencies.push(returnedAt - completedAt);
          polls.push(waited.polls);
        }
        return { samples: o.samples, medianMs: median(latencies), p90Ms: quantile(latencies, 0.9), maxMs: Math.max(...latencies), medianPolls: median(polls) };
      }),
    );
  } finally {
    await cluster.close();
  }
}
