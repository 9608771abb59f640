import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findConfigFile, loadConfig, type MockPluginConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { rejectionOf } from '../support/errors.js';
import { MOCK_FLOWS } from '../support/paths.js';
import { makeTempDir } from '../support/temp-dir.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('config');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function write(path: string, text: string): Promise<string> {
  const file = join(dir, path);
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, text);
  return file;
}

const rejection = (promise: Promise<unknown>): Promise<ConfigError> => rejectionOf(promise, ConfigError);

describe('findConfigFile', () => {
  it('prefers the config next to the flow over the one in cwd', async () => {
    const nextToFlow = await write('flows/stepflow-config.yml', '{}');
    await write('flowrun.yaml', '{}');
    expect(await findConfigFile({ flowPath: 'flows/f.yaml', cwd: dir })).toBe(nextToFlow);
  });

  it('falls back to cwd, then to nothing', async () => {
    await mkdir(join(dir, 'flows'));
    expect(await findConfigFile({ flowPath: 'flows/f.yaml', cwd: dir })).toBeUndefined();
    const inCwd = await write('flowrun.yml', '{}');
    expect(await findConfigFile({ flowPath: 'flows/f.yaml', cwd: dir })).toBe(inCwd);
  });

  it("finds every accepted name, including Stepflow's", async () => {
    for (const name of ['flowrun.yaml', 'flowrun.yml', 'stepflow-config.yml', 'stepflow-config.yaml', 'stepflow_config.yml', 'stepflow_config.yaml']) {
      const file = await write(`${name}.d/${name}`, '{}');
      expect(await findConfigFile({ cwd: join(dir, `${name}.d`) })).toBe(file);
    }
  });

  it('refuses two candidates in one directory, naming both', async () => {
    const a = await write('flowrun.yaml', '{}');
    const b = await write('stepflow-config.yml', '{}');
    const error = await rejection(findConfigFile({ cwd: dir }));
    expect(error.message).toContain(a);
    expect(error.message).toContain(b);
  });

  it('takes an explicit path as given, and refuses one that does not exist', async () => {
    const file = await write('conf/custom.json', '{}');
    await write('flowrun.yaml', '{}');
    expect(await findConfigFile({ configPath: 'conf/custom.json', cwd: dir })).toBe(file);
    expect((await rejection(findConfigFile({ configPath: 'nope.yaml', cwd: dir }))).message).toContain('not found');
  });
});

describe('loadConfig', () => {
  it('gives the default config when there is no file', async () => {
    const config = await loadConfig({ cwd: dir, env: {} });
    expect(config).toEqual({
      workingDirectory: dir,
      plugins: { builtin: { type: 'builtin' } },
      routes: { '/builtin/{*component}': [{ plugin: 'builtin' }] },
      blobStore: { type: 'filesystem', path: join(dir, '.flowrun/blobs') },
    });
  });

  it('reads a YAML config with comments, substituting the environment, relative to its directory', async () => {
    const file = await write(
      'proj/flowrun.yaml',
      [
        '# tools for the demo',
        'plugins:',
        '  tools:',
        '    type: stepflow',
        '    command: node',
        '    args: [server.js, "--port", "${PORT:-9000}"]',
        '    # the server reads this',
        '    env: {API_KEY: "${KEY}"}',
        '  builtin: { type: builtin }',
        'routes:',
        '  "/tools/{*component}": [{ plugin: tools }]',
        '  "/builtin/{*component}":',
        '    - plugin: builtin',
        'blobStore: { type: filesystem, path: .data/blobs }',
      ].join('\n'),
    );
    const config = await loadConfig({ cwd: dir, flowPath: 'proj/flow.yaml', env: { KEY: 'k' } });
    expect(config.file).toBe(file);
    expect(config.workingDirectory).toBe(join(dir, 'proj'));
    expect(config.plugins.tools).toMatchObject({ transport: 'stdio', args: ['server.js', '--port', '9000'], env: { API_KEY: 'k' }, cwd: join(dir, 'proj') });
    expect(Object.keys(config.routes)).toEqual(['/tools/{*component}', '/builtin/{*component}']);
    expect(config.blobStore).toEqual({ type: 'filesystem', path: join(dir, 'proj/.data/blobs') });
  });

  it('reads a JSON config with behaviours as an array', async () => {
    await write(
      'flowrun.yaml',
      JSON.stringify({
        plugins: { m: { type: 'mock', components: { '/echo': { behaviors: [{ input: { a: 1 }, outcome: 'success', result: { a: 1 } }] } } } },
        routes: { '/m/{component}': [{ plugin: 'm' }] },
      }),
    );
    const config = await loadConfig({ cwd: dir, env: {} });
    expect((config.plugins.m as MockPluginConfig).components['/echo'].behaviors).toEqual([{ input: { a: 1 }, behavior: { outcome: 'success', value: { a: 1 } } }]);
  });

  it('reports a YAML syntax error with file and line', async () => {
    const file = await write('flowrun.yaml', 'plugins:\n  tools:\n    type: stepflow\n    args: [a, b\n');
    const error = await rejection(loadConfig({ cwd: dir, env: {} }));
    expect(error.file).toBe(file);
    expect(error.message).toMatch(new RegExp(`^${file}:\\d+: invalid YAML`));
  });

  it('reports a schema error with file, line and field', async () => {
    const file = await write('flowrun.yaml', 'plugins:\n  tools:\n    type: stepflow\n    command: node\n    timeoutMs: soon\n');
    const error = await rejection(loadConfig({ cwd: dir, env: {} }));
    expect(error.message).toMatch(new RegExp(`^${file}:5: plugins\\.tools\\.timeoutMs: `));
    expect(error.field).toBe('plugins.tools.timeoutMs');
  });

  it('names the variable and the file when one is missing', async () => {
    const file = await write('flowrun.yaml', 'plugins:\n  r: {type: stepflow, url: "ws://${REMOTE_HOST}:9000"}\n');
    const error = await rejection(loadConfig({ cwd: dir, env: {} }));
    expect(error.message).toContain(file);
    expect(error.message).toContain('REMOTE_HOST');
  });

  it("reads a mock config in Stepflow's format (stepflow-config.yml beside the flow), complex keys and all", async () => {
    const config = await loadConfig({ flowPath: join(MOCK_FLOWS, 'translate.yaml'), cwd: dir, env: {} });
    expect(config.file).toBe(join(MOCK_FLOWS, 'stepflow-config.yml'));
    expect(config.routes).toEqual({ '/mock/{component}': [{ plugin: 'mock' }] });
    const mock = config.plugins.mock as MockPluginConfig;
    expect(Object.keys(mock.components)).toEqual(['/lookup', '/measure', '/toggle', '/nullable']);
    expect(mock.components['/lookup'].behaviors.map((b) => b.input)).toEqual([{ word: 'one' }, { word: 'three' }, { word: 'uno' }]);
    expect(mock.components['/toggle'].behaviors[0]).toEqual({ input: { mode: 'break' }, behavior: { outcome: 'failed', error: { code: 7, message: 'broken on purpose' } } });
    expect(mock.components['/nullable'].behaviors[2]).toEqual({ input: { value: null }, behavior: { outcome: 'success', value: { output: 'got null' } } });
    expect(mock.components['/measure'].outputSchema).toMatchObject({ properties: { letters: { type: 'integer' } } });
  });
});
