/** Config discovery, `${VAR}` substitution and parsing of plugins, routes and stores (docs/config.md). */
export { loadConfig, type LoadConfigOptions } from './load-config.js';
export { parseConfig, defaultConfig, PLUGIN_TYPES, type ParseConfigOptions } from './parse-config.js';
export { findConfigFile, CONFIG_FILE_NAMES, type FindConfigFileOptions } from './find-config-file.js';
export { substituteEnv, MissingVariableError, type Environment } from './env-substitution.js';
export { parseYamlKeepingComplexKeys, yamlDocumentToJs, YamlSyntaxError, type YamlSource } from '../values/yaml-values.js';
export { DEFAULT_CLUSTER_CONFIG } from './cluster-config.js';
export { formatFieldPath, type FieldPath } from './config-reader.js';
export * from '../routing/route-pattern.js';
export type * from './types.js';
