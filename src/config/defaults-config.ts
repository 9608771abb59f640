import { z } from 'zod';
import { MAX_TIMEOUT_MS } from '../../protocol/timeout.js';
import type { ConfigReader } from './config-reader.js';
import type { CallDefaultsConfig, PluginConfig } from './types.js';

// `${VAR}` substitution yields strings, so numbers are also read from their text.
const integer = (min: number, max: number) =>
  z.preprocess((v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v), z.number().int().min(min).max(max));

const DefaultsSchema = z.strictObject({
  timeoutMs: integer(1, MAX_TIMEOUT_MS).optional(),
  transportRetries: integer(0, 1000).optional(),
});

/**
 * `defaults: {timeoutMs, transportRetries}`: what a component call gets when neither its step, its
 * run nor its plugin says (docs/precedence.md).
 */
export function parseDefaultsConfig(raw: unknown, reader: ConfigReader): CallDefaultsConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  const defaults = reader.parse(DefaultsSchema, raw, ['defaults']);
  return Object.fromEntries(Object.entries(defaults).filter(([, v]) => v !== undefined)) as CallDefaultsConfig;
}

/**
 * A plugin's settings with the config's `defaults:` where the plugin itself (`raw`, as written)
 * does not set them: the plugin wins over the config's defaults, which win over the built-in ones.
 */
export function withCallDefaults(plugin: PluginConfig, raw: unknown, defaults: CallDefaultsConfig | undefined): PluginConfig {
  if (defaults === undefined || (plugin.type !== 'stepflow' && plugin.type !== 'workers')) return plugin;
  const written = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const withDefaults = { ...plugin };
  if (written.timeoutMs === undefined && defaults.timeoutMs !== undefined) withDefaults.timeoutMs = defaults.timeoutMs;
  if (written.transportRetries === undefined && defaults.transportRetries !== undefined) withDefaults.transportRetries = defaults.transportRetries;
  return withDefaults;
}
