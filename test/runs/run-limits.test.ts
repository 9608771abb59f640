import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, type FlowResult } from '../../protocol/index.js';
import { FilesystemBlobStore } from '../../blobstore/index.js';
import { parseConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { Runtime } from '../../src/runtime.js';
import { DEFAULT_MAX_LIVE_RUNS, DEFAULT_MAX_RUN_DEPTH, resolveRunLimits } from '../../src/runs/run-limits.js';
import { SqliteStateStore } from '../../src/statestore/sqlite-state-store.js';
import { makeTempDir } from '../support/temp-dir.js';

/** Evaluates the flow `flow_id` (itself) on `{flow_id}`: one child run per level. */
const SELF = {
  name: 'self',
  steps: [{ id: 'again', component: '/builtin/eval', input: { flow_id: { $input: 'flow_id' }, input: { flow_id: { $input: 'flow_id' } } } }],
  output: { $step: 'again' },
};

describe('run limits', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('run-limits');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('counts the depth of a resumed run along its stored parents: a restart does not reset it', async () => {
    // A chain r0 → r1 → r2 as a killed process leaves it: r0 and r1 finished, r2 not yet.
    const flowId = await new FilesystemBlobStore({ path: join(dir, 'blobs') }).put(SELF, 'flow');
    const store = SqliteStateStore.open(join(dir, 'state.db'));
    const run = (runId: string, parentRunId?: string) => ({ runId, flowId, createdAt: Date.now(), total: 1, maxConcurrency: 1, variables: {}, ...(parentRunId && { parentRunId }) });
    await store.createRun(run('r0'), [{ flow_id: flowId }]);
    await store.createRun(run('r1', 'r0'), [{ flow_id: flowId }]);
    await store.createRun(run('r2', 'r1'), [{ flow_id: flowId }]);
    await store.finishRun('r0', 'success', Date.now());
    await store.finishRun('r1', 'success', Date.now());
    await store.close();

    const config = parseConfig(
      {
        plugins: { builtin: { type: 'builtin' } },
        routes: { '/builtin/{*component}': [{ plugin: 'builtin' }] },
        blobStore: { type: 'filesystem', path: 'blobs' },
        stateStore: { type: 'sqlite', path: 'state.db' },
        limits: { maxRunDepth: 2 },
      },
      { workingDirectory: dir, env: {} },
    );
    const runtime = await Runtime.create({ config });
    try {
      expect(await runtime.runs.recover()).toBe(1);
      const status = await runtime.runs.get({ runId: 'r2', wait: true, includeResults: true, resultOrder: 'byIndex', offset: 0 });
      expect(status.status).toBe('failed');
      const result = status.results![0].result as Extract<FlowResult, { outcome: 'failed' }>;
      expect((result.error.data as { cause: unknown }).cause).toEqual({
        code: ErrorCodes.TooManyRequests,
        message: 'run r2 is at depth 2: its child run would exceed maxRunDepth 2',
        data: { limit: 'maxRunDepth', max: 2, runId: 'r2', depth: 2 },
      });
      expect((await runtime.runs.list({ parentRunId: 'r2', limit: 10 })).runs).toEqual([]);
    } finally {
      await runtime.close();
    }
  });

  it('has documented defaults and refuses limits that are not positive integers', () => {
    expect(resolveRunLimits()).toEqual({ maxRunDepth: DEFAULT_MAX_RUN_DEPTH, maxLiveRuns: DEFAULT_MAX_LIVE_RUNS });
    expect([DEFAULT_MAX_RUN_DEPTH, DEFAULT_MAX_LIVE_RUNS]).toEqual([16, 10_000]);
    expect(() => resolveRunLimits({ maxLiveRuns: 0 })).toThrow('maxLiveRuns must be a positive integer, got 0');
    expect(() => resolveRunLimits({ maxRunDepth: 1.5 })).toThrow('maxRunDepth must be a positive integer, got 1.5');
  });

  it('reads limits from the config, naming the file and field of a bad one', () => {
    const options = { workingDirectory: dir, env: { DEPTH: '4' }, file: join(dir, 'flowrun.yaml') };
    expect(parseConfig({ limits: { maxRunDepth: '${DEPTH}', maxLiveRuns: 50 } }, options).limits).toEqual({ maxRunDepth: 4, maxLiveRuns: 50 });
    expect(parseConfig({}, options).limits).toBeUndefined();
    expect(() => parseConfig({ limits: { maxLiveRuns: 0 } }, options)).toThrow(ConfigError);
    expect(() => parseConfig({ limits: { maxLiveRuns: 0 } }, options)).toThrow(`${join(dir, 'flowrun.yaml')}: limits.maxLiveRuns:`);
    expect(() => parseConfig({ limits: { maxDepth: 3 } }, options)).toThrow(/limits: .*maxDepth/);
  });
});
