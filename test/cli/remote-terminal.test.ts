import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcError } from '../../protocol/index.js';
import { connect } from '../../src/client/index.js';
import { startGate } from '../support/gate.js';
import { BIN, ROOT } from '../support/paths.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { lines, runCli, spawnCli } from './cli-process.js';

// The remote commands against a real `flowrun serve` and the real gate component server.

let ws: Workspace;
let served: ServedProcess;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  ws = await createWorkspace();
  served = await spawnServe(['--config', ws.config]);
  env = { FLOWRUN_URL: served.url };
});
afterAll(async () => {
  await served?.stop();
  await ws?.remove();
});

const UNROUTED_FLOW = 'steps:\n  - id: lost\n    component: /nowhere/thing\n    input: {}\noutput: { $step: lost }\n';

describe('runs/submit checks routes before a run starts', () => {
  it('refuses a flow with an unrouted step with -32602 naming the step and component', async () => {
    const client = await connect(served.url);
    try {
      const before = (await client.list({ limit: 1000 })).runs.length;
      const flow = { steps: [{ id: 'ok', component: '/t/echo', input: {} }, { id: 'lost', component: '/nowhere/thing', input: {} }], output: { $step: 'lost' } };
      const err = await client.submit({ flow, inputs: [{}, {}] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect(err).toMatchObject({ code: -32602, data: { stepId: 'lost', component: '/nowhere/thing', field: 'flow.steps[1].component' } });
      expect((err as RpcError).message).toContain('step "lost": no route for component "/nowhere/thing"');
      expect((await client.list({ limit: 1000 })).runs.length).toBe(before);
    } finally {
      await client.close();
    }
  });

  it('flowrun submit prints the refusal and exits 2; no run is created', async () => {
    const flow = join(ws.dir, 'unrouted.yaml');
    await writeFile(flow, UNROUTED_FLOW);
    const before = JSON.parse((await runCli(['list', '--json'], { env })).stdout).runs.length;
    const r = await runCli(['submit', '--flow', flow, '--input-json', '{}', '--wait'], { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('step "lost"');
    expect(r.stderr).toContain('/nowhere/thing');
    expect(JSON.parse((await runCli(['list', '--json'], { env })).stdout).runs.length).toBe(before);
  });
});

describe('flowrun submit', () => {
  it('prints the run id before waiting; Ctrl-C leaves the run going and says how to reattach or cancel', async () => {
    const gate = await startGate();
    try {
      const inputs = join(ws.dir, 'held.jsonl');
      await writeFile(inputs, [0, 1, 2].map((item) => JSON.stringify({ url: gate.url, item })).join('\n'));
      const cli = spawnCli(['submit', '--flow', ws.gateFlow, '--inputs', inputs, '--wait'], { env });
      const [, runId] = await cli.stderrMatch(/^submitted run ([0-9a-f-]{36}) \(3 item\(s\)\)\n/);
      await gate.arrived(3);
      cli.child.kill('SIGINT');
      const r = await cli.exited;
      expect(r.code).toBe(130);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`flowrun get ${runId} --wait`);
      expect(r.stderr).toContain(`flowrun cancel ${runId}`);

      // The run goes on; an 8-character prefix finds it (FLOWRUN_URL, no --url).
      const prefix = runId.slice(0, 8);
      const got = await runCli(['get', prefix], { env });
      expect(got.code).toBe(0);
      expect(JSON.parse(got.stdout)).toMatchObject({ runId, status: 'running', items: { total: 3, running: 3 } });
      const cancelled = await runCli(['cancel', prefix], { env });
      expect(cancelled.code).toBe(0);
      expect(JSON.parse(cancelled.stdout)).toMatchObject({ runId, status: 'cancelled' });
    } finally {
      await gate.close();
    }
  });

  it('takes input on stdin and --variables-json, as run does', async () => {
    const flow = join(ws.dir, 'vars.yaml');
    await writeFile(flow, 'steps:\n  - id: e\n    component: /t/echo\n    input: { v: { $variable: greeting }, x: { $input: x } }\noutput: { $step: e }\n');
    const r = await runCli(['submit', '--flow', flow, '--variables-json', '{"greeting":"hi"}', '--stdin-format', 'jsonl', '--wait'], { input: '{"x":1}\n{"x":2}\n', env });
    expect(r.code).toBe(0);
    const { runId } = JSON.parse(r.stdout);
    const results = JSON.parse((await runCli(['get', runId, '--results'], { env })).stdout).results;
    expect(results.map((i: { result: unknown }) => i.result)).toEqual([
      { outcome: 'success', value: { v: 'hi', x: 1 } },
      { outcome: 'success', value: { v: 'hi', x: 2 } },
    ]);
  });

  it('ends a waited run with failed items with a summary line; flowrun items lists them', async () => {
    const gate = await startGate();
    gate.release();
    try {
      const inputs = join(ws.dir, 'some-fail.jsonl');
      await writeFile(inputs, Array.from({ length: 6 }, (_, item) => JSON.stringify(item === 4 ? { item } : { url: gate.url, item })).join('\n'));
      const r = await runCli(['submit', '--flow', ws.gateFlow, '--inputs', inputs, '--wait'], { env });
      expect(r.code).toBe(1);
      const { runId } = JSON.parse(r.stdout);
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(
        new RegExp(`^1 of 6 items failed \\(first: item 4: step "g" failed: .+\\); see flowrun items ${runId} --status failed$`),
      );
      const items = await runCli(['items', runId.slice(0, 10), '--status', 'failed'], { env });
      expect(items.code).toBe(0);
      const listed = JSON.parse(items.stdout);
      expect(listed.runId).toBe(runId);
      expect(listed.items.map((i: { itemIndex: number; status: string }) => [i.itemIndex, i.status])).toEqual([[4, 'failed']]);
    } finally {
      await gate.close();
    }
  });
});

describe('run ids, defaults and listings', () => {
  it('refuses a prefix shorter than 8 characters and one no run has (exit 2)', async () => {
    const short = await runCli(['get', 'abc'], { env });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('at least 8 characters');
    const none = await runCli(['cancel', 'ffffffff-ffff'], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no run has an id starting with it');
  });

  it('list prints JSON when stdout is not a terminal, and with --json', async () => {
    const plain = await runCli(['list', '--limit', '5'], { env });
    const json = await runCli(['list', '--limit', '5', '--json'], { env });
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout).runs.length).toBeGreaterThan(0);
    expect(lines(json.stdout)).toHaveLength(1);
    expect(JSON.parse(json.stdout).runs.map((r: { runId: string }) => r.runId)).toEqual(JSON.parse(plain.stdout).runs.map((r: { runId: string }) => r.runId));
  });

  it('list and get print a table on a terminal (a pseudo-terminal from script(1))', async () => {
    const { runId } = JSON.parse((await runCli(['submit', '--flow', ws.echoFlow, '--input-json', '{"n":1}', '--wait'], { env })).stdout);
    const inTerminal = (args: string) =>
      new Promise<string>((resolve) => {
        const command = `"${process.execPath}" "${BIN}" ${args} --url ${served.url}`;
        execFile('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, timeout: 60_000, env: { ...process.env, FLOWRUN_LOG_LEVEL: 'warn' } }, (_err, stdout) => resolve(stdout));
      });
    const listed = await inTerminal('list --limit 1000');
    expect(listed).toMatch(/^RUN +STATUS +DONE +FAILED +CANCELLED +CREATED +FLOW\r?\n/);
    expect(listed).toMatch(new RegExp(`${runId} +success +1/1 +0 +0 +\\S+Z +echo`));
    const got = await inTerminal(`get ${runId.slice(0, 8)}`);
    expect(got.split(/\r?\n/).filter((l) => l.trim() !== '')).toHaveLength(2);
    expect(got).toContain(runId);
  });

  it('connects to ws://127.0.0.1:7837/ when neither --url nor FLOWRUN_URL is given, and says so', async () => {
    // Whatever listens there (nothing, or a server of another test), the URL is the default one.
    const r = await runCli(['list', '--token', 'not-the-token-of-anything'], { env: { FLOWRUN_URL: '' } });
    if (r.code !== 0) expect(r.stderr).toContain('ws://127.0.0.1:7837/');
  });
});
