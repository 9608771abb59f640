import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/paths.js';

const run = promisify(execFile);

/** Runs an ES module in a fresh node inside the repo, where `flowrun` resolves to this package (self-reference). */
async function node(source: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', source], { cwd: ROOT, timeout: 60_000 });
  return stdout.trim();
}

describe('package entry points', () => {
  it('exports what package.json promises from every entry, by the package name', async () => {
    const out = await node(`
      const main = await import('flowrun');
      const sdk = await import('flowrun/sdk');
      const client = await import('flowrun/client');
      const protocol = await import('flowrun/protocol');
      console.log(JSON.stringify({
        main: [typeof main.Runtime?.create, typeof main.loadConfig, typeof main.createBlobStore, typeof main.createStateStore, typeof main.ErrorCodes],
        sdk: [typeof sdk.createComponentServer, typeof sdk.defineComponent],
        client: [typeof client.connect],
        protocol: [typeof protocol.ComponentsExecute],
      }));
    `);
    expect(JSON.parse(out)).toEqual({
      main: ['function', 'function', 'function', 'function', 'object'],
      sdk: ['function', 'function'],
      client: ['function'],
      protocol: ['object'],
    });
  });

  it('loads ws for a component server only when it serves WebSocket', async () => {
    const out = await node(`
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/ws/'));
      const { createComponentServer } = await import('flowrun/sdk');
      const before = loaded();
      const serving = await createComponentServer({ name: 't', components: [] }).serveWebSocket({ port: 0 });
      const after = loaded();
      await serving.close();
      console.log(JSON.stringify({ before, after }));
    `);
    expect(JSON.parse(out)).toEqual({ before: false, after: true });
  });

  it('runs a flow over a real component server when embedded, without loading the AWS SDK', async () => {
    const out = await node(`
      import { createRequire } from 'node:module';
      import { Runtime, loadConfig, MemoryBlobStore, MemoryStateStore } from 'flowrun';
      const config = await loadConfig({ flowPath: 'examples/greeter/flow.yaml' });
      const runtime = await Runtime.create({ config, blobStore: new MemoryBlobStore(), stateStore: new MemoryStateStore() });
      const flow = { steps: [{ id: 'g', component: '/greeter/greet', input: { name: { $input: 'name' } } }], output: { $step: 'g' } };
      const status = await runtime.runs.submit({ flow, inputs: [{ name: 'Ada' }, { name: 'Grace' }], wait: true, maxConcurrency: 2, variables: {} });
      await runtime.close();
      const aws = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('client-s3')).length;
      console.log(JSON.stringify({ items: status.items, results: status.results.map((r) => r.result), aws }));
    `);
    const { items, results, aws } = JSON.parse(out);
    expect(items).toMatchObject({ total: 2, success: 2 });
    expect(results.map((r: { outcome: string }) => r.outcome)).toEqual(['success', 'success']);
    expect(JSON.stringify(results)).toContain('Ada');
    expect(aws).toBe(0);
  });
});
