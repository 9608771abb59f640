import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowrunClient } from '../../src/client/index.js';
import { flowrun, lines } from '../support/cli.js';
import { startGate } from '../support/gate.js';
import { BIN, ROOT } from '../support/paths.js';
import type { ServedProcess } from '../support/serve.js';
import { serveWorkspace, type ServedWorkspace } from '../support/served-workspace.js';
import { ECHO_FLOW, GATE_FLOW } from '../support/workspace.js';

/** Runs the CLI in a pseudo-terminal (script(1)); resolves with what it printed once `done` holds for it or it exited, then stops it. */
function inTerminal(args: string, done: (output: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    const command = `"${process.execPath}" "${BIN}" ${args} --url ${served.url}`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env: { ...process.env, FLOWRUN_LOG_LEVEL: 'warn' }, detached: true });
    let output = '';
    const finish = () => {
      try {
        process.kill(-child.pid!, 'SIGINT');
      } catch {
        // it exited already
      }
      resolve(output);
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (done(output)) finish();
    });
    child.once('exit', finish);
  });
}

/** `flowrun watch` and `flowrun watch RUN` against a real `flowrun serve` with a real component server (docs/cli.md). */
let served: ServedProcess;
let client: FlowrunClient;
let env: ServedWorkspace | undefined;

beforeAll(async () => {
  env = await serveWorkspace();
  ({ served, client } = env);
}, 60_000);
afterAll(() => env?.close());

describe('flowrun watch on a terminal', () => {
  it('draws the active runs as a table, a running run among them', async () => {
    const gate = await startGate();
    try {
      const run = await client.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 0 }], flowLabel: 'on-screen' });
      await gate.arrived(1);
      const output = await inTerminal('watch', (text) => text.includes(run.runId));
      expect(output).toMatch(/RUN +FLOW +STATUS +PROGRESS +FAILED +DURATION/);
      expect(output).toMatch(new RegExp(`${run.runId} +gated +running +0/1 +0`));
      gate.release();
      await run.wait();
    } finally {
      await gate.close();
    }
  });

  it("shows a run's progress line until it ends", async () => {
    const run = await client.submit({ flow: ECHO_FLOW, inputs: [1, 2], wait: true });
    const output = await inTerminal(`watch ${run.runId}`, () => false);
    expect(output).toContain('2/2');
  });
});

describe('flowrun watch RUN', () => {
  it('prints one JSON event per line until the run ends, and exits 0 when every item succeeded', async () => {
    const gate = await startGate();
    try {
      const run = await client.submit({ flow: GATE_FLOW, inputs: [{ url: gate.url, item: 0 }] });
      await gate.arrived(1);
      const watching = flowrun(['watch', run.runId.slice(0, 8), '--url', served.url]);
      // Whether the watch opens before the run ends or after, its last event is the run's finish.
      gate.release();
      const { code, stdout } = await watching;
      expect(code).toBe(0);
      const events = lines(stdout).map((l) => JSON.parse(l));
      expect(events.at(-1)).toMatchObject({ type: 'run.finished', run: { runId: run.runId, status: 'success' } });
    } finally {
      await gate.close();
    }
  });

  it('exits 1 when an item did not succeed, naming the failure', async () => {
    const failing = { ...ECHO_FLOW, steps: [{ id: 'e', component: '/t/no-such-component', input: { $input: '$' } }] };
    const run = await client.submit({ flow: failing, inputs: [1], wait: true });
    const { code, stdout, stderr } = await flowrun(['watch', run.runId, '--url', served.url]);
    expect(code).toBe(1);
    expect(lines(stdout).map((l) => JSON.parse(l).type)).toEqual(['run.finished']);
    expect(stderr).toContain('failed');
  });
});
