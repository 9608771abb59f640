import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BlobsPut, ErrorCodes, NodesList, RunsCancel, RunsDelete, RunsGc, RunsGet, RunsItems, RunsList, RunsMetrics, RunsRerun, RunsSubmit, RunsWatch, WorkersList, type RunStatus,
} from '../../protocol/index.js';
import { connect, type FlowrunClient } from '../../src/client/index.js';
import { flowrun } from '../support/cli.js';
import { fixturePath, requireBuilt } from '../support/paths.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';

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
    const rerun = await as('aSubmitter').run(aRun.runId).rerun();
    expect((await rerun.wait()).items).toMatchObject({ total: 1, failed: 1 });
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
    await worker.close();
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

describe('events, not yet scoped to a namespace', () => {
  it('runs/watch and GET /events need an admin token: no run of another namespace leaks through them', async () => {
    const error = await refusal(as('aOperator').sendRequest(RunsWatch, {}));
    expect(error.code).toBe(ErrorCodes.PermissionDenied);
    expect(error.message).toContain('runs/watch');
    const get = (token: string) => fetch(`${served.httpUrl}events?runId=${aRun.runId}`, { headers: { Authorization: `Bearer ${token}` } });
    const refused = await get(SECRETS.aOperator);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('role operator');
    const { subscriptionId } = await as('admin').sendRequest(RunsWatch, { runId: aRun.runId });
    expect(subscriptionId).toEqual(expect.any(String));
    const allowed = await get(SECRETS.admin);
    expect(allowed.status).toBe(200);
    await allowed.body?.cancel();
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
});

type AuditLine = { audit: true; time: number; tokenName: string; namespace: string; method: string; runId?: string; outcome: string; code?: number };

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
