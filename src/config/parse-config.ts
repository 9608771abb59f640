import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_BLOB_PATH } from '../../blobstore/index.js';
import { MAX_TIMEOUT_MS } from '../../protocol/timeout.js';
import { ConfigReader, type ConfigSource, type FieldPath } from './config-reader.js';
import { MissingVariableError, substituteEnv, type Environment } from './env-substitution.js';
import { parseMockComponents } from './mock-behaviors.js';
import { findRouteProblem } from '../routing/route-pattern.js';
import { parseLimitsConfig, parseServeConfig } from './serve-config.js';
import { parseClusterConfig } from './cluster-config.js';
import { parseCallbacksConfig } from './callbacks-config.js';
import { parseAuthConfig } from './auth-config.js';
import { parseRetentionConfig } from './retention-config.js';
import { parseDefaultsConfig, withCallDefaults } from './defaults-config.js';
import { DurationSchema } from './duration.js';
import { parseEventsConfig } from './events-config.js';
import type { BlobStoreConfig, BuiltinPluginConfig, FlowrunConfig, PluginConfig, RouteRule, StateStoreConfig, StepflowPluginConfig } from './types.js';

export interface ParseConfigOptions extends ConfigSource {
  /** Base of relative paths when the config sets no `workingDirectory` (a file's directory, usually). */
  workingDirectory: string;
  /** Values for `${VAR}` substitution. */
  env: Environment;
  /**
   * Where the default blob store lives when the config names none: `<dataDirectory>/.flowrun/blobs`.
   * Default `process.cwd()` — the invoking user's directory, never the (possibly shared) config's.
   */
  dataDirectory?: string;
}

export const PLUGIN_TYPES = ['stepflow', 'mock', 'builtin', 'workers'] as const;
const BLOB_STORE_TYPES = ['memory', 'filesystem', 's3'] as const;
const STATE_STORE_TYPES = ['memory', 'sqlite', 'postgres'] as const;

// `${VAR}` substitution yields strings, so numbers and booleans are also read from their text.
const integer = (min: number) =>
  z.preprocess((v) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v), z.number().int().min(min));
/** A delay in ms: Node's timers fire at once above `MAX_TIMEOUT_MS`. */
const delayMs = integer(1).pipe(z.number().max(MAX_TIMEOUT_MS));
const boolean = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
const scalarString = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const TopLevelSchema = z.object({
  workingDirectory: z.string().min(1).optional(),
  plugins: z.record(z.string(), z.unknown()).default({}),
  routes: z.record(z.string(), z.unknown()).default({}),
  blobStore: z.unknown().optional(),
  stateStore: z.unknown().optional(),
  serve: z.unknown().optional(),
  limits: z.unknown().optional(),
  cluster: z.unknown().optional(),
  callbacks: z.unknown().optional(),
  auth: z.unknown().optional(),
  retention: z.unknown().optional(),
  defaults: z.unknown().optional(),
  variables: z.record(z.string(), z.unknown()).optional(),
  idempotencyTtl: z.unknown().optional(),
  events: z.unknown().optional(),
});

const StepflowSchema = z.object({
  // Stepflow's key; flowrun tells the transport from `command` / `url`.
  transport: z.enum(['stdio', 'http', 'websocket']).optional(),
  command: z.string().min(1).optional(),
  args: z.array(scalarString).default([]),
  env: z.record(z.string(), scalarString).default({}),
  cwd: z.string().min(1).optional(),
  inheritEnv: boolean.default(true),
  url: z.string().min(1).optional(),
  timeoutMs: delayMs.optional(),
  transportRetries: integer(0).default(3),
  connectTimeoutMs: delayMs.optional(),
  pingIntervalMs: delayMs.optional(),
  initializeTimeoutMs: delayMs.optional(),
});

const WorkersSchema = z.object({
  pool: z.string().min(1),
  timeoutMs: delayMs.optional(),
  transportRetries: integer(0).default(3),
  waitForWorkerMs: delayMs.optional(),
});

const RuleSchema = z.object({
  plugin: z.string().min(1),
  component: z.string().min(1).optional(),
  conditions: z.array(z.object({ path: z.string().min(1), value: z.unknown() })).optional(),
  componentAllow: z.array(z.string()).optional(),
  componentDeny: z.array(z.string()).optional(),
});
// A single rule may be written without the list around it.
const RulesSchema = z.preprocess((v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? [v] : v), z.array(RuleSchema));

const BuiltinSchema = z.object({
  loadFile: z
    .object({
      roots: z.array(z.string().min(1)).min(1).optional(),
      maxBytes: integer(1).optional(),
    })
    .optional(),
});

const TypeTagSchema = z.object({ type: z.string() });
const S3Schema = z.object({
  bucket: z.string().min(1),
  prefix: z.string().optional(),
  endpoint: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
  forcePathStyle: boolean.optional(),
});

/**
 * Validates a config value (already parsed from YAML/JSON, e.g. a flow's inline `test.config`):
 * substitutes `${VAR}`, fills defaults, resolves paths. Throws ConfigError naming file and field.
 */
export function parseConfig(value: unknown, options: ParseConfigOptions): FlowrunConfig {
  const reader = new ConfigReader(options);
  let substituted: unknown;
  try {
    substituted = substituteEnv(value ?? {}, options.env);
  } catch (err) {
    if (err instanceof MissingVariableError) reader.fail(err.path, err.message);
    throw err;
  }
  const top = reader.parse(TopLevelSchema, substituted, []);
  const workingDirectory = resolve(options.workingDirectory, top.workingDirectory ?? '.');

  const plugins: Record<string, PluginConfig> = {};
  for (const [name, raw] of Object.entries(top.plugins)) {
    plugins[name] = parsePlugin(name, raw, workingDirectory, reader);
  }
  // The config's `defaults:` fill what a plugin does not set (docs/precedence.md).
  const defaults = parseDefaultsConfig(top.defaults, reader);
  for (const name of Object.keys(plugins)) plugins[name] = withCallDefaults(plugins[name], top.plugins[name], defaults);
  const routes: Record<string, RouteRule[]> = {};
  for (const [pattern, raw] of Object.entries(top.routes)) {
    routes[pattern] = reader.parse(RulesSchema, raw, ['routes', pattern]).map(withoutUndefined);
  }
  const problem = findRouteProblem(routes, Object.keys(plugins));
  if (problem) reader.fail(['routes', ...problem.path], problem.message);

  return {
    ...(options.file === undefined ? {} : { file: options.file }),
    workingDirectory,
    plugins,
    routes,
    blobStore: parseBlobStore(top.blobStore, workingDirectory, options.dataDirectory ?? process.cwd(), reader),
    ...optional('stateStore', parseStateStore(top.stateStore, workingDirectory, reader)),
    ...optional('serve', parseServeConfig(top.serve, reader)),
    ...optional('limits', parseLimitsConfig(top.limits, reader)),
    ...optional('cluster', parseClusterConfig(top.cluster, reader)),
    ...optional('callbacks', parseCallbacksConfig(top.callbacks, reader)),
    ...optional('auth', parseAuthConfig(top.auth, reader)),
    ...optional('retention', parseRetentionConfig(top.retention, reader)),
    ...optional('defaults', defaults),
    ...optional('variables', top.variables),
    ...optional('idempotencyTtlMs', top.idempotencyTtl === undefined ? undefined : reader.parse(DurationSchema, top.idempotencyTtl, ['idempotencyTtl'])),
    ...optional('events', parseEventsConfig(top.events, reader)),
  };
}

/** The config used when no file is found: builtins under `/builtin/…`, blobs in `.flowrun/blobs`. */
export function defaultConfig(workingDirectory: string): FlowrunConfig {
  return {
    workingDirectory,
    plugins: { builtin: { type: 'builtin' } },
    routes: { '/builtin/{*component}': [{ plugin: 'builtin' }] },
    blobStore: { type: 'filesystem', path: resolve(workingDirectory, DEFAULT_BLOB_PATH) },
  };
}

function parsePlugin(name: string, raw: unknown, workingDirectory: string, reader: ConfigReader): PluginConfig {
  const path = ['plugins', name];
  const type = typeTag(raw, path, `plugin "${name}"`, PLUGIN_TYPES, reader);
  switch (type) {
    case 'builtin':
      return parseBuiltinPlugin(raw, path, workingDirectory, reader);
    case 'mock': {
      const components = (raw as { components?: unknown }).components;
      if (components === undefined) return reader.fail([...path, 'components'], 'is required (a mapping of component path → behaviors)');
      return { type: 'mock', components: parseMockComponents(components, [...path, 'components'], reader) };
    }
    case 'stepflow':
      return parseStepflowPlugin(raw, path, workingDirectory, reader);
    case 'workers':
      return { type: 'workers', ...withoutUndefined(reader.parse(WorkersSchema, raw, path)) };
  }
}

/** `loadFile.roots` resolve against the working directory (the config file's, by default). */
function parseBuiltinPlugin(raw: unknown, path: FieldPath, workingDirectory: string, reader: ConfigReader): BuiltinPluginConfig {
  const { loadFile } = reader.parse(BuiltinSchema, raw, path);
  if (loadFile === undefined) return { type: 'builtin' };
  return {
    type: 'builtin',
    loadFile: withoutUndefined({ roots: loadFile.roots?.map((root) => resolve(workingDirectory, root)), maxBytes: loadFile.maxBytes }),
  };
}

function parseStepflowPlugin(raw: unknown, path: FieldPath, workingDirectory: string, reader: ConfigReader): StepflowPluginConfig {
  const plugin = reader.parse(StepflowSchema, raw, path);
  const common = {
    type: 'stepflow' as const,
    transportRetries: plugin.transportRetries,
    ...(plugin.timeoutMs === undefined ? {} : { timeoutMs: plugin.timeoutMs }),
    ...(plugin.initializeTimeoutMs === undefined ? {} : { initializeTimeoutMs: plugin.initializeTimeoutMs }),
  };
  if (plugin.transport === 'http') {
    return reader.fail([...path, 'transport'], 'transport "http" is not supported: flowrun speaks stdio (`command`) and WebSocket (`url: ws://…`)');
  }
  if (plugin.command !== undefined && plugin.url !== undefined) return reader.fail(path, 'give either `command` (stdio) or `url` (WebSocket), not both');
  if (plugin.url !== undefined) {
    if (plugin.transport === 'stdio') return reader.fail([...path, 'url'], 'transport "stdio" needs `command`, not `url`');
    if (!/^wss?:\/\//i.test(plugin.url)) {
      return reader.fail([...path, 'url'], `"${plugin.url}" is not a ws:// or wss:// URL: only stdio and WebSocket are supported`);
    }
    return {
      ...common,
      transport: 'websocket',
      url: plugin.url,
      ...(plugin.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: plugin.connectTimeoutMs }),
      ...(plugin.pingIntervalMs === undefined ? {} : { pingIntervalMs: plugin.pingIntervalMs }),
    };
  }
  if (plugin.command === undefined) return reader.fail(path, 'needs `command` (a stdio server to spawn) or `url` (a WebSocket server)');
  if (plugin.transport === 'websocket') return reader.fail([...path, 'command'], 'transport "websocket" needs `url`, not `command`');
  return {
    ...common,
    transport: 'stdio',
    command: plugin.command,
    args: plugin.args,
    env: plugin.env,
    cwd: resolve(workingDirectory, plugin.cwd ?? '.'),
    inheritEnv: plugin.inheritEnv,
  };
}

function parseBlobStore(raw: unknown, workingDirectory: string, dataDirectory: string, reader: ConfigReader): BlobStoreConfig {
  const path = ['blobStore'];
  if (raw === undefined) return { type: 'filesystem', path: resolve(dataDirectory, DEFAULT_BLOB_PATH) };
  switch (typeTag(raw, path, 'blobStore', BLOB_STORE_TYPES, reader)) {
    case 'memory':
      return { type: 'memory' };
    case 'filesystem': {
      const { path: dir } = reader.parse(z.object({ path: z.string().min(1).default(DEFAULT_BLOB_PATH) }), raw, path);
      return { type: 'filesystem', path: resolve(workingDirectory, dir) };
    }
    case 's3':
      return { type: 's3', ...withoutUndefined(reader.parse(S3Schema, raw, path)) };
  }
}

function parseStateStore(raw: unknown, workingDirectory: string, reader: ConfigReader): StateStoreConfig | undefined {
  const path = ['stateStore'];
  // Absent: the command decides (`run`: memory; `serve`: sqlite at .flowrun/state.db).
  if (raw === undefined) return undefined;
  // Stepflow wrote `inMemory`, and `sqlite` with an sqlx `databaseUrl`.
  const aliased = isRecord(raw) && raw.type === 'inMemory' ? { ...raw, type: 'memory' } : raw;
  switch (typeTag(aliased, path, 'stateStore', STATE_STORE_TYPES, reader)) {
    case 'memory':
      return { type: 'memory' };
    case 'sqlite': {
      const sqlite = reader.parse(z.object({ path: z.string().min(1).optional(), databaseUrl: z.string().min(1).optional() }), raw, path);
      const file = sqlite.path ?? (sqlite.databaseUrl === undefined ? undefined : fileOfSqliteUrl(sqlite.databaseUrl));
      if (file === undefined) return reader.fail([...path, 'path'], 'is required (the database file, or ":memory:")');
      return { type: 'sqlite', path: file === ':memory:' || isAbsolute(file) ? file : resolve(workingDirectory, file) };
    }
    case 'postgres':
      return { type: 'postgres', url: reader.parse(z.object({ url: z.string().min(1) }), raw, path).url };
  }
}

/** `sqlite:path.db?mode=rwc` → `path.db`, `sqlite::memory:` → `:memory:`. */
function fileOfSqliteUrl(url: string): string {
  return url.replace(/^sqlite:(\/\/)?/, '').replace(/\?.*$/, '');
}

function typeTag<T extends string>(raw: unknown, path: FieldPath, what: string, valid: readonly T[], reader: ConfigReader): T {
  const { type } = reader.parse(TypeTagSchema, raw, path);
  if (!(valid as readonly string[]).includes(type)) {
    return reader.fail([...path, 'type'], `${what} has unknown type "${type}" (valid types: ${valid.join(', ')})`);
  }
  return type as T;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Map);
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** `{[key]: value}` when value is defined, else `{}` (keeps absent keys absent under exactOptionalPropertyTypes-style checks). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
