import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Environment } from './env-substitution.js';
import { findConfigFile } from './find-config-file.js';
import { defaultConfig, parseConfig } from './parse-config.js';
import type { FlowrunConfig } from './types.js';
import { parseYamlKeepingComplexKeys, YamlSyntaxError, type YamlSource } from '../values/yaml-values.js';

export interface LoadConfigOptions {
  /** An explicit config file (`--config`). */
  configPath?: string;
  /** The flow being run; a config next to it is preferred over one in `cwd`. */
  flowPath?: string;
  /** Default: `process.cwd()`. */
  cwd?: string;
  /** For `${VAR}` substitution. Default: `process.env`. */
  env?: Environment;
}

/** Finds, reads and validates the config (docs/config.md); the default config when there is no file. */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<FlowrunConfig> {
  const cwd = options.cwd ?? process.cwd();
  const config = await findAndParse(options, cwd);
  // The flow's directory is where `/load_file` may read by default (docs/builtins.md).
  return options.flowPath === undefined ? config : { ...config, flowDirectory: dirname(resolve(cwd, options.flowPath)) };
}

async function findAndParse(options: LoadConfigOptions, cwd: string): Promise<FlowrunConfig> {
  const file = await findConfigFile({ configPath: options.configPath, flowPath: options.flowPath, cwd });
  if (file === undefined) return defaultConfig(cwd);
  const source = await readConfigSource(file);
  return parseConfig(source.value, {
    file,
    lineOf: source.lineOf,
    workingDirectory: dirname(file),
    env: options.env ?? process.env,
  });
}

async function readConfigSource(file: string): Promise<YamlSource> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read config file: ${(err as Error).message}`, file);
  }
  try {
    // YAML 1.2 reads JSON too, and gives line numbers for both.
    return parseYamlKeepingComplexKeys(text);
  } catch (err) {
    if (!(err instanceof YamlSyntaxError)) throw err;
    const where = err.line === undefined ? file : `${file}:${err.line}`;
    throw new ConfigError(`${where}: invalid YAML: ${err.message}`, file);
  }
}
