import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, RunsCancel, RunsGet, RunsRerun, RunsSubmit, type RunStatus } from '../../protocol/index.js';
import { connect, type FlowrunClient } from '../../src/client/index.js';
import { fixturePath, requireBuilt } from '../support/paths.js';
import { postgresAvailable, queryRows, startPostgres, type PostgresFixture } from '../support/postgres.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { eventsUntilFinished } from '../support/run-events.js';
import { until } from '../support/wait-for.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Namespaces on a cluster (docs/security.md, docs/cluster.md): two `flowrun serve` nodes on one
 * PostgreSQL. A run submitted to one node is kept from the other team on the other node too, since
 * its namespace is a column of its row; so are the blobs and the child runs a component submits
 * while its item runs as a chunk on any node. Events reach a viewer on any node, only its
 * namespace's; quotas count the runs and submits of every node.
 */
const TOKENS = { a: 'team-a-secret', b: 'team-b-secret' };
/** Tokens of the events and quota tests: a viewer of team-a, an admin, and the submitters of two namespaces with small quotas. */
const MORE_TOKENS = { aViewer: 'team-a-viewer-secret', admin: 'admin-secret', q: 'team-q-secret', s: 'team-s-secret' };
const WORK_FLOW = { name: 'work', steps: [{ id: 'w', component: '/runs/work', input: { $input: '$' } }], output: { $step: 'w', path: 'i' } };
const ORCHESTRATE_FLOW = { name: 'orchestrate', steps: [{ id: 'o', component: '/runs/orchestrate', input: { $input: '$' } }], output: { $step: 'o' } };

let postgres: PostgresFixture | undefined;
let dir: string;
const nodes: ServedProcess[] = [];
/** `[node][team]`: a client of each team on each node. */
const clients: Array<{ a: FlowrunClient; b: FlowrunClient }> = [];
/** Clients opened by the tests themselves, closed at the end. */
const extraClients: FlowrunClient[] = [];
const connectAs = async (node: number, token: string): Promise<FlowrunClient> => {
  const client = await connect(nodes[node].url, { token });
  extraClients.push(client);
  return client;
};
let aRun: RunStatus;

beforeAll(async () => {
  if (!postgresAvailable()) return;
  requireBuilt('dist/src/cli/bin.js');
  postgres = await startPostgres();
  dir = await makeTempDir('cluster-ns');
  const config = join(dir, 'flowrun.yaml');
  await writeFile(
    config,
    JSON.stringify({
      plugins: { runs: { type: 'stepflow', command: process.execPath, args: [fixturePath('runs-server.mjs')] } },
      routes: { '/runs/{*component}': [{ plugin: 'runs' }] },
      blobStore: { type: 'filesystem', path: join(dir, 'blobs') },
      stateStore: { type: 'postgres', url: postgres.url },
      cluster: { chunkSize: 2, leaseMs: 20_000, heartbeatMs: 1_000 },
      auth: {
        tokens: [
          { name: 'a-submitter', token: TOKENS.a, namespace: 'team-a', role: 'submitter' },
          { name: 'b-submitter', token: TOKENS.b, namespace: 'team-b', role: 'submitter' },
          { name: 'a-viewer', token: MORE_TOKENS.aViewer, namespace: 'team-a', role: 'viewer' },
          { name: 'root', token: MORE_TOKENS.admin, namespace: 'ops', role: 'admin' },
          { name: 'q-submitter', token: MORE_TOKENS.q, namespace: 'team-q', role: 'submitter' },
          { name: 's-submitter', token: MORE_TOKENS.s, namespace: 'team-s', role: 'submitter' },
        ],
        // One submit per 100 s: a burst sees one accepted in the whole cluster, whatever the machine's pace.
        quotas: { 'team-q': { maxLiveRuns: 3 }, 'team-s': { submitsPerSecond: 0.01 } },
      },
    }),
  );
  for (let i = 0; i < 2; i++) nodes.push(await spawnServe(['--config', config], { cwd: dir }));
  for (const node of nodes) clients.push({ a: await connect(node.url, { token: TOKENS.a }), b: await connect(node.url, { token: TOKENS.b }) });
  const submitted = await clients[0].a.submit({ flow: WORK_FLOW, inputs: Array.from({ length: 6 }, (_, i) => ({ i })) });
  aRun = await clients[1].a.run(submitted.runId).wait({ timeoutMs: 60_000 });
}, 120_000);

afterAll(async () => {
  for (const pair of clients) await Promise.all([pair.a.close(), pair.b.close()]);
  for (const client of extraClients) await client.close();
  for (const node of nodes) await node.stop();
  await postgres?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!postgresAvailable())('namespaces on a cluster', () => {
  it('stores the namespace and the submitting token on the run row', async () => {
    expect(aRun.status).toBe('success');
    expect(await queryRows(postgres!.url, 'SELECT namespace, submitted_by FROM runs WHERE run_id = $1', [aRun.runId])).toEqual([
      { namespace: 'team-a', submitted_by: 'a-submitter' },
    ]);
  });

  it('answers the other team as for an unknown run on every node', async () => {
    for (const { b } of clients) {
      for (const method of [RunsGet, RunsCancel, RunsRerun]) {
        const error = await b.sendRequest(method, { runId: aRun.runId }).then(
          () => undefined,
          (e: { code: number; message: string; data: unknown }) => ({ code: e.code, message: e.message, data: e.data }),
        );
        expect(error).toEqual({ code: ErrorCodes.NotFound, message: `Run not found: ${aRun.runId}`, data: { runId: aRun.runId } });
      }
      expect((await b.list()).runs.map((r) => r.runId)).not.toContain(aRun.runId);
      expect((await b.listFlows()).flows.map((f) => f.flowId)).not.toContain(aRun.flowId);
    }
    expect((await clients[1].a.list()).runs.map((r) => r.runId)).toContain(aRun.runId);
    expect((await clients[1].a.listFlows()).flows).toEqual([expect.objectContaining({ flowId: aRun.flowId, runs: 1 })]);
  });

  it('keeps a blob put on one node from the other team on the other node', async () => {
    const blobId = await clients[0].a.putBlob({ only: 'team-a' });
    expect((await clients[1].a.getBlob(blobId)).data).toEqual({ only: 'team-a' });
    await expect(clients[1].b.getBlob(blobId)).rejects.toMatchObject({ code: ErrorCodes.BlobNotFound });
  });

  it('puts a child run a component submits in its parent’s namespace, whichever node runs the item', async () => {
    const parent = await clients[0].a.submit({ flow: ORCHESTRATE_FLOW, inputs: [{ n: 3, failEvery: 10 }, { n: 2, failEvery: 10 }], maxConcurrency: 2 });
    const done = await clients[1].a.run(parent.runId).wait({ timeoutMs: 60_000 });
    expect(done.status).toBe('success');
    const results = await clients[1].a.run(parent.runId).result();
    for (const result of results) {
      const child = (result as { value: { runId: string } }).value.runId;
      expect((await clients[0].a.run(child).status()).parentRunId).toBe(parent.runId);
      await expect(clients[1].b.run(child).status()).rejects.toMatchObject({ code: ErrorCodes.NotFound });
    }
    const rows = await queryRows<{ namespace: string }>(postgres!.url, 'SELECT DISTINCT namespace FROM runs WHERE parent_run_id = $1', [parent.runId]);
    expect(rows).toEqual([{ namespace: 'team-a' }]);
  });

  it('shows a viewer of team-a on node 1 the events of its run submitted to node 2, and nothing of team-b', async () => {
    const viewer = (await connectAs(0, MORE_TOKENS.aViewer)).watch({ progressEveryMs: 50 });
    const admin = (await connectAs(0, MORE_TOKENS.admin)).watch({ progressEveryMs: 50 });
    await Promise.all([viewer.start(), admin.start()]);
    // Team b's run ends (its finish delivered on node 1) before team a's starts.
    const bRun = await clients[1].b.submit({ flow: WORK_FLOW, inputs: [{ i: 1 }, { i: 2 }, { i: 3 }] });
    await eventsUntilFinished(admin, bRun.runId);
    const aSubmitted = await clients[1].a.submit({ flow: WORK_FLOW, inputs: Array.from({ length: 6 }, (_, i) => ({ i })) });
    const seen = await eventsUntilFinished(viewer, aSubmitted.runId);
    const own = seen.filter((e) => e.run.runId === aSubmitted.runId).map((e) => e.type);
    expect(own[0]).toBe('run.created');
    expect(own).toContain('run.started');
    expect(own.at(-1)).toBe('run.finished');
    expect(seen.at(-1)!.run.items).toMatchObject({ total: 6, success: 6 });
    const namespaces = await queryRows<{ namespace: string }>(postgres!.url, 'SELECT DISTINCT namespace FROM runs WHERE run_id = ANY($1::text[])', [[...new Set(seen.map((e) => e.run.runId))]]);
    expect(namespaces).toEqual([{ namespace: 'team-a' }]);
    // The events log keeps each event's namespace.
    const logged = await queryRows<{ namespace: string }>(postgres!.url, 'SELECT DISTINCT namespace FROM run_events WHERE run_id = $1', [bRun.runId]);
    expect(logged).toEqual([{ namespace: 'team-b' }]);
  }, 120_000);

  it('counts maxLiveRuns over every node: the 4th live run of team-q is refused whichever node takes it, team-b still submits', async () => {
    const q = [await connectAs(0, MORE_TOKENS.q), await connectAs(1, MORE_TOKENS.q)];
    const long = [];
    for (let i = 0; i < 3; i++) long.push(await q[i % 2].submit({ flow: WORK_FLOW, inputs: [{ i, delayMs: 120_000 }] }));
    for (const node of [1, 0]) {
      const error = await q[node].sendRequest(RunsSubmit, { flow: WORK_FLOW, inputs: [{ i: 9 }] }).then(() => undefined, (e: unknown) => e);
      expect(error).toMatchObject({ code: ErrorCodes.TooManyRequests, data: { quota: 'maxLiveRuns', max: 3, namespace: 'team-q' } });
      expect((error as Error).message).toContain('maxLiveRuns');
    }
    // The refused submits stored nothing; another namespace is not held back.
    expect(await queryRows(postgres!.url, "SELECT count(*)::int AS n FROM runs WHERE namespace = 'team-q'", [])).toEqual([{ n: 3 }]);
    expect((await clients[1].b.submit({ flow: WORK_FLOW, inputs: [{ i: 5 }], wait: true })).submitted!.status).toBe('success');
    // Once one of them finished (cancelled on the other node), team-q may submit again. A run reads
    // as cancelled when its items are; it stops counting once its finish is recorded, just after.
    await q[1].run(long[0].runId).cancel();
    expect((await q[0].run(long[0].runId).wait({ timeoutMs: 60_000 })).status).toBe('cancelled');
    const live = "SELECT count(*)::int AS n FROM runs WHERE namespace = 'team-q' AND completed_at IS NULL";
    await until(async () => ((await queryRows<{ n: number }>(postgres!.url, live, []))[0].n === 2 ? true : undefined), { timeoutMs: 60_000, what: 'the cancelled run’s finish' });
    const again = await q[1].submit({ flow: WORK_FLOW, inputs: [{ i: 10 }], wait: true });
    expect(again.submitted!.status).toBe('success');
    for (const run of long.slice(1)) await q[0].run(run.runId).cancel();
  }, 120_000);

  it('counts submitsPerSecond over every node: a burst split over two nodes gets one submit through, not one per node', async () => {
    const s = [await connectAs(0, MORE_TOKENS.s), await connectAs(1, MORE_TOKENS.s)];
    const burst = Array.from({ length: 10 }, (_, i) =>
      s[i % 2].sendRequest(RunsSubmit, { flow: WORK_FLOW, inputs: [{ i }] }).then(
        (status) => ({ ok: status.runId }),
        (error: { code: number; data: unknown }) => ({ refused: error }),
      ),
    );
    const outcomes = await Promise.all(burst);
    const accepted = outcomes.filter((o) => 'ok' in o);
    // A count per node would let one through on each node.
    expect(accepted).toHaveLength(1);
    for (const outcome of outcomes) {
      if ('refused' in outcome) expect(outcome.refused).toMatchObject({ code: ErrorCodes.TooManyRequests, data: { quota: 'submitsPerSecond', max: 0.01, namespace: 'team-s' } });
    }
    expect(await queryRows(postgres!.url, "SELECT count(*)::int AS n FROM runs WHERE namespace = 'team-s'", [])).toEqual([{ n: 1 }]);
    // Team b, with the default quota, is not slowed by team-s at its limit.
    const others = await Promise.all([0, 1].map((node) => clients[node].b.sendRequest(RunsSubmit, { flow: WORK_FLOW, inputs: [{ i: node }] })));
    expect(others).toHaveLength(2);
  }, 120_000);
});

