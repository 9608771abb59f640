import { access, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

/** Config file names looked for in a directory: flowrun's own, then Stepflow's. */
export const CONFIG_FILE_NAMES = [
  'flowrun.yaml',
  'flowrun.yml',
  'stepflow-config.yml',
  'stepflow-config.yaml',
  'stepflow_config.yml',
  'stepflow_config.yaml',
] as const;

export interface FindConfigFileOptions {
  /** An explicit path (`--config`); it must exist. Relative to `cwd`. */
  configPath?: string;
  /** The flow being run: its directory is searched first. Relative to `cwd`. */
  flowPath?: string;
  cwd: string;
}

/**
 * The config file to use (docs/config.md): the explicit path; else the one next to the flow; else the
 * one in `cwd`; undefined when there is none. Two candidates in one directory → ConfigError.
 */
export async function findConfigFile(options: FindConfigFileOptions): Promise<string | undefined> {
  if (options.configPath !== undefined) {
    const file = resolve(options.cwd, options.configPath);
    if (!(await isFile(file))) throw new ConfigError(`config file not found: ${file}`, file);
    return file;
  }
  const dirs = [options.flowPath === undefined ? undefined : dirname(resolve(options.cwd, options.flowPath)), resolve(options.cwd)];
  for (const dir of new Set(dirs)) {
    if (dir === undefined) continue;
    const found = await configFilesIn(dir);
    if (found.length > 1) {
      throw new ConfigError(`two config files in ${dir}: ${found.join(' and ')}; remove one or pass --config`, found[0]);
    }
    if (found.length === 1) return found[0];
  }
  return undefined;
}

async function configFilesIn(dir: string): Promise<string[]> {
  const candidates = CONFIG_FILE_NAMES.map((name) => join(dir, name));
  const present = await Promise.all(candidates.map(isFile));
  return candidates.filter((_, i) => present[i]);
}

async function isFile(file: string): Promise<boolean> {
  try {
    await access(file);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
