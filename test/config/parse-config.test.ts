import { describe, expect, it } from 'vitest';
import { parseConfig, type FlowrunConfig, type MockPluginConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { thrownBy } from '../support/errors.js';

const base = { workingDirectory: '/srv/app', env: {} as Record<string, string> };

function configError(value: unknown, options: Partial<Parameters<typeof parseConfig>[1]> = {}): ConfigError {
  return thrownBy(() => parseConfig(value, { ...base, file: '/srv/app/flowrun.yaml', ...options }), ConfigError);
}

describe('parseConfig: plugins', () => {
  it('reads a stdio stepflow plugin with defaults filled in', () => {
    const config = parseConfig({ plugins: { tools: { type: 'stepflow', command: 'node', args: ['server.js'] } } }, base);
    expect(config.plugins.tools).toEqual({
      type: 'stepflow',
      transport: 'stdio',
      command: 'node',
      args: ['server.js'],
      env: {},
      cwd: '/srv/app',
      inheritEnv: true,
      transportRetries: 3,
    });
  });

  it('reads every stdio option, resolving cwd against the working directory', () => {
    const config = parseConfig(
      {
        plugins: {
          tools: {
            type: 'stepflow',
            transport: 'stdio',
            command: 'python',
            args: ['-m', 'srv', 8080],
            env: { MODE: 'fast', PORT: 9000, DEBUG: true },
            cwd: 'servers',
            inheritEnv: false,
            timeoutMs: 5000,
            transportRetries: 0,
          },
        },
      },
      base,
    );
    expect(config.plugins.tools).toEqual({
      type: 'stepflow',
      transport: 'stdio',
      command: 'python',
      args: ['-m', 'srv', '8080'],
      env: { MODE: 'fast', PORT: '9000', DEBUG: 'true' },
      cwd: '/srv/app/servers',
      inheritEnv: false,
      timeoutMs: 5000,
      transportRetries: 0,
    });
  });

  it('reads a WebSocket stepflow plugin', () => {
    const config = parseConfig({ plugins: { remote: { type: 'stepflow', url: 'ws://10.0.0.5:9000', timeoutMs: 100 } } }, base);
    expect(config.plugins.remote).toEqual({ type: 'stepflow', transport: 'websocket', url: 'ws://10.0.0.5:9000', timeoutMs: 100, transportRetries: 3 });
  });

  it('reads numbers and booleans written as text, as ${VAR} substitution produces them', () => {
    const config = parseConfig(
      { plugins: { tools: { type: 'stepflow', command: 'x', timeoutMs: '${T}', transportRetries: '${R:-5}', inheritEnv: '${I}' } } },
      { ...base, env: { T: '250', I: 'false' } },
    );
    expect(config.plugins.tools).toMatchObject({ timeoutMs: 250, transportRetries: 5, inheritEnv: false });
  });

  it('refuses transport http, saying only stdio and WebSocket are supported', () => {
    const error = configError({ plugins: { py: { type: 'stepflow', transport: 'http', url: 'http://localhost:8080' } } });
    expect(error.field).toBe('plugins.py.transport');
    expect(error.message).toMatch(/http.*not supported.*stdio.*WebSocket/);
  });

  it('refuses a non-WebSocket url', () => {
    expect(configError({ plugins: { py: { type: 'stepflow', url: 'http://localhost:8080' } } }).message).toMatch(/ws:\/\/ or wss:\/\//);
  });

  it('refuses a stepflow plugin with neither or both of command and url', () => {
    expect(configError({ plugins: { py: { type: 'stepflow' } } }).message).toMatch(/plugins\.py: needs `command`.*or `url`/);
    expect(configError({ plugins: { py: { type: 'stepflow', command: 'x', url: 'ws://a' } } }).message).toMatch(/not both/);
  });

  it('names the file and field of a wrongly typed plugin field', () => {
    const error = configError({ plugins: { tools: { type: 'stepflow', command: ['node'] } } });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.file).toBe('/srv/app/flowrun.yaml');
    expect(error.field).toBe('plugins.tools.command');
    expect(error.message).toMatch(/^\/srv\/app\/flowrun\.yaml: plugins\.tools\.command: /);
  });

  it('names the plugin and lists the valid types for an unknown type', () => {
    const error = configError({ plugins: { thing: { type: 'mcp', command: 'x', args: [] } } });
    expect(error.field).toBe('plugins.thing.type');
    expect(error.message).toContain('plugin "thing" has unknown type "mcp"');
    expect(error.message).toContain('stepflow, mock, builtin');
  });

  it('requires a type', () => {
    expect(configError({ plugins: { thing: { command: 'x' } } }).field).toBe('plugins.thing.type');
  });

  it('reads a builtin plugin', () => {
    expect(parseConfig({ plugins: { builtin: { type: 'builtin' } } }, base).plugins.builtin).toEqual({ type: 'builtin' });
  });
});

describe('parseConfig: mock plugin', () => {
  const mock = (components: unknown) => (parseConfig({ plugins: { m: { type: 'mock', components } } }, base).plugins.m as MockPluginConfig).components;

  it('reads behaviours given as a Map with mapping keys (YAML complex keys)', () => {
    const behaviors = new Map<unknown, unknown>([
      [{ input: 'a' }, { outcome: 'success', result: { output: 'b' } }],
      [{ mode: 'error' }, { outcome: 'failed', error: { code: 8, message: 'error' } }],
      [{ mode: 'boom' }, { error: 'some text' }],
      [{ input: null }, { outcome: 'success', value: null }],
    ]);
    const components = mock({ '/one': { input_schema: { type: 'object' }, output_schema: { type: 'object' }, behaviors } });
    expect(components['/one']).toEqual({
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object' },
      behaviors: [
        { input: { input: 'a' }, behavior: { outcome: 'success', value: { output: 'b' } } },
        { input: { mode: 'error' }, behavior: { outcome: 'failed', error: { code: 8, message: 'error' } } },
        { input: { mode: 'boom' }, behavior: { error: 'some text' } },
        { input: { input: null }, behavior: { outcome: 'success', value: null } },
      ],
    });
  });

  it('reads behaviours given as an array of {input, outcome, result | error}', () => {
    const components = mock({
      '/two': {
        behaviors: [
          { input: { x: 1 }, outcome: 'success', result: 2 },
          { input: 'bad', outcome: 'failed', error: { code: 3, message: 'no', data: { why: 'x' } } },
          { input: null, error: 'crash' },
        ],
      },
    });
    expect(components['/two'].behaviors).toEqual([
      { input: { x: 1 }, behavior: { outcome: 'success', value: 2 } },
      { input: 'bad', behavior: { outcome: 'failed', error: { code: 3, message: 'no', data: { why: 'x' } } } },
      { input: null, behavior: { error: 'crash' } },
    ]);
  });

  it('reads string keys written as flow mappings (JSON configs, stringified YAML keys) as values', () => {
    const components = mock({
      '/three': {
        behaviors: {
          '{ input: "a" }': { outcome: 'success', result: 1 },
          '{"input": "b"}': { outcome: 'success', result: 2 },
          plain: { outcome: 'success', result: 3 },
        },
      },
    });
    expect(components['/three'].behaviors.map((b) => b.input)).toEqual([{ input: 'a' }, { input: 'b' }, 'plain']);
  });

  it('adds the leading slash to component names written without it', () => {
    expect(Object.keys(mock({ echo: { behaviors: [] } }))).toEqual(['/echo']);
  });

  it('names the behaviour of a malformed entry', () => {
    const error = configError({ plugins: { m: { type: 'mock', components: { '/c': { behaviors: [{ input: 1, outcome: 'failed', error: { message: 'no code' } }] } } } } });
    expect(error.field).toBe('plugins.m.components./c.behaviors[0].error.code');
    const forms = configError({ plugins: { m: { type: 'mock', components: { '/c': { behaviors: [{ input: 1, result: 2 }] } } } } });
    expect(forms.message).toMatch(/expected \{outcome: success/);
    const noInput = configError({ plugins: { m: { type: 'mock', components: { '/c': { behaviors: [{ outcome: 'success', result: 2 }] } } } } });
    expect(noInput.message).toContain('needs an `input`');
  });

  it('requires components', () => {
    expect(configError({ plugins: { m: { type: 'mock' } } }).field).toBe('plugins.m.components');
  });
});

describe('parseConfig: routes', () => {
  const plugins = { tools: { type: 'stepflow', command: 'x' }, builtin: { type: 'builtin' } };

  it('reads rules with every option', () => {
    const config = parseConfig(
      {
        plugins,
        routes: {
          '/tools/{*component}': [
            { plugin: 'tools', conditions: [{ path: '$.model', value: 'gpt-4' }], componentAllow: ['/a'], componentDeny: ['/b'] },
            { plugin: 'builtin', component: '/eval' },
          ],
          '/builtin/{*component}': { plugin: 'builtin' },
        },
      },
      base,
    );
    expect(config.routes).toEqual({
      '/tools/{*component}': [
        { plugin: 'tools', conditions: [{ path: '$.model', value: 'gpt-4' }], componentAllow: ['/a'], componentDeny: ['/b'] },
        { plugin: 'builtin', component: '/eval' },
      ],
      '/builtin/{*component}': [{ plugin: 'builtin' }],
    });
  });

  it('refuses a route naming an unknown plugin, naming route and plugin', () => {
    const error = configError({ plugins, routes: { '/x/{*component}': [{ plugin: 'python' }] } });
    expect(error.field).toBe('routes./x/{*component}[0].plugin');
    expect(error.message).toContain('route "/x/{*component}" names plugin "python"');
  });

  it('refuses a bad pattern', () => {
    expect(configError({ plugins, routes: { 'x/{*component}': [{ plugin: 'tools' }] } }).message).toMatch(/must start with "\/"/);
    expect(configError({ plugins, routes: { '/{*component}/x': [{ plugin: 'tools' }] } }).message).toMatch(/must be the last segment/);
  });
});

describe('parseConfig: stores and working directory', () => {
  it('defaults to filesystem blobs under .flowrun/blobs of the data directory (not the config\'s) and memory state', () => {
    const config = parseConfig({}, { ...base, dataDirectory: '/home/user' });
    expect(config.blobStore).toEqual({ type: 'filesystem', path: '/home/user/.flowrun/blobs' });
    expect(parseConfig({}, base).blobStore).toEqual({ type: 'filesystem', path: `${process.cwd()}/.flowrun/blobs` });
    expect(config.stateStore).toBeUndefined(); // the command picks: run → memory, serve → sqlite
    expect(config.plugins).toEqual({});
    expect(config.routes).toEqual({});
  });

  it('reads an empty file (null) as an empty config', () => {
    expect(parseConfig(null, base).plugins).toEqual({});
  });

  it('resolves store paths against workingDirectory, itself relative to the config directory', () => {
    const config = parseConfig(
      { workingDirectory: 'data', blobStore: { type: 'filesystem', path: 'blobs' }, stateStore: { type: 'sqlite', path: 'state.db' } },
      base,
    );
    expect(config.workingDirectory).toBe('/srv/app/data');
    expect(config.blobStore).toEqual({ type: 'filesystem', path: '/srv/app/data/blobs' });
    expect(config.stateStore).toEqual({ type: 'sqlite', path: '/srv/app/data/state.db' });
  });

  it('parses memory, s3 and postgres stores', () => {
    expect(parseConfig({ blobStore: { type: 'memory' } }, base).blobStore).toEqual({ type: 'memory' });
    expect(parseConfig({ blobStore: { type: 's3', bucket: 'b', prefix: 'p/', endpoint: 'http://127.0.0.1:9000', forcePathStyle: 'true' } }, base).blobStore).toEqual({
      type: 's3',
      bucket: 'b',
      prefix: 'p/',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
    });
    expect(parseConfig({ stateStore: { type: 'postgres', url: 'postgres://u@h/db' } }, base).stateStore).toEqual({ type: 'postgres', url: 'postgres://u@h/db' });
  });

  it("accepts Stepflow's inMemory and sqlite databaseUrl", () => {
    expect(parseConfig({ stateStore: { type: 'inMemory' } }, base).stateStore).toEqual({ type: 'memory' });
    expect(parseConfig({ stateStore: { type: 'sqlite', databaseUrl: 'sqlite:run.db?mode=rwc' } }, base).stateStore).toEqual({ type: 'sqlite', path: '/srv/app/run.db' });
    expect(parseConfig({ stateStore: { type: 'sqlite', databaseUrl: 'sqlite::memory:' } }, base).stateStore).toEqual({ type: 'sqlite', path: ':memory:' });
  });

  it('refuses unknown store types, listing the valid ones', () => {
    expect(configError({ blobStore: { type: 'gcs' } }).message).toContain('valid types: memory, filesystem, s3');
    expect(configError({ stateStore: { type: 'redis' } }).message).toContain('valid types: memory, sqlite, postgres');
    expect(configError({ stateStore: { type: 'sqlite' } }).field).toBe('stateStore.path');
  });
});

describe('parseConfig: environment and error locations', () => {
  it('substitutes ${VAR} from the given env everywhere', () => {
    const config: FlowrunConfig = parseConfig(
      { plugins: { tools: { type: 'stepflow', command: '${PY:-python3}', args: ['${SCRIPT}'], env: { TOKEN: '${TOKEN}' } } } },
      { ...base, env: { SCRIPT: 'srv.py', TOKEN: 't0k' } },
    );
    expect(config.plugins.tools).toMatchObject({ command: 'python3', args: ['srv.py'], env: { TOKEN: 't0k' } });
  });

  it('names the variable, the file and the field when an unset variable has no default', () => {
    const error = configError({ plugins: { tools: { type: 'stepflow', command: 'x', env: { KEY: '${API_KEY}' } } } });
    expect(error.message).toContain('API_KEY');
    expect(error.message).toContain('/srv/app/flowrun.yaml');
    expect(error.field).toBe('plugins.tools.env.KEY');
  });

  it('prefixes fields for an inline config and uses the given line finder', () => {
    const error = configError(
      { plugins: { tools: { type: 'stepflow', command: 1 } } },
      { file: '/flows/f.yaml', fieldPrefix: 'test.config', lineOf: (path) => (path.length === 3 ? 42 : undefined) },
    );
    expect(error.field).toBe('test.config.plugins.tools.command');
    expect(error.message).toMatch(/^\/flows\/f\.yaml:42: test\.config\.plugins\.tools\.command: /);
  });

  it('says "config" when there is no file', () => {
    expect(() => parseConfig({ plugins: 5 }, base)).toThrow(/^config: plugins: /);
  });
});
