/** The wire contract: schemas, typed method descriptors and error codes. No I/O. */
export * from './errors.js';
export * from './jsonrpc.js';
export * from './types.js';
export * from './flow.js';
export * from './messages.js';
export * from './events.js';
export * from './methods.js';
export * from './validate.js';
export * from './timeout.js';
export * from './json-depth.js';
