import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../blobstore/memory.js';
import { parseConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';
import { makeTempDir } from '../support/temp-dir.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVER = join(ROOT, 'test/fixtures/bare-name-server.mjs');
const BIN = join(ROOT, 'dist/src/cli/bin.js');

/** Stepflow's TypeScript SDK registers `add`; the template `{component}` sends the bare name. */
const calcConfig = (template: string) => ({
  plugins: { calc: { type: 'stepflow', command: process.execPath, args: [SERVER] } },
  routes: { '/calc/{*component}': [{ plugin: 'calc', component: template }] },
});

const addFlow = {
  steps: [{ id: 'sum', component: '/calc/add', input: { a: { $input: 'a' }, b: 2 } }],
  output: { $step: 'sum', path: 'result' },
};

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

async function calcRuntime(template: string): Promise<Runtime> {
  const config = parseConfig(calcConfig(template), { workingDirectory: ROOT, env: process.env });
  runtime = await Runtime.create({ config, blobStore: new MemoryBlobStore() });
  return runtime;
}

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('bare-names');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('components registered without a leading slash', () => {
  it('are reached through a route whose template is "{component}": /calc/add runs the server\'s add', async () => {
    const rt = await calcRuntime('{component}');
    const status = await rt.runs.submit({ flow: addFlow, inputs: [1, 40].map((a) => ({ a })), wait: true, variables: {} });
    expect(status.results!.map((r) => r.result)).toEqual([
      { outcome: 'success', value: 3 },
      { outcome: 'success', value: 42 },
    ]);
  });

  it('are not found under the default template, which sends "/add" (the server names what it was asked for)', async () => {
    const rt = await calcRuntime('/{component}');
    const status = await rt.runs.submit({ flow: addFlow, inputs: [{ a: 1 }], wait: true, variables: {} });
    expect(status.results![0].result).toMatchObject({
      outcome: 'failed',
      error: { code: 500, data: { stepId: 'sum', cause: { message: 'Component /add not found' } } },
    });
  });

  it('are listed under their full paths by the runtime', async () => {
    const rt = await calcRuntime('{component}');
    const listed = await rt.listComponents();
    expect(listed.map((c) => [c.component, c.plugin, c.info.component])).toEqual([
      ['/calc/add', 'calc', 'add'],
      ['/calc/echo', 'calc', 'echo'],
    ]);
  });

  it('are listed by `flowrun components`', async () => {
    const configFile = join(dir, 'flowrun.yaml');
    await writeFile(configFile, JSON.stringify({ ...calcConfig('{component}'), blobStore: { type: 'memory' } }));
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(process.execPath, [BIN, 'components', '--config', configFile], { cwd: dir, timeout: 60_000 }, (err, out, errOut) => {
        done({ code: err ? Number(err.code ?? -1) : 0, stdout: out, stderr: errOut });
      });
    });
    expect(stderr).not.toMatch(/Error/);
    expect(code).toBe(0);
    expect(stdout).toContain('/calc/add');
    expect(stdout).toContain('/calc/echo');
  });
});
