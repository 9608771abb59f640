import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, RunsCancel, RunsGet, RunsRerun, type RunStatus } from '../../protocol/index.js';
import { connect, type FlowrunClient } from '../../src/client/index.js';
import { fixturePath, requireBuilt } from '../support/paths.js';
import { postgresAvailable, queryRows, startPostgres, type PostgresFixture } from '../support/postgres.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Namespaces on a cluster (docs/security.md, docs/cluster.md): two `flowrun serve` nodes on one
 * PostgreSQL. A run submitted to one node is kept from the other team on the other node too, since
 * its namespace is a column of its row; so are the blobs and the child runs a component submits
 * while its item runs as a chunk on any node.
 */
const TOKENS = { a: 'team-a-secret', b: 'team-b-secret' };
const WORK_FLOW = { name: 'work', steps: [{ id: 'w', component: '/runs/work', input: { $input: '$' } }], output: { $step: 'w', path: 'i' } };
const ORCHESTRATE_FLOW = { name: 'orchestrate', steps: [{ id: 'o', component: '/runs/orchestrate', input: { $input: '$' } }], output: { $step: 'o' } };

let postgres: PostgresFixture | undefined;
let dir: string;
const nodes: ServedProcess[] = [];
/** `[node][team]`: a client of each team on each node. */
const clients: Array<{ a: FlowrunClient; b: FlowrunClient }> = [];
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
        ],
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
});
