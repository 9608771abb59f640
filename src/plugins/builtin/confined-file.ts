import { constants, type Stats } from 'node:fs';
import { open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import { sep } from 'node:path';
import { ErrorCodes } from '../../../protocol/index.js';
import { ComponentError } from '../../calls/component-error.js';
import type { LoadFileLimits } from './load-file-limits.js';

/** A file `/load_file` is asked for: the path as given and as resolved against the working directory. */
export interface RequestedFile {
  path: string;
  resolvedPath: string;
}

// Never block opening a FIFO, never follow a symlink swapped in after realpath (0 where the OS lacks them).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
const READ_CHUNK_BYTES = 64 * 1024;

/**
 * Reads a file below the allowed roots, at most `maxBytes` of it (docs/builtins.md). Refuses with
 * -32007 a path outside the roots, before or after resolving symlinks; with -32012 anything but a
 * regular file and a file over the cap; with -32011 a missing file.
 */
export async function readConfinedFile(file: RequestedFile, limits: LoadFileLimits, signal?: AbortSignal): Promise<Buffer> {
  const realRoots = await realRootsOf(limits.roots);
  if (!isBelowAny(file.resolvedPath, [...limits.roots, ...realRoots])) throw outsideRoots(file, limits.roots, 'is');
  const real = await osCall(file, () => realpath(file.resolvedPath));
  if (!isBelowAny(real, realRoots)) throw outsideRoots(file, limits.roots, 'leads through a symlink');
  // stat before open: opening a device can have effects of its own.
  checkRegularFile(file, await osCall(file, () => stat(real)), limits.maxBytes);
  const handle = await osCall(file, () => open(real, OPEN_FLAGS));
  try {
    // The path may have changed since realpath (a directory swapped for a symlink): check what was opened.
    const opened = await openedPath(handle);
    if (opened !== undefined && !isBelowAny(opened, realRoots)) throw outsideRoots(file, limits.roots, 'leads through a symlink');
    // fstat on the open file: the path may have been replaced since.
    const stats = await handle.stat();
    checkRegularFile(file, stats, limits.maxBytes);
    return await readAtMost(handle, file, stats.size, limits.maxBytes, signal);
  } finally {
    await handle.close();
  }
}

/** Reads to the end, but never more than `maxBytes + 1` bytes: a file may grow after fstat. */
async function readAtMost(handle: FileHandle, file: RequestedFile, size: number, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  let want = Math.min(size + 1, maxBytes + 1);
  while (want > 0) {
    if (signal?.aborted) throw new DOMException('load_file was aborted', 'AbortError');
    const buffer = Buffer.allocUnsafe(want);
    const { bytesRead } = await handle.read(buffer, 0, want, null);
    if (bytesRead === 0) break;
    chunks.push(buffer.subarray(0, bytesRead));
    total += bytesRead;
    want = Math.min(READ_CHUNK_BYTES, maxBytes + 1 - total);
  }
  if (total > maxBytes) throw tooLarge(file, maxBytes);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}

function checkRegularFile(file: RequestedFile, stats: Stats, maxBytes: number): void {
  if (!stats.isFile()) {
    throw fileError(ErrorCodes.InvalidValue, `Not a regular file: ${file.resolvedPath} is ${kindOf(stats)}; load_file reads regular files only`, file);
  }
  if (stats.size > maxBytes) throw tooLarge(file, maxBytes);
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** Where an open file really is, where the OS tells (Linux `/proc/self/fd`); undefined elsewhere. */
async function openedPath(handle: FileHandle): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  return readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
}

/** The roots with symlinks resolved; a root that does not exist (yet) holds nothing. */
async function realRootsOf(roots: readonly string[]): Promise<string[]> {
  const real = await Promise.all(roots.map((root) => realpath(root).catch(() => undefined)));
  return real.filter((root): root is string => root !== undefined);
}

function isBelowAny(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep));
}

/** Runs a file system call, turning its failure into a ComponentError naming the file. */
async function osCall<T>(file: RequestedFile, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw fileError(ErrorCodes.NotFound, `File not found: ${file.resolvedPath}`, file, err);
    if (code === 'EACCES' || code === 'EPERM') throw fileError(ErrorCodes.PermissionDenied, `Permission denied reading ${file.resolvedPath}`, file, err);
    // ELOOP: the file became a symlink after realpath; it is not read.
    if (code === 'ELOOP') throw fileError(ErrorCodes.PermissionDenied, `Permission denied: ${file.resolvedPath} was replaced by a symlink while being opened`, file, err);
    throw fileError(ErrorCodes.ComponentExecutionFailed, `Cannot read ${file.resolvedPath}: ${(err as Error).message}`, file, err);
  }
}

function outsideRoots(file: RequestedFile, roots: readonly string[], how: string): ComponentError {
  return fileError(
    ErrorCodes.PermissionDenied,
    `Permission denied: ${file.path} ${how} outside the directories load_file may read (${roots.join(', ')}; see builtin.loadFile.roots)`,
    file,
  );
}

function tooLarge(file: RequestedFile, maxBytes: number): ComponentError {
  return fileError(
    ErrorCodes.InvalidValue,
    `File too large: ${file.resolvedPath} is over load_file's limit of ${maxBytes} bytes (builtin.loadFile.maxBytes)`,
    file,
    undefined,
    { max_bytes: maxBytes },
  );
}

function fileError(code: number, message: string, file: RequestedFile, cause?: unknown, extra: Record<string, unknown> = {}): ComponentError {
  return new ComponentError({ code, message, data: { path: file.path, resolved_path: file.resolvedPath, ...extra } }, { component: '/load_file', cause });
}
