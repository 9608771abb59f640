/**
 * DBOS Transact peer (bench/README.md, `--peers`): one-step workflows enqueued on a DBOS queue and
 * run by this process. Timed from the first enqueue until DBOS has recorded every workflow as
 * finished in its system database (checked by a query, since waiting on each handle would add
 * DBOS's own polling per workflow).
 */
import { DBOS } from '@dbos-inc/dbos-sdk';
import pg from 'pg';
import pLimit from 'p-limit';
import { measure } from '../lib/measure.js';
import { parsePeerArgs, printMeasure } from '../lib/peer-pass.js';

const QUEUE = 'bench';
/** Enqueues in flight at once (each is a transaction on DBOS's pool). */
const ENQUEUE_CONCURRENCY = 8;
/** Pause between checks of the finished count. */
const CHECK_MS = 20;

const args = parsePeerArgs(process.argv.slice(2));
const oneStep = DBOS.registerWorkflow(async (i: number) => DBOS.runStep(async () => i, { name: 'noop' }), { name: 'oneStep' });

DBOS.setConfig({ name: 'flowrun-bench', systemDatabaseUrl: args.url, systemDatabasePoolSize: 20, logLevel: 'error' });
await DBOS.launch();
// DBOS's default queue settings were the fastest here (bench/README.md).
await DBOS.registerQueue(QUEUE);
const client = new pg.Client({ connectionString: args.url });
await client.connect();
try {
  await pass(0, args.warmup);
  const m = await measure(args.items, () => pass(args.warmup, args.items));
  printMeasure(m);
} finally {
  await client.end();
  await DBOS.shutdown();
}

/** Enqueues `count` workflows and resolves once all of them (and the `before` earlier ones) are finished. */
async function pass(before: number, count: number): Promise<void> {
  const limit = pLimit(ENQUEUE_CONCURRENCY);
  await Promise.all(Array.from({ length: count }, (_, i) => limit(() => DBOS.startWorkflow(oneStep, { queueName: QUEUE })(i))));
  for (;;) {
    const { rows } = await client.query<{ done: string; failed: string }>(
      `SELECT count(*) FILTER (WHERE status = 'SUCCESS') AS done, count(*) FILTER (WHERE status = 'ERROR') AS failed FROM dbos.workflow_status`,
    );
    if (Number(rows[0].failed) > 0) throw new Error(`dbos peer: ${rows[0].failed} workflows failed`);
    if (Number(rows[0].done) >= before + count) return;
    await new Promise((resolve) => setTimeout(resolve, CHECK_MS));
  }
}
