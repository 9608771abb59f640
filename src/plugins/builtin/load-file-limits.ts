import type { FlowrunConfig, LoadFileConfig } from '../../config/index.js';

/** Largest file `/load_file` reads unless `builtin.loadFile.maxBytes` says otherwise: 16 MiB. */
export const DEFAULT_LOAD_FILE_MAX_BYTES = 16 * 1024 * 1024;

/** Where `/load_file` may read, and how much (docs/builtins.md). */
export interface LoadFileLimits {
  /** Absolute directories; a file must lie below one of them once symlinks are resolved. */
  roots: readonly string[];
  /** Largest file read, in bytes. */
  maxBytes: number;
}

/** The limits of a builtin plugin's config: default roots are the flow's directory, else the working directory. */
export function loadFileLimits(loadFile: LoadFileConfig | undefined, config: Pick<FlowrunConfig, 'flowDirectory' | 'workingDirectory'>): LoadFileLimits {
  return {
    roots: loadFile?.roots ?? [config.flowDirectory ?? config.workingDirectory],
    maxBytes: loadFile?.maxBytes ?? DEFAULT_LOAD_FILE_MAX_BYTES,
  };
}
