import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../protocol/index.js';
import { silentLogger } from '../../src/log.js';
import { ComponentError } from '../../src/calls/component-error.js';
import type { ComponentCall } from '../../src/calls/plugin.js';
import { StepflowPlugin, type StepflowStdioPluginOptions } from '../../src/plugins/stepflow-plugin.js';
import { trackedGroups } from '../../src/transport/process-groups.js';
import { FakeRuntimeApi } from '../fixtures/fake-runtime-api.js';
import { captureLogger, LEVEL } from '../transport/capture-logger.js';
import { isAlive, waitUntil, waitUntilGone } from '../transport/process-liveness.js';
import { makeTempDir } from '../support/temp-dir.js';

// Child processes run compiled JS: `npx tsc -p .` builds dist/ first.
const GRANDCHILD_SERVER = 'test/fixtures/grandchild-server.mjs';
const DIES_FIRST_STARTS = 'test/fixtures/dies-first-starts-server.mjs';
const ABANDONING_RUNTIME = 'test/fixtures/abandoning-runtime.mjs';

let tmp: string;
beforeAll(async () => {
  if (!existsSync('dist/src/sdk/index.js')) throw new Error('dist/ is missing: run "npx tsc -p ." before these tests');
  tmp = await makeTempDir('process-groups');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const plugins: StepflowPlugin[] = [];
afterEach(async () => {
  await Promise.all(plugins.splice(0).map((p) => p.close()));
});

function plugin(options: Partial<StepflowStdioPluginOptions> & Pick<StepflowStdioPluginOptions, 'command'>): StepflowPlugin {
  const p = new StepflowPlugin({ name: 'tools', logger: silentLogger, runtimeApi: new FakeRuntimeApi(), ...options });
  plugins.push(p);
  return p;
}

/** `sh -c '<node> <script>; exit $?'`: the shell stays the server's parent, as a wrapper does. */
function wrapped(script: string): Pick<StepflowStdioPluginOptions, 'command' | 'args'> {
  return { command: 'sh', args: ['-c', `"${process.execPath}" "${script}"; exit $?`] };
}

let nextItem = 0;
function call(component: string, input: unknown): ComponentCall {
  return { component, input, attempt: 1, scope: { runId: 'run-a', itemIndex: nextItem++, stepId: 'step-1', flowId: 'sha256:flow' } };
}

async function componentError(promise: Promise<unknown>): Promise<ComponentError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ComponentError);
  return error as ComponentError;
}

/** The wrapper's pid, the server's and its grandchild's, all checked alive. */
async function pidsOf(p: StepflowPlugin): Promise<{ shell: number; server: number; grandchild: number }> {
  const result = await p.execute(call('/pids', null));
  const { pid, grandchild } = (result as { value: { pid: number; grandchild: number } }).value;
  const pids = { shell: p.pid!, server: pid, grandchild };
  expect(pids.shell).not.toBe(pids.server);
  for (const alive of Object.values(pids)) expect(isAlive(alive)).toBe(true);
  return pids;
}

describe('StepflowPlugin over stdio: process groups', () => {
  it('stops a server wrapped in sh -c together with the grandchild it started', async () => {
    const p = plugin(wrapped(GRANDCHILD_SERVER));
    await p.start();
    const pids = await pidsOf(p);
    expect(trackedGroups()).toContain(pids.shell);
    await p.close();
    await waitUntilGone(Object.values(pids));
    // Untracked once the group is reaped (exited members not yet reaped by init still count a while).
    await waitUntil(() => !trackedGroups().includes(pids.shell), 'the group is untracked');
  });

  it('stops the rest of the group when the server crashes, and starts a fresh group for the next call', async () => {
    const p = plugin(wrapped(GRANDCHILD_SERVER));
    await p.start();
    const first = await pidsOf(p);
    const error = await componentError(p.execute(call('/crash', null)));
    expect(error.error.code).toBe(ErrorCodes.ResourceUnavailable);
    await waitUntilGone(Object.values(first));
    const second = await pidsOf(p);
    expect(second.grandchild).not.toBe(first.grandchild);
  });

  it('stops a group whose server ignores the end of its stdin and SIGTERM (SIGKILL after the grace period)', async () => {
    const p = plugin({ command: 'sh', args: ['-c', `"${process.execPath}" test/fixtures/stubborn-server.mjs; exit $?`], closeTimeoutMs: 200 });
    await p.start();
    const shell = p.pid!;
    await p.close();
    await waitUntilGone([shell]);
    await waitUntil(() => !trackedGroups().includes(shell), 'the group is untracked');
  });
});

describe('a runtime process that ends without closing its servers', () => {
  /** Runs the abandoning runtime in `mode`; resolves with the pids it reported and how it ended. */
  async function abandon(mode: 'exit' | 'throw' | 'signal' | 'handles', signal?: NodeJS.Signals) {
    const pidsFile = join(tmp, `pids-${mode}-${signal ?? ''}`);
    const child = spawn(process.execPath, [ABANDONING_RUNTIME, mode, pidsFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('close', (code, sig) => resolve({ code, signal: sig })),
    );
    if (signal !== undefined) {
      while (!stdout.includes('\n')) await new Promise((r) => setTimeout(r, 10));
      child.kill(signal);
    }
    const exit = await ended;
    const [first, ...rest] = stdout.trim().split('\n');
    const pids = JSON.parse(first!) as { shell: number; server: number; grandchild: number };
    await rm(pidsFile, { force: true });
    return { exit, pids, after: rest };
  }

  it('kills the server groups when it calls process.exit', async () => {
    const { exit, pids } = await abandon('exit');
    expect(exit.code).toBe(0);
    await waitUntilGone(Object.values(pids));
  });

  it('kills the server groups when it dies of an uncaught exception', async () => {
    const { exit, pids } = await abandon('throw');
    expect(exit.code).toBe(1);
    await waitUntilGone(Object.values(pids));
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('kills the server groups when it is stopped by %s, and still dies of that signal', async (signal) => {
    const { exit, pids } = await abandon('signal', signal);
    expect(exit.signal).toBe(signal);
    await waitUntilGone(Object.values(pids));
  });

  it('leaves a SIGTERM that the runtime handles itself to its handler, and kills the groups when it then exits', async () => {
    const { exit, pids, after } = await abandon('handles', 'SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(after).toEqual(['graceful']);
    await waitUntilGone(Object.values(pids));
  });
});

describe('StepflowPlugin over stdio: a server that fails at start', () => {
  it('reports a missing script with the command and the line of stderr that says why', async () => {
    const missing = join(tmp, 'no-such-server.js');
    const p = plugin({ command: process.execPath, args: [missing] });
    const error = await componentError(p.start());
    expect(error.error.code).toBe(ErrorCodes.ResourceUnavailable);
    expect(error.message).toContain(`command "${process.execPath} ${missing}"`);
    expect(error.message).toContain(`Error: Cannot find module '${missing}'`);
    expect(error.message).toContain('gave up after 5 attempts');
    expect((error.error.data as { stderr: string[] }).stderr[0]).toBe(`Error: Cannot find module '${missing}'`);
  });

  it('retries a server that dies at its first start, with the backoff of a crash, and logs each failed start once with its stderr tail', async () => {
    const countFile = join(tmp, 'starts-once');
    const { logger, records } = captureLogger();
    const p = plugin({ command: process.execPath, args: [DIES_FIRST_STARTS], env: { FIXTURE_START_COUNT_FILE: countFile, FIXTURE_DIE_STARTS: '2' }, logger });
    await p.start();
    await expect(p.execute(call('/echo', 'up'))).resolves.toEqual({ outcome: 'success', value: 'up' });
    expect(await readFile(countFile, 'utf8')).toBe('3');
    const failures = records.filter((r) => r.level === LEVEL.warn && r.msg === 'component server "tools" could not be connected');
    expect(failures.map((r) => r.attempt)).toEqual([1, 2]);
    for (const failure of failures) {
      expect(failure.err).toContain("Error: Cannot find module '/no/such/dependency.js'");
      expect(failure.stderrTail).toContain('Node.js v20');
    }
  });

  it('keeps the first error line and a short tail in the error, not the whole stack', async () => {
    const countFile = join(tmp, 'starts-always');
    const p = plugin({ command: process.execPath, args: [DIES_FIRST_STARTS], env: { FIXTURE_START_COUNT_FILE: countFile, FIXTURE_DIE_STARTS: '99' } });
    const error = await componentError(p.start());
    expect(error.message).toContain("exited (code 1) before answering initialize; stderr: Error: Cannot find module '/no/such/dependency.js' | ");
    expect((error.error.data as { stderr: string[] }).stderr).toEqual([
      "Error: Cannot find module '/no/such/dependency.js'",
      "  code: 'MODULE_NOT_FOUND'",
      '}',
      'Node.js v20',
    ]);
    expect(await readFile(countFile, 'utf8')).toBe('5');
  });
});
