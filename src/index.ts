/**
 * `flowrun`: the runtime, for embedding it in a program (the CLI is built on the same pieces).
 *
 *   const runtime = await Runtime.create({ config: await loadConfig({ flowPath }) });
 *   const run = await runtime.submit({ flow, inputs, maxConcurrency: 16 });
 *   const results = await run.result();
 *   await runtime.close();
 *
 * Component servers use `flowrun/sdk`, clients of a served runtime `flowrun/client`, and the wire
 * schemas are in `flowrun/protocol`.
 */
export { Runtime, type RuntimeOptions, type RoutedComponent } from './runtime.js';
export type { RunManager } from './runs/run-manager.js';
export { RunHandle } from './client/run-handle.js';
export { RunNotFoundError, BlobNotFoundError, FlowNotFoundError, RunLimitError } from './client/client-errors.js';
export { loadConfig, parseConfig, defaultConfig, findConfigFile, CONFIG_FILE_NAMES } from './config/index.js';
export type { LoadConfigOptions, ParseConfigOptions, FlowrunConfig, PluginConfig, StateStoreConfig } from './config/index.js';
export { loadFlowFile, validateFlow, type Diagnostic, type ValidationResult } from './flow/index.js';
export {
  createBlobStore,
  DEFAULT_BLOB_PATH,
  MemoryBlobStore,
  FilesystemBlobStore,
  BlobReadError,
  blobIdOf,
  type Blob,
  type BlobStore,
  type BlobStoreConfig,
  type BlobType,
  type FilesystemBlobStoreOptions,
  type S3BlobStoreOptions,
} from '../blobstore/index.js';
export { createStateStore, MemoryStateStore, DEFAULT_STATE_DB_PATH, type StateStore, type CreateStateStoreOptions } from './statestore/index.js';
export { ComponentError } from './calls/component-error.js';
export { FlowrunError, ConfigError, FlowLoadError, ConnectionClosedError, RequestCancelledError, RequestTimeoutError, StateStoreInUseError } from './errors.js';
export { createLogger, type Logger } from './log.js';
export { RpcError, ErrorCodes } from '../protocol/index.js';
export type { FlowResult, RunStatus, ItemResult, Observability, ResultOrder, Status } from '../protocol/index.js';
