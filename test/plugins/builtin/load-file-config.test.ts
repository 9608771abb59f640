import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../../blobstore/memory.js';
import { loadConfig, parseConfig } from '../../../src/config/index.js';
import { ConfigError } from '../../../src/errors.js';
import { DEFAULT_LOAD_FILE_MAX_BYTES, loadFileLimits } from '../../../src/plugins/builtin/index.js';
import { Runtime } from '../../../src/runtime.js';
import { makeTempDir } from '../../support/temp-dir.js';

const base = { workingDirectory: '/srv/app', env: { DATA: 'shared' } };
const builtinConfig = (loadFile: unknown) => ({ plugins: { builtin: { type: 'builtin', loadFile } } });

function configError(value: unknown): ConfigError {
  try {
    parseConfig(value, { ...base, file: '/srv/app/flowrun.yaml' });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('builtin.loadFile in the config', () => {
  it('resolves relative roots against the config\'s directory and reads maxBytes from text too', () => {
    const config = parseConfig(builtinConfig({ roots: ['data', '/abs/dir', '${DATA}/files'], maxBytes: '1024' }), base);
    expect(config.plugins.builtin).toEqual({
      type: 'builtin',
      loadFile: { roots: ['/srv/app/data', '/abs/dir', '/srv/app/shared/files'], maxBytes: 1024 },
    });
  });

  it('keeps a builtin plugin without loadFile as it was', () => {
    expect(parseConfig({ plugins: { builtin: { type: 'builtin' } } }, base).plugins.builtin).toEqual({ type: 'builtin' });
  });

  it('refuses maxBytes below 1 and an empty roots list, naming the field', () => {
    expect(configError(builtinConfig({ maxBytes: 0 })).field).toBe('plugins.builtin.loadFile.maxBytes');
    expect(configError(builtinConfig({ roots: [] })).field).toBe('plugins.builtin.loadFile.roots');
    expect(configError(builtinConfig({ roots: 'data' })).field).toBe('plugins.builtin.loadFile.roots');
  });

  it('defaults to the flow\'s directory, else the working directory, and a 16 MiB cap', () => {
    expect(DEFAULT_LOAD_FILE_MAX_BYTES).toBe(16 * 1024 * 1024);
    expect(loadFileLimits(undefined, { workingDirectory: '/w', flowDirectory: '/w/flows' })).toEqual({ roots: ['/w/flows'], maxBytes: DEFAULT_LOAD_FILE_MAX_BYTES });
    expect(loadFileLimits(undefined, { workingDirectory: '/w' })).toEqual({ roots: ['/w'], maxBytes: DEFAULT_LOAD_FILE_MAX_BYTES });
    expect(loadFileLimits({ roots: ['/data'], maxBytes: 5 }, { workingDirectory: '/w', flowDirectory: '/w/flows' })).toEqual({ roots: ['/data'], maxBytes: 5 });
  });
});

describe('/builtin/load_file in a runtime loaded for a flow', () => {
  // <dir>/flowrun.yaml, <dir>/secret.txt, <dir>/flows/{flow.yaml, data.json}
  let dir: string;
  let runtime: Runtime | undefined;
  beforeAll(async () => {
    dir = await makeTempDir('load-file-config');
    await mkdir(join(dir, 'flows'));
    await writeFile(join(dir, 'flows', 'data.json'), '{"n": 7}');
    await writeFile(join(dir, 'flows', 'flow.yaml'), 'output: null\n');
    await writeFile(join(dir, 'secret.txt'), 'secret');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
  });

  const flow = {
    steps: [{ id: 'load', component: '/builtin/load_file', input: { path: { $input: 'path' } } }],
    output: { $step: 'load', path: 'data' },
  };

  async function results(configText: string, paths: string[]) {
    await writeFile(join(dir, 'flowrun.yaml'), configText);
    const config = await loadConfig({ flowPath: join(dir, 'flows', 'flow.yaml'), cwd: dir });
    expect(config.flowDirectory).toBe(join(dir, 'flows'));
    runtime = await Runtime.create({ config, blobStore: new MemoryBlobStore() });
    const status = await runtime.runs.submit({ flow, inputs: paths.map((path) => ({ path })), wait: true, variables: {} });
    return status.results!.map((r) => r.result);
  }

  const ROUTES = 'routes:\n  "/builtin/{*component}": [{ plugin: builtin }]\n';

  it('reads files of the flow\'s directory by default (paths relative to the config\'s) and refuses the rest with -32007', async () => {
    const [data, secret] = await results(`plugins:\n  builtin: { type: builtin }\n${ROUTES}`, ['flows/data.json', 'secret.txt']);
    expect(data).toEqual({ outcome: 'success', value: { n: 7 } });
    expect(secret).toMatchObject({
      outcome: 'failed',
      error: { code: 500, data: { stepId: 'load', cause: { code: -32007, data: { path: 'secret.txt' } } } },
    });
  });

  it('reads below the configured roots instead', async () => {
    const [data, secret] = await results(`plugins:\n  builtin: { type: builtin, loadFile: { roots: ["."], maxBytes: 100 } }\n${ROUTES}`, ['flows/data.json', 'secret.txt']);
    expect(data).toEqual({ outcome: 'success', value: { n: 7 } });
    expect(secret).toEqual({ outcome: 'success', value: 'secret' });
  });
});
