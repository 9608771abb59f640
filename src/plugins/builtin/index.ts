/** The builtin components (docs/builtins.md): `/eval`, `/map`, `/iterate`, `/put_blob`, `/get_blob`, `/load_file`, `/create_messages`. */
export { BuiltinPlugin, BUILTIN_COMPONENTS } from './builtin-plugin.js';
export type { BuiltinComponent, BuiltinContext, BuiltinHost, BuiltinResult, BuiltinSpec } from './builtin-component.js';
export { defineBuiltin } from './builtin-component.js';
export { ITERATE_BAD_OUTPUT_MESSAGE } from './iterate.js';
export { DEFAULT_LOAD_FILE_MAX_BYTES, loadFileLimits, type LoadFileLimits } from './load-file-limits.js';
