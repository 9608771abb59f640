import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import { RunsCompare } from '../../protocol/index.js';
import { InProcessCaller } from '../../src/api/in-process-caller.js';
import { parseConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';
import { CallbackReceiver } from '../support/callback-receiver.js';
import { fixturePath, requireBuilt, ROOT } from '../support/paths.js';
import { makeTempDir } from '../support/temp-dir.js';
import { until } from '../support/wait-for.js';

/**
 * An embedded runtime on the memory state store reruns and compares as a served one does (the
 * memory store keeps a run's inputs for it), and delivers completion callbacks from its outbox.
 */
const FLOW = { name: 'flaky', steps: [{ id: 'f', component: '/f/flaky', input: { n: { $input: 'n' } } }], output: { $step: 'f' } };

let dir: string;
let runtime: Runtime | undefined;
let receiver: CallbackReceiver | undefined;
beforeAll(async () => {
  requireBuilt('dist/src/sdk/index.js');
  dir = await makeTempDir('rerun-embedded');
});
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
  await receiver?.close();
  receiver = undefined;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function embedded(): Promise<Runtime> {
  const failing = join(dir, 'failing.json');
  const config = parseConfig(
    {
      plugins: { f: { type: 'stepflow', command: process.execPath, args: [fixturePath('flaky-server.mjs')], env: { FLAKY_FAILING: failing } } },
      routes: { '/f/{*component}': [{ plugin: 'f' }] },
      callbacks: { backoffMs: 20, pollMs: 20 },
    },
    { workingDirectory: ROOT, env: process.env },
  );
  runtime = await Runtime.create({ config, blobStore: new MemoryBlobStore() });
  return runtime;
}

describe('an embedded runtime on the memory state store', () => {
  it('reruns the failed items of a run and compares the two', async () => {
    await writeFile(join(dir, 'failing.json'), JSON.stringify([0, 3]));
    const rt = await embedded();
    const source = await rt.submit({ flow: FLOW, inputs: [0, 1, 2, 3].map((n) => ({ n })), wait: true });
    expect(source.submitted?.items).toMatchObject({ success: 2, failed: 2 });
    await writeFile(join(dir, 'failing.json'), '[]');

    const rerun = await rt.run(source.runId).rerun();
    expect(await rerun.result()).toEqual([
      { outcome: 'success', value: { n: 0, doubled: 0 } },
      { outcome: 'success', value: { n: 3, doubled: 6 } },
    ]);
    expect((await rerun.itemResults()).map((r) => r.sourceIndex)).toEqual([0, 3]);

    const compared = await new InProcessCaller(rt.service).sendRequest(RunsCompare, { runIds: [source.runId, rerun.runId] });
    expect(compared.summary).toEqual({ items: 4, same: 0, different: 2, missing: 2 });
    expect(compared.items.map((i) => [i.key, i.results[1] !== null])).toEqual([
      [0, true],
      [1, false],
      [2, false],
      [3, true],
    ]);
  }, 60_000);

  it('delivers a completion callback and shows its delivery state', async () => {
    await writeFile(join(dir, 'failing.json'), '[]');
    receiver = await CallbackReceiver.start((k) => (k === 0 ? 502 : 200));
    const rt = await embedded();
    const run = await rt.submit({ flow: FLOW, inputs: [{ n: 1 }], callback: { url: receiver.url } });
    await run.wait();
    await receiver.waitDelivered(1);
    const status = await until(async () => {
      const s = await run.status();
      return s.callback?.deliveredAt === undefined ? undefined : s;
    });
    expect(status.callback).toMatchObject({ url: receiver.url, attempts: 2, statusCode: 200 });
    expect(receiver.received.map((r) => r.answered)).toEqual([502, 200]);
    expect(receiver.received[0].headers['x-flowrun-signature']).toBeUndefined();
  }, 60_000);
});
