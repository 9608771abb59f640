import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGate } from '../support/gate.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { lines, runCli, spawnCli } from './cli-process.js';

// `flowrun run` against the real gate component server: each item's `/gate` call waits until
// the test releases the gate its input names, so the test decides which items finish when.

let ws: Workspace;
beforeAll(async () => {
  ws = await createWorkspace();
});
afterAll(async () => {
  await ws.remove();
});

async function inputsFile(name: string, inputs: unknown[]): Promise<string> {
  const file = join(ws.dir, name);
  await writeFile(file, inputs.map((i) => JSON.stringify(i)).join('\n') + '\n');
  return file;
}

const parse = (line: string) => JSON.parse(line) as { outcome: string; value?: { item: number }; error?: { message: string } };

describe('flowrun run --inputs streams results', () => {
  it('byIndex: writes item 0 as soon as it is done, while item 1 still runs', async () => {
    const [first, second] = [await startGate(), await startGate()];
    try {
      const file = await inputsFile('two.jsonl', [{ url: first.url, item: 0 }, { url: second.url, item: 1 }]);
      const cli = spawnCli(['run', '--flow', ws.gateFlow, '--config', ws.config, '--inputs', file]);
      await second.arrived(1);
      first.release();
      expect((await cli.stdoutLines(1)).map(parse)).toEqual([{ outcome: 'success', value: { item: 0, gate: 'open' } }]);
      second.release();
      const r = await cli.exited;
      expect(r.code).toBe(0);
      expect(lines(r.stdout).map((l) => parse(l).value!.item)).toEqual([0, 1]);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('byCompletion: writes items in the order they finish', async () => {
    const [first, second] = [await startGate(), await startGate()];
    try {
      const file = await inputsFile('two-by-completion.jsonl', [{ url: first.url, item: 0 }, { url: second.url, item: 1 }]);
      const cli = spawnCli(['run', '--flow', ws.gateFlow, '--config', ws.config, '--inputs', file, '--order', 'byCompletion']);
      await first.arrived(1);
      second.release();
      expect((await cli.stdoutLines(1)).map((l) => parse(l).value!.item)).toEqual([1]);
      first.release();
      const r = await cli.exited;
      expect(r.code).toBe(0);
      expect(lines(r.stdout).map((l) => parse(l).value!.item)).toEqual([1, 0]);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('--output FILE writes the results there and nothing on stdout', async () => {
    const open = await startGate();
    open.release();
    try {
      const file = await inputsFile('five.jsonl', [0, 1, 2, 3, 4].map((item) => ({ url: open.url, item })));
      const out = join(ws.dir, 'results.jsonl');
      const r = await runCli(['run', '--flow', ws.gateFlow, '--config', ws.config, '--inputs', file, '--output', out, '--max-concurrent', '2']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('');
      expect(lines(await readFile(out, 'utf8')).map((l) => parse(l).value!.item)).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await open.close();
    }
  });
});

describe('Ctrl-C during flowrun run --inputs', () => {
  it('cancels the run, writes every finished result and says how many were done (exit 130)', async () => {
    const [open, held] = [await startGate(), await startGate()];
    open.release();
    try {
      // Items 0..39 finish at once except item 2, which is held; items 5, 13, 21, 29, 37 fail
      // (no url to fetch); items from 40 on are held. With 8 at a time, once 8 calls are held
      // every other started item has finished.
      const failing = new Set([5, 13, 21, 29, 37]);
      const inputs = Array.from({ length: 200 }, (_, item) =>
        failing.has(item) ? { item } : { url: item === 2 || item >= 40 ? held.url : open.url, item },
      );
      const file = await inputsFile('interrupted.jsonl', inputs);
      const out = join(ws.dir, 'interrupted-results.jsonl');
      const cli = spawnCli(['run', '--flow', ws.gateFlow, '--config', ws.config, '--inputs', file, '--max-concurrency', '8', '--output', out]);
      await held.arrived(8);
      cli.child.kill('SIGINT');
      const r = await cli.exited;
      expect(r.code).toBe(130);
      expect(r.stderr.trim().split('\n').at(-1)).toBe('interrupted: 39 of 200 done (34 ok, 5 failed), results written');
      // Every finished item, in input order; the held (cancelled) ones are left out.
      const written = lines(await readFile(out, 'utf8')).map(parse);
      const expected = Array.from({ length: 40 }, (_, i) => i).filter((i) => i !== 2);
      expect(written).toHaveLength(39);
      written.forEach((result, k) => {
        if (failing.has(expected[k])) expect(result.outcome).toBe('failed');
        else expect(result).toEqual({ outcome: 'success', value: { item: expected[k], gate: 'open' } });
      });
    } finally {
      await Promise.all([open.close(), held.close()]);
    }
  });
});

describe('flowrun run before and after the items', () => {
  it('refuses a flow whose step has no route before running any item (exit 2)', async () => {
    const flow = join(ws.dir, 'unrouted.yaml');
    await writeFile(flow, 'steps:\n  - id: ok\n    component: /t/echo\n    input: {}\n  - id: lost\n    component: /nowhere/thing\n    input: { x: { $step: ok } }\noutput: { $step: lost }\n');
    const file = await inputsFile('many.jsonl', Array.from({ length: 500 }, (_, i) => ({ i })));
    const r = await runCli(['run', '--flow', flow, '--config', ws.config, '--inputs', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${flow}: error: step "lost" field "steps[1].component": no route for component "/nowhere/thing" in ${ws.config}`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('ends a run with failed items with one summary line naming the first failure', async () => {
    const open = await startGate();
    open.release();
    try {
      const inputs = Array.from({ length: 10 }, (_, item) => (item === 3 || item === 7 ? { item } : { url: open.url, item }));
      const file = await inputsFile('some-fail.jsonl', inputs);
      const r = await runCli(['run', '--flow', ws.gateFlow, '--config', ws.config, '--inputs', file]);
      expect(r.code).toBe(1);
      expect(lines(r.stdout)).toHaveLength(10);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(/^2 of 10 items failed \(first: item 3: step "g" failed: .+\)$/);
    } finally {
      await open.close();
    }
  });
});
