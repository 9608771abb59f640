import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ErrorCodes } from '../../../protocol/index.js';
import { ComponentError } from '../component-error.js';
import { defineBuiltin, success } from './builtin-component.js';

const FileFormatSchema = z.enum(['json', 'yaml', 'text']);
type FileFormat = z.infer<typeof FileFormatSchema>;

/**
 * `/load_file`: reads a JSON, YAML or text file. Relative paths start at the working directory;
 * like Stepflow, any path is allowed.
 */
export const loadFileBuiltin = defineBuiltin({
  path: '/load_file',
  description: 'Reads a file (relative to the working directory) as JSON, YAML or text.',
  input: z.object({
    path: z.string().min(1),
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
    const bytes = await readOrFail(input.path, resolvedPath, call.signal);
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

async function readOrFail(path: string, resolvedPath: string, signal: AbortSignal | undefined): Promise<Buffer> {
  try {
    return await readFile(resolvedPath, { signal });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ABORT_ERR') throw err;
    const data = { path, resolved_path: resolvedPath };
    if (code === 'ENOENT') {
      throw fileError(ErrorCodes.NotFound, `File not found: ${resolvedPath}`, data, err);
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw fileError(ErrorCodes.PermissionDenied, `Permission denied reading ${resolvedPath}`, data, err);
    }
    throw fileError(ErrorCodes.ComponentExecutionFailed, `Cannot read ${resolvedPath}: ${(err as Error).message}`, data, err);
  }
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
