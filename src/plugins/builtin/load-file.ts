import { extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ErrorCodes } from '../../../protocol/index.js';
import { ComponentError } from '../../calls/component-error.js';
import { defineBuiltin, success } from './builtin-component.js';
import { readConfinedFile } from './confined-file.js';

const FileFormatSchema = z.enum(['json', 'yaml', 'text']);
type FileFormat = z.infer<typeof FileFormatSchema>;

/**
 * `/load_file`: reads a JSON, YAML or text file. Relative paths start at the working directory, as
 * in Stepflow; unlike Stepflow, only regular files below the allowed roots and up to a size cap
 * are read (docs/builtins.md).
 */
export const loadFileBuiltin = defineBuiltin({
  path: '/load_file',
  description: 'Reads a file (relative to the working directory, below the allowed roots) as JSON, YAML or text.',
  input: z.object({
    path: z.string().min(1).refine((path) => !path.includes('\0'), 'must not contain a NUL character'),
    format: FileFormatSchema.nullish().describe('default by extension: .json, .yaml/.yml, else text'),
  }),
  output: z.object({
    data: z.unknown(),
    metadata: z.object({
      resolved_path: z.string(),
      size_bytes: z.number().int().nonnegative(),
      format: FileFormatSchema,
    }),
  }),
  async run(input, { host, call }) {
    const resolvedPath = resolve(host.workingDirectory, input.path);
    const format = input.format ?? formatOf(resolvedPath);
    const bytes = await readConfinedFile({ path: input.path, resolvedPath }, host.loadFile, call.signal);
    const data = parseOrFail(bytes.toString('utf8'), format, resolvedPath);
    return success({ data, metadata: { resolved_path: resolvedPath, size_bytes: bytes.byteLength, format } });
  },
});

/** The format a file's extension implies. */
export function formatOf(path: string): FileFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return 'text';
}

function parseOrFail(text: string, format: FileFormat, resolvedPath: string): unknown {
  try {
    if (format === 'json') return JSON.parse(text);
    if (format === 'yaml') return parseYaml(text);
    return text;
  } catch (err) {
    const reason = (err as Error).message;
    throw fileError(ErrorCodes.InvalidValue, `Cannot parse ${resolvedPath} as ${format}: ${reason}`, { resolved_path: resolvedPath, format, reason }, err);
  }
}

function fileError(code: number, message: string, data: unknown, cause: unknown): ComponentError {
  return new ComponentError({ code, message, data }, { component: '/load_file', cause });
}
