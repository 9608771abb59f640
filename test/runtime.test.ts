import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../blobstore/memory.js';
import { parseConfig } from '../src/config/index.js';
import { Runtime } from '../src/runtime.js';
import { fixturePath, ROOT } from './support/paths.js';

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

async function runtimeWith(server: Record<string, unknown>): Promise<Runtime> {
  const config = parseConfig(
    { plugins: { s: { type: 'stepflow', ...server } }, routes: { '/s/{*component}': [{ plugin: 's' }] } },
    { workingDirectory: ROOT, env: process.env },
  );
  runtime = await Runtime.create({ config, blobStore: new MemoryBlobStore() });
  return runtime;
}

const oneStep = (component: string) => ({ steps: [{ id: 'a', component, input: {} }], output: { $step: 'a' } });

describe('Runtime', () => {
  it('reports a component server speaking another protocol version with -32002, without retrying it', async () => {
    const rt = await runtimeWith({ command: process.execPath, args: [fixturePath('version-mismatch-server.mjs')] });
    const s = await rt.runs.submit({ flow: oneStep('/s/echo'), inputs: [1], wait: true, variables: {} });
    const item = s.results![0];
    expect(item.attempts).toBe(1);
    expect(item.result).toMatchObject({ outcome: 'failed', error: { code: 500, data: { cause: { code: -32002 } } } });
    expect(JSON.stringify(item.result)).toMatch(/version/);
  });

  it('fails a step whose component has no route with -32001 naming the component', async () => {
    const rt = await runtimeWith({ command: process.execPath, args: [fixturePath('stepflow-test-server.mjs')] });
    const s = await rt.runs.submit({ flow: oneStep('/nowhere/x'), inputs: [1], wait: true, variables: {} });
    expect(s.results![0].result).toMatchObject({ outcome: 'failed', error: { code: 500, data: { cause: { code: -32001, data: { component: '/nowhere/x' } } } } });
  });

  it('bounds the initialize handshake by the plugin\'s initializeTimeoutMs', async () => {
    const rt = await runtimeWith({ command: process.execPath, args: [fixturePath('silent-server.mjs')], initializeTimeoutMs: 300 });
    const s = await rt.runs.submit({ flow: oneStep('/s/echo'), inputs: [1], wait: true, variables: {} });
    expect(JSON.stringify(s.results![0].result)).toContain('did not answer initialize within 300 ms');
  });
});
