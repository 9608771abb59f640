import { createHash, randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BlobsPut, ErrorCodes, NodesList, RunsCancel, RunsDelete, RunsGc, RunsGet, RunsItems, RunsList, RunsMetrics, RunsRerun, RunsSubmit, RunsWatch, WorkersList, type RunStatus,
} from '../../protocol/index.js';
import { blobIdOf } from '../../blobstore/blob-id.js';
import { connect, type FlowrunClient, type RunEvent } from '../../src/client/index.js';
import { flowrun } from '../support/cli.js';
import { fixturePath, requireBuilt } from '../support/paths.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { eventsUntilFinished } from '../support/run-events.js';
import { makeTempDir } from '../support/temp-dir.js';
import { until } from '../support/wait-for.js';

/**
 * Namespaces, tokens and roles on a real `flowrun serve` (SQLite, a real component server)
 * (docs/security.md): two teams' tokens of every role, each trying the other's runs and one step
 * beyond its role; the audit lines it writes on stderr.
 */
const SECRETS = {
  aViewer: 'a-viewer-secret',
  aSubmitter: 'a-submitter-secret',
  aSubmitter2: 'a-submitter-2-secret',
  aOperator: 'a-operator-secret',
  aWorker: 'a-worker-secret',
  bSubmitter: 'b-submitter-secret',
  cSubmitter: 'c-submitter-secret',
  dOperator: 'd-operator-secret',
  admin: 'admin-secret',
};
type Who = keyof typeof SECRETS;

const WORK_FLOW = { name: 'work', steps: [{ id: 'w', component: '/runs/work', input: { $input: '$' } }], output: { $step: 'w', path: 'i' } };
const ORCHESTRATE_FLOW = { name: 'orchestrate', steps: [{ id: 'o', component: '/runs/orchestrate', input: { $input: '$' } }], output: { $step: 'o' } };

let dir: string;
let served: ServedProcess;
const clients = new Map<Who, FlowrunClient>();
/** A finished run of team-a, submitted by a-submitter. */
let aRun: RunStatus;
/** A finished run of team-b. */
let bRun: RunStatus;

const as = (who: Who): FlowrunClient => clients.get(who)!;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The error a call rejects with, as `{code, message, data}`. */
async function refusal(call: Promise<unknown>): Promise<{ code: number; message: string; data: unknown }> {
  const error = (await call.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code: number; message: string; data: unknown } | undefined;
  expect(error, 'the call should have been refused').toBeDefined();
  return { code: error!.code, message: error!.message, data: error!.data };
}

beforeAll(async () => {
  requireBuilt('dist/src/cli/bin.js');
  dir = await makeTempDir('namespaces');
  await writeFile(
    join(dir, 'flowrun.yaml'),
    `plugins:
  runs: { type: stepflow, command: node, args: [${JSON.stringify(fixturePath('runs-server.mjs'))}] }
routes:
  "/runs/{*component}": [{ plugin: runs }]
blobStore: { type: filesystem, path: blobs }
stateStore: { type: sqlite, path: state.db }
auth:
  tokens:
    - { name: a-viewer, token: ${SECRETS.aViewer}, namespace: team-a, role: viewer }
    - { name: a-submitter, token: "\${A_SUBMITTER_TOKEN}", namespace: team-a, role: submitter }
    - { name: a-submitter-2, tokenSha256: ${sha256(SECRETS.aSubmitter2)}, namespace: team-a, role: submitter }
    - { name: a-operator, token: ${SECRETS.aOperator}, namespace: team-a, role: operator }
    - { name: a-worker, token: ${SECRETS.aWorker}, namespace: team-a, role: worker }
    - { name: b-submitter, token: ${SECRETS.bSubmitter}, namespace: team-b, role: submitter }
    - { name: c-submitter, token: ${SECRETS.cSubmitter}, namespace: team-c, role: submitter }
    - { name: d-operator, token: ${SECRETS.dOperator}, namespace: team-d, role: operator }
    - { name: root, token: ${SECRETS.admin}, namespace: ops, role: admin }
  quotas:
    team-c: { submitsPerSecond: 1, maxItemsPerRun: 3 }
    team-d: { maxLiveRuns: 1 }
`,
  );
  served = await spawnServe(['--config', join(dir, 'flowrun.yaml')], { cwd: dir, env: { A_SUBMITTER_TOKEN: SECRETS.aSubmitter } });
  for (const [who, token] of Object.entries(SECRETS)) clients.set(who as Who, await connect(served.url, { token }));
  aRun = (await as('aSubmitter').submit({ flow: WORK_FLOW, inputs: [{ i: 1 }, { i: 2, fail: true }], wait: true })).submitted!;
  bRun = (await as('bSubmitter').submit({ flow: WORK_FLOW, inputs: [{ i: 3 }], wait: true })).submitted!;
  expect(aRun.status).toBe('success');
}, 60_000);

afterAll(async () => {
  for (const client of clients.values()) await client.close();
  await served?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('tokens', () => {
  it('refuses an unknown token at the upgrade with 401', async () => {
    await expect(connect(served.url, { token: 'nobody' })).rejects.toMatchObject({ status: 401 });
    await expect(connect(served.url)).rejects.toMatchObject({ status: 401 });
  });

  it('accepts a token given as its SHA-256 and one substituted from the environment', async () => {
    expect((await as('aSubmitter2').list()).runs.map((r) => r.runId)).toContain(aRun.runId);
    expect(aRun.items.total).toBe(2); // a-submitter's token, from ${A_SUBMITTER_TOKEN}
  });
});

describe('isolation between namespaces', () => {
  it('answers every call on a run of another namespace exactly as for a run that does not exist', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    const b = as('bSubmitter');
    for (const call of [
      (runId: string) => b.sendRequest(RunsGet, { runId }),
      (runId: string) => b.sendRequest(RunsCancel, { runId }),
      (runId: string) => b.sendRequest(RunsRerun, { runId }),
    ]) {
      const foreign = await refusal(call(aRun.runId));
      const missing = await refusal(call(unknown));
      expect(foreign).toEqual({ code: ErrorCodes.NotFound, message: `Run not found: ${aRun.runId}`, data: { runId: aRun.runId } });
      expect(missing).toEqual({ code: ErrorCodes.NotFound, message: `Run not found: ${unknown}`, data: { runId: unknown } });
    }
    expect(await refusal(b.compare([bRun.runId, aRun.runId]))).toEqual({ code: ErrorCodes.NotFound, message: `Run not found: ${aRun.runId}`, data: { runId: aRun.runId } });
    for (const method of [RunsItems, RunsMetrics]) {
      expect(await refusal(b.sendRequest(method, { runId: aRun.runId }))).toEqual({ code: ErrorCodes.NotFound, message: `Run not found: ${aRun.runId}`, data: { runId: aRun.runId } });
      expect(await refusal(b.sendRequest(method, { runId: unknown }))).toEqual({ code: ErrorCodes.NotFound, message: `Run not found: ${unknown}`, data: { runId: unknown } });
    }
    expect((await as('aViewer').sendRequest(RunsItems, { runId: aRun.runId })).items).toHaveLength(2);
    // An operator of another namespace may delete runs, but not team-a's: it is not there for it.
    expect(await refusal(as('dOperator').sendRequest(RunsDelete, { runId: aRun.runId }))).toEqual({ code: ErrorCodes.NotFound, message: `Run not found: ${aRun.runId}`, data: { runId: aRun.runId } });
    expect(await refusal(as('dOperator').sendRequest(RunsDelete, { runId: unknown }))).toEqual({ code: ErrorCodes.NotFound, message: `Run not found: ${unknown}`, data: { runId: unknown } });
    // Nothing changed: the run is still a's and still succeeded.
    expect((await as('aViewer').run(aRun.runId).status()).status).toBe('success');
  });

  it('lists only the runs of the caller’s namespace; an admin sees every one and may pick one', async () => {
    const ids = async (who: Who, params = {}) => (await as(who).list(params)).runs.map((r) => r.runId);
    expect(await ids('aViewer')).toContain(aRun.runId);
    expect(await ids('aViewer')).not.toContain(bRun.runId);
    expect(await ids('bSubmitter')).toEqual([bRun.runId]);
    expect(await ids('admin')).toEqual(expect.arrayContaining([aRun.runId, bRun.runId]));
    expect(await ids('admin', { namespace: 'team-b' })).toEqual([bRun.runId]);
    const denied = await refusal(as('aViewer').sendRequest(RunsList, { namespace: 'team-b' }));
    expect(denied.code).toBe(ErrorCodes.PermissionDenied);
    expect(denied.message).toContain('runs/list');
  });

  it('answers blobs/get of a blob never put in the caller’s namespace as absent, until that namespace puts it', async () => {
    const blobId = await as('aSubmitter').putBlob({ secret: 'of team a' });
    const missing = `sha256:${'0'.repeat(64)}`;
    expect((await as('aViewer').getBlob(blobId)).data).toEqual({ secret: 'of team a' });
    expect((await as('admin').getBlob(blobId)).data).toEqual({ secret: 'of team a' });
    expect(await refusal(as('bSubmitter').getBlob(blobId))).toEqual({ code: ErrorCodes.BlobNotFound, message: `Blob not found: ${blobId}`, data: { blob_id: blobId } });
    expect(await refusal(as('bSubmitter').getBlob(missing))).toEqual({ code: ErrorCodes.BlobNotFound, message: `Blob not found: ${missing}`, data: { blob_id: missing } });
    // Content-addressed: team b putting the same value gets the same id, and may read it from then on.
    expect(await as('bSubmitter').putBlob({ secret: 'of team a' })).toBe(blobId);
    expect((await as('bSubmitter').getBlob(blobId)).data).toEqual({ secret: 'of team a' });
  });

  it('keeps the flow of a run to its namespace: another one can neither read it nor run it by id', async () => {
    const run = await as('aSubmitter').submit({ flow: { ...WORK_FLOW, name: 'only-a' }, inputs: [{ i: 1 }], wait: true });
    const { flowId } = run.submitted!;
    expect((await as('aViewer').getBlob(flowId)).blobType).toBe('flow');
    expect((await refusal(as('bSubmitter').getBlob(flowId))).code).toBe(ErrorCodes.BlobNotFound);
    expect(await refusal(as('bSubmitter').sendRequest(RunsSubmit, { flowId, inputs: [{ i: 1 }] }))).toEqual({
      code: ErrorCodes.NotFound,
      message: `Flow not found: ${flowId}`,
      data: { flowId },
    });
    expect((await as('aSubmitter2').submit({ flowId, inputs: [{ i: 2 }], wait: true }).then((r) => r.result()))[0]).toEqual({ outcome: 'success', value: 2 });
  });

  it('lists the flows of the caller’s namespace only (flows/list); each reads back with blobs/get', async () => {
    const bOnly = (await as('bSubmitter').submit({ flow: { ...WORK_FLOW, name: 'only-b' }, inputs: [{ i: 4 }], wait: true })).submitted!;
    const flows = async (who: Who, params = {}) => (await as(who).listFlows(params)).flows;
    const bFlows = await flows('bSubmitter');
    expect(bFlows[0]).toMatchObject({ flowId: bOnly.flowId, flowName: 'only-b', runs: 1 });
    expect(Date.parse(bFlows[0].lastUsedAt)).toBe(Date.parse(bOnly.createdAt));
    expect(bFlows.map((f) => f.flowId)).toEqual([bOnly.flowId, bRun.flowId]);
    expect((await flows('aViewer')).map((f) => f.flowId)).not.toContain(bOnly.flowId);
    expect((await flows('aViewer')).map((f) => f.flowId)).toContain(aRun.flowId);
    expect((await flows('admin', { namespace: 'team-b' })).map((f) => f.flowId)).toEqual([bOnly.flowId, bRun.flowId]);
    expect((await flows('admin')).map((f) => f.flowId)).toContain(bOnly.flowId);
    const denied = await refusal(as('aViewer').listFlows({ namespace: 'team-b' }));
    expect(denied.code).toBe(ErrorCodes.PermissionDenied);
    expect(denied.message).toContain('flows/list');
    const badCursor = await refusal(as('aViewer').listFlows({ cursor: 'NOT*OURS' }));
    expect(badCursor.code).toBe(ErrorCodes.InvalidParams);
    expect(badCursor.message).toContain('"cursor"');
    // What the dashboard shows of a stored flow: its text, to the namespace that ran it.
    expect((await as('bSubmitter').getBlob(bOnly.flowId)).data).toMatchObject({ name: 'only-b' });
    expect((await refusal(as('aViewer').getBlob(bOnly.flowId))).code).toBe(ErrorCodes.BlobNotFound);
  });

  it('lets an admin list another namespace with flowrun list --namespace and the client option; a viewer is refused', async () => {
    const env = (token: string) => ({ FLOWRUN_URL: served.url, FLOWRUN_TOKEN: token });
    const admin = await flowrun(['list', '--namespace', 'team-b', '--json'], { env: env(SECRETS.admin) });
    expect(admin.code).toBe(0);
    const listed = (JSON.parse(admin.stdout) as { runs: RunStatus[] }).runs.map((r) => r.runId);
    expect(listed).toContain(bRun.runId);
    expect(listed).not.toContain(aRun.runId);
    const viewer = await flowrun(['list', '--namespace', 'team-b', '--json'], { env: env(SECRETS.aViewer) });
    expect(viewer.code).not.toBe(0);
    expect(viewer.stderr).toContain('needs role admin');
    const scoped = await connect(served.url, { token: SECRETS.admin, namespace: 'team-a' });
    try {
      const ids = (await scoped.list()).runs.map((r) => r.runId);
      expect(ids).toContain(aRun.runId);
      expect(ids).not.toContain(bRun.runId);
    } finally {
      await scoped.close();
    }
  });

  it('scopes idempotency keys to the namespace: the same key names one run per namespace', async () => {
    const submit = (who: Who) => as(who).sendRequest(RunsSubmit, { flow: WORK_FLOW, inputs: [{ i: 1 }], idempotencyKey: 'nightly-2026-12-07' });
    const a = await submit('aSubmitter');
    const b = await submit('bSubmitter');
    expect(b.runId).not.toBe(a.runId);
    expect(b).not.toHaveProperty('deduplicated');
    expect(b.idempotencyKey).toBe('nightly-2026-12-07');
    const again = await submit('aSubmitter2');
    expect(again).toMatchObject({ runId: a.runId, deduplicated: true, idempotencyKey: 'nightly-2026-12-07' });
  });

  it('puts a run submitted from inside a component in its parent’s namespace', async () => {
    const parent = await as('aSubmitter').submit({ flow: ORCHESTRATE_FLOW, inputs: [{ n: 2, failEvery: 5 }], wait: true });
    const [result] = await parent.result();
    expect(result.outcome).toBe('success');
    const child = (result as { value: { runId: string; parentRunId: string } }).value;
    expect(child.parentRunId).toBe(parent.runId);
    expect((await as('aViewer').run(child.runId).status()).parentRunId).toBe(parent.runId);
    expect((await refusal(as('bSubmitter').run(child.runId).status())).code).toBe(ErrorCodes.NotFound);
    expect((await as('aViewer').list({ parentRunId: parent.runId })).runs.map((r) => r.runId)).toEqual([child.runId]);
  });
});

describe('roles', () => {
  /** Expects -32007 naming the method and the caller's role. */
  async function deniedTo(who: Who, role: string, method: string, call: Promise<unknown>): Promise<void> {
    const error = await refusal(call);
    expect(error.code).toBe(ErrorCodes.PermissionDenied);
    expect(error.message).toContain(method);
    expect(error.message).toContain(`has role ${role}`);
    expect(error.data).toMatchObject({ role });
  }

  it('a viewer reads but may not submit, put blobs or cancel', async () => {
    const viewer = as('aViewer');
    expect((await viewer.run(aRun.runId).results()).results).toHaveLength(2);
    await deniedTo('aViewer', 'viewer', 'runs/submit', viewer.sendRequest(RunsSubmit, { flow: WORK_FLOW, inputs: [{ i: 9 }] }));
    await deniedTo('aViewer', 'viewer', 'blobs/put', viewer.sendRequest(BlobsPut, { data: 1 }));
    await deniedTo('aViewer', 'viewer', 'runs/cancel', viewer.sendRequest(RunsCancel, { runId: aRun.runId }));
  });

  it('a submitter cancels and reruns its own runs only; an operator any run of its namespace', async () => {
    const own = await as('aSubmitter').submit({ flow: WORK_FLOW, inputs: [{ i: 1, delayMs: 60_000 }] });
    await deniedTo('aSubmitter2', 'submitter', 'runs/cancel', as('aSubmitter2').sendRequest(RunsCancel, { runId: own.runId }));
    await deniedTo('aSubmitter2', 'submitter', 'runs/rerun', as('aSubmitter2').sendRequest(RunsRerun, { runId: aRun.runId }));
    // Every RunStatus names the token that submitted the run: what the dashboard offers Cancel by.
    expect(own.submitted?.submittedBy).toBe('a-submitter');
    expect((await as('aSubmitter2').run(own.runId).status()).submittedBy).toBe('a-submitter');
    expect((await as('aOperator').list({ flowName: WORK_FLOW.name })).runs.find((r) => r.runId === own.runId)?.submittedBy).toBe('a-submitter');
    const rerun = await as('aSubmitter').run(aRun.runId).rerun();
    const reran = await rerun.wait();
    expect(reran.items).toMatchObject({ total: 1, failed: 1 });
    expect(reran.submittedBy).toBe('a-submitter');
    expect((await as('aOperator').run(own.runId).cancel()).status).toMatch(/cancel/);
    expect((await as('aOperator').run(aRun.runId).rerun()).runId).toBeDefined();
  });

  it('only an operator deletes a run of its namespace; only an admin collects garbage', async () => {
    const run = await as('aSubmitter').submit({ flow: WORK_FLOW, inputs: [{ i: 1 }], wait: true });
    await deniedTo('aSubmitter', 'submitter', 'runs/delete', as('aSubmitter').sendRequest(RunsDelete, { runId: run.runId }));
    expect((await as('aOperator').sendRequest(RunsDelete, { runId: run.runId })).runIds).toEqual([run.runId]);
    expect((await refusal(as('aViewer').run(run.runId).status())).code).toBe(ErrorCodes.NotFound);
    await deniedTo('aOperator', 'operator', 'runs/gc', as('aOperator').sendRequest(RunsGc, { dryRun: true }));
    expect(await as('admin').sendRequest(RunsGc, { dryRun: true })).toBeDefined();
  });

  it('only an admin lists nodes and workers; an operator is refused', async () => {
    await deniedTo('aOperator', 'operator', 'nodes/list', as('aOperator').sendRequest(NodesList, {}));
    await deniedTo('aOperator', 'operator', 'workers/list', as('aOperator').sendRequest(WorkersList, {}));
    expect((await as('admin').sendRequest(NodesList, {})).nodes.length).toBeGreaterThan(0);
    expect((await as('admin').sendRequest(WorkersList, {})).workers).toEqual([]);
  });

  it('a worker token opens /workers and nothing else; other tokens may not dial in as workers', async () => {
    await deniedTo('aWorker', 'worker', 'runs/list', as('aWorker').list());
    const workersUrl = `${served.url}workers`;
    const worker = await connect(workersUrl, { token: SECRETS.aWorker });
    try {
      // On /workers it may call back only for a call it serves: serving none, it reads and changes nothing.
      for (const call of [worker.list(), worker.run(aRun.runId).status(), worker.putBlob({ from: 'worker' }), worker.sendRequest(RunsSubmit, { flow: WORK_FLOW, inputs: [{ i: 1 }] })]) {
        const error = await refusal(call);
        expect(error).toMatchObject({ code: ErrorCodes.PermissionDenied, data: { role: 'worker' } });
        expect(error.message).toContain('serves none');
      }
    } finally {
      await worker.close();
    }
    await expect(connect(workersUrl, { token: SECRETS.aOperator })).rejects.toMatchObject({ status: 403 });
  });

  it('GET /metrics needs an admin token', async () => {
    const get = (token?: string) => fetch(`${served.httpUrl}metrics`, { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });
    expect((await get()).status).toBe(401);
    const refused = await get(SECRETS.aOperator);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('role operator');
    expect((await get(SECRETS.admin)).status).toBe(200);
  });
});

describe('events scoped to the namespace', () => {
  const unknown = '00000000-0000-4000-8000-000000000000';
  const notFound = (runId: string) => ({ code: ErrorCodes.NotFound, message: `Run not found: ${runId}`, data: { runId } });
  /** Where the viewer's watch of everything started, before either team's run of this block. */
  let start: string;
  let aLive: RunStatus;
  let bLive: RunStatus;
  /** What the viewer of team-a saw live, up to its run's finish. */
  let live: RunEvent[];

  beforeAll(async () => {
    const viewer = as('aViewer').watch({ progressEveryMs: 50 });
    const admin = as('admin').watch({ progressEveryMs: 50 });
    await Promise.all([viewer.start(), admin.start()]);
    start = viewer.cursor!;
    // Team b's run ends (its run.finished delivered) before team a's starts: had the viewer been
    // sent b's events, they would come before a's finish, where the viewer stops reading.
    bLive = (await as('bSubmitter').submit({ flow: WORK_FLOW, inputs: [{ i: 1 }, { i: 2 }], wait: true })).submitted!;
    await eventsUntilFinished(admin, bLive.runId);
    aLive = (await as('aSubmitter').submit({ flow: WORK_FLOW, inputs: [{ i: 1 }, { i: 2 }, { i: 3 }], wait: true })).submitted!;
    live = await eventsUntilFinished(viewer, aLive.runId);
  }, 60_000);

  /** Checks that `events` show a's run from created to finished and nothing of another namespace. */
  async function expectOnlyTeamA(events: Array<{ type: string; run: RunStatus }>): Promise<void> {
    const own = events.filter((e) => e.run.runId === aLive.runId).map((e) => e.type);
    expect(own[0]).toBe('run.created');
    expect(own).toContain('run.started');
    expect(own.at(-2)).toBe('run.progress');
    expect(own.at(-1)).toBe('run.finished');
    const runIds = new Set(events.map((e) => e.run.runId));
    expect(runIds).not.toContain(bLive.runId);
    // Every run it saw is one team a sees (earlier tests' runs of team a may finish meanwhile).
    for (const runId of runIds) expect((await as('aViewer').run(runId).status()).runId).toBe(runId);
  }

  it('a viewer watching every run sees its namespace’s runs live, and none of another namespace', async () => {
    await expectOnlyTeamA(live);
  });

  it('a viewer resuming with since gets the same runs replayed, and none of another namespace', async () => {
    const replay = await eventsUntilFinished(as('aViewer').watch({ since: start }), aLive.runId);
    await expectOnlyTeamA(replay);
    const types = (events: RunEvent[]) => events.filter((e) => e.run.runId === aLive.runId && e.type !== 'run.progress').map((e) => e.type);
    expect(types(replay)).toEqual(types(live));
  });

  it('an admin sees every namespace, or the one it names', async () => {
    const all = await eventsUntilFinished(as('admin').watch({ since: start }), aLive.runId);
    expect(all.map((e) => e.run.runId)).toEqual(expect.arrayContaining([aLive.runId, bLive.runId]));
    const onlyB = await eventsUntilFinished(as('admin').watch({ since: start, namespace: 'team-b' }), bLive.runId);
    expect(new Set(onlyB.map((e) => e.run.runId))).toEqual(new Set([bLive.runId]));
  });

  it('answers runs/watch of another namespace’s run exactly as for a run that does not exist', async () => {
    expect(await refusal(as('aViewer').sendRequest(RunsWatch, { runId: bLive.runId }))).toEqual(notFound(bLive.runId));
    expect(await refusal(as('aViewer').sendRequest(RunsWatch, { runId: unknown }))).toEqual(notFound(unknown));
    const own = await eventsUntilFinished(as('aViewer').run(aLive.runId).events(), aLive.runId);
    expect(own.map((e) => e.type)).toEqual(['run.finished']);
  });

  it('flowrun watch RUN_ID follows a run of the viewer’s namespace; another namespace’s is not found, also for an admin naming another', async () => {
    const env = { FLOWRUN_URL: served.url, FLOWRUN_TOKEN: SECRETS.aViewer };
    const own = await flowrun(['watch', aLive.runId, '--json'], { env });
    expect(own.code).toBe(0);
    expect(JSON.parse(own.stdout.trim().split('\n').at(-1)!)).toMatchObject({ type: 'run.finished', run: { runId: aLive.runId, status: 'success' } });
    const foreign = await flowrun(['watch', bLive.runId, '--json'], { env });
    expect(foreign.code).not.toBe(0);
    expect(foreign.stderr).toContain(`Run not found: ${bLive.runId}`);
    // An admin picks the namespace: team-b's run is there in team-b, not in team-a.
    const admin = { FLOWRUN_URL: served.url, FLOWRUN_TOKEN: SECRETS.admin };
    expect((await flowrun(['watch', bLive.runId, '--namespace', 'team-b', '--json'], { env: admin })).code).toBe(0);
    const elsewhere = await flowrun(['watch', bLive.runId, '--namespace', 'team-a', '--json'], { env: admin });
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.stderr).toContain(`Run not found: ${bLive.runId}`);
  });

  it('refuses a viewer naming another namespace, and a worker token, with -32007', async () => {
    const other = await refusal(as('aViewer').sendRequest(RunsWatch, { namespace: 'team-b' }));
    expect(other).toMatchObject({ code: ErrorCodes.PermissionDenied, data: { role: 'viewer', required: 'admin' } });
    expect(other.message).toContain('runs/watch');
    const worker = await refusal(as('aWorker').sendRequest(RunsWatch, {}));
    expect(worker).toMatchObject({ code: ErrorCodes.PermissionDenied, data: { role: 'worker', required: 'viewer' } });
  });

  it('GET /events shows a viewer its namespace only, and another namespace’s run as an unknown one', async () => {
    const sse = await readEventsUntilFinished(`since=${start}`, SECRETS.aViewer, aLive.runId);
    await expectOnlyTeamA(sse);
    const get = (query: string, token: string) => fetch(`${served.httpUrl}events?${query}`, { headers: { Authorization: `Bearer ${token}` } });
    const foreign = await get(`runId=${bLive.runId}`, SECRETS.aViewer);
    const missing = await get(`runId=${unknown}`, SECRETS.aViewer);
    expect([foreign.status, missing.status]).toEqual([404, 404]);
    expect(await foreign.json()).toEqual({ error: `Run not found: ${bLive.runId}`, code: ErrorCodes.NotFound });
    expect(await missing.json()).toEqual({ error: `Run not found: ${unknown}`, code: ErrorCodes.NotFound });
    const otherNamespace = await get('namespace=team-b', SECRETS.aViewer);
    expect(otherNamespace.status).toBe(403);
    expect(((await otherNamespace.json()) as { error: string }).error).toContain('runs/watch');
    const worker = await get('', SECRETS.aWorker);
    expect(worker.status).toBe(403);
    expect(((await worker.json()) as { error: string }).error).toContain('has role worker');
  });
});

describe('quotas', () => {
  it('refuses a run of more items than maxItemsPerRun with -32014 naming the quota', async () => {
    const error = await refusal(as('cSubmitter').sendRequest(RunsSubmit, { flow: WORK_FLOW, inputs: [{ i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }] }));
    expect(error.code).toBe(ErrorCodes.TooManyRequests);
    expect(error.message).toContain('maxItemsPerRun');
    expect(error.data).toEqual({ quota: 'maxItemsPerRun', max: 3, namespace: 'team-c' });
  });

  it('refuses a namespace flooding submits while another namespace’s submits all succeed', async () => {
    const submit = (who: Who, i: number) => as(who).sendRequest(RunsSubmit, { flow: WORK_FLOW, inputs: [{ i }] });
    const flood = Array.from({ length: 20 }, (_, i) => submit('cSubmitter', i).then(() => 'ok', (e: { code: number; data: { quota: string } }) => e));
    const others = Array.from({ length: 5 }, (_, i) => submit('bSubmitter', i));
    const outcomes = await Promise.all(flood);
    const refused = outcomes.filter((o) => o !== 'ok');
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) expect(error).toMatchObject({ code: ErrorCodes.TooManyRequests, data: { quota: 'submitsPerSecond', namespace: 'team-c' } });
    expect((await Promise.all(others)).map((status) => status.runId)).toHaveLength(5);
  });

  it('refuses a run beyond maxLiveRuns until one of the namespace’s runs finished', async () => {
    const d = as('dOperator');
    const long = await d.submit({ flow: WORK_FLOW, inputs: [{ i: 1, delayMs: 60_000 }] });
    const error = await refusal(d.sendRequest(RunsSubmit, { flow: WORK_FLOW, inputs: [{ i: 2 }] }));
    expect(error).toMatchObject({ code: ErrorCodes.TooManyRequests, data: { quota: 'maxLiveRuns', max: 1, namespace: 'team-d' } });
    // Another namespace is not held back by team-d's live run.
    expect((await as('bSubmitter').submit({ flow: WORK_FLOW, inputs: [{ i: 5 }], wait: true })).submitted!.status).toBe('success');
    await long.cancel();
    expect((await long.wait()).status).toBe('cancelled');
    expect((await d.submit({ flow: WORK_FLOW, inputs: [{ i: 3 }], wait: true })).submitted!.status).toBe('success');
  });
});

describe('audit', () => {
  it('writes one line per mutating call: time, token, namespace, method, run id and outcome', async () => {
    const run = await as('bSubmitter').submit({ flow: WORK_FLOW, inputs: [{ i: 7 }] });
    await refusal(as('bSubmitter').sendRequest(RunsCancel, { runId: aRun.runId }));
    await as('aViewer').run(aRun.runId).status(); // a read: no audit line
    // Lines of earlier tests are there too: this test's are the submit of its run and a refused cancel after it.
    const after = (lines: AuditLine[]) => lines.slice(lines.findIndex((l) => l.method === 'runs/submit' && l.runId === run.runId));
    const cancelAfter = (lines: AuditLine[]) => after(lines).find((l) => l.method === 'runs/cancel' && l.tokenName === 'b-submitter');
    const lines = await waitForAuditLines((all) => all.some((l) => l.runId === run.runId) && cancelAfter(all) !== undefined);
    expect(lines.find((l) => l.method === 'runs/submit' && l.runId === run.runId)).toMatchObject({
      audit: true,
      tokenName: 'b-submitter',
      namespace: 'team-b',
      outcome: 'ok',
      time: expect.any(Number),
    });
    expect(cancelAfter(lines)).toMatchObject({
      namespace: 'team-b',
      runId: aRun.runId,
      outcome: 'error',
      code: ErrorCodes.NotFound,
    });
    expect(lines.filter((l) => l.method === 'runs/get')).toEqual([]);
  });

  it('writes one line per mutating callback of a component server: as component, with its plugin and its run’s namespace', async () => {
    const parent = await as('aSubmitter').submit({ flow: ORCHESTRATE_FLOW, inputs: [{ n: 1, failEvery: 5, putBlob: { audited: true }, cancel: true }], wait: true });
    const [result] = await parent.result();
    const child = (result as { value: { runId: string } }).value.runId;
    const ofParent = (all: AuditLine[]) => all.filter((l) => l.tokenName === 'component' && l.parentRunId === parent.runId);
    const lines = ofParent(await waitForAuditLines((all) => ofParent(all).length >= 3));
    const common = { audit: true, tokenName: 'component', plugin: 'runs', namespace: 'team-a', parentRunId: parent.runId, outcome: 'ok' };
    expect(lines.map((l) => l.method)).toEqual(['blobs/put', 'runs/submit', 'runs/cancel']);
    expect(lines[0]).toMatchObject(common);
    expect(lines[1]).toMatchObject({ ...common, runId: child });
    expect(lines[2]).toMatchObject({ ...common, runId: child });
  });
});

describe('blob callbacks while the component server serves other calls', () => {
  it('are credited to the run of the call that made them, not to none, when calls of other runs are in flight', async () => {
    // A call of team-b's run stays in flight on the same component server meanwhile.
    const busy = await as('bSubmitter').submit({ flow: WORK_FLOW, inputs: [{ i: 1, delayMs: 60_000 }] });
    await until(async () => ((await busy.status()).items.running === 1 ? true : undefined), { what: 'the busy call in flight', timeoutMs: 20_000 });
    try {
      const value = { busyServer: randomUUID() };
      const parent = await as('aSubmitter').submit({ flow: ORCHESTRATE_FLOW, inputs: [{ n: 1, putBlob: value }], wait: true });
      const ofParent = (all: AuditLine[]) => all.filter((l) => l.method === 'blobs/put' && l.parentRunId === parent.runId);
      const [line] = ofParent(await waitForAuditLines((all) => ofParent(all).length > 0));
      expect(line).toMatchObject({ tokenName: 'component', namespace: 'team-a', outcome: 'ok' });
      // The blob is team-a's: its viewer reads it, team-b's does not see it.
      const blobId = blobIdOf(value);
      expect((await as('aViewer').getBlob(blobId)).data).toEqual(value);
      expect((await refusal(as('bSubmitter').getBlob(blobId))).code).toBe(ErrorCodes.BlobNotFound);
    } finally {
      await busy.cancel();
    }
  });
});

type AuditLine = {
  audit: true; time: number; tokenName: string; namespace: string; method: string; runId?: string; outcome: string; code?: number; plugin?: string; parentRunId?: string;
};

/** The audit lines of the server's stderr, once `done` holds of them (bounded generously). */
async function waitForAuditLines(done: (lines: AuditLine[]) => boolean): Promise<AuditLine[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const lines = served
      .stderr()
      .split('\n')
      .filter((line) => line.includes('"audit":true'))
      .map((line) => JSON.parse(line) as AuditLine);
    if (done(lines) || Date.now() > deadline) return lines;
    await new Promise((r) => setTimeout(r, 50));
  }
}


/** The events of `GET /events?<query>` read with `token`, up to the `run.finished` of `runId`. */
async function readEventsUntilFinished(query: string, token: string, runId: string): Promise<RunEvent[]> {
  const res = await fetch(`${served.httpUrl}events?${query}`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: RunEvent[] = [];
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return events;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = buffer.slice(0, end).split('\n').find((line) => line.startsWith('data: '));
        buffer = buffer.slice(end + 2);
        if (data === undefined) continue;
        const event = JSON.parse(data.slice(6)) as RunEvent;
        events.push(event);
        if (event.type === 'run.finished' && event.run.runId === runId) return events;
      }
    }
  } finally {
    await reader.cancel();
  }
}
