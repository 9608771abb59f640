import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import { parseConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ITEMS = 300;

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

describe('items failed by one crash of a chatty component server', () => {
  it(`store a brief stderr excerpt each, not the server's 364 KB of stderr (${ITEMS} items)`, async () => {
    const config = parseConfig(
      {
        plugins: {
          s: {
            type: 'stepflow',
            command: process.execPath,
            args: [join(ROOT, 'test/fixtures/misbehaving-server.mjs')],
            env: { FIXTURE_CROWD: String(ITEMS) },
            transportRetries: 0,
          },
        },
        routes: { '/s/{*component}': [{ plugin: 's' }] },
      },
      { workingDirectory: ROOT, env: process.env },
    );
    runtime = await Runtime.create({ config, blobStore: new MemoryBlobStore() });
    const flow = { steps: [{ id: 'a', component: '/s/crowd_crash', input: {} }], output: { $step: 'a' } };
    const inputs = Array.from({ length: ITEMS }, (_, i) => i);
    const status = await runtime.runs.submit({ flow, inputs, wait: true, variables: {}, maxConcurrency: ITEMS });
    const results = status.results!;
    expect(results).toHaveLength(ITEMS);
    for (const item of results) {
      expect(item.result).toMatchObject({
        outcome: 'failed',
        error: { code: 500, data: { cause: { code: -32005, data: { stderr: expect.arrayContaining(['Error: the chatty server broke', 'last words']) } } } },
      });
    }
    // Was ~364 KB per item: the whole stderr tail copied into each.
    const bytesPerItem = JSON.stringify(results).length / ITEMS;
    expect(bytesPerItem).toBeLessThan(2048);
  });
});
