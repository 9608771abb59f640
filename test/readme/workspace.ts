import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TEMP_ROOT } from '../support/temp-dir.js';

/** The repository root (this file is `test/readme/workspace.ts`). */
export const ROOT = resolve(import.meta.dirname, '../..');
/** The built CLI: what `npx flowrun` runs once the package is installed (package.json `bin`). */
export const BIN = join(ROOT, 'dist/src/cli/bin.js');

/**
 * A stand-in for the repository root in a temp dir: a copy of `examples/` and `package.json`, and
 * links to the built `dist/` and to `node_modules`. Commands run there write their `.flowrun/`
 * state and blobs into it, not into the checkout.
 */
export async function createRepoCopy(): Promise<{ dir: string; remove(): Promise<void> }> {
  const base = TEMP_ROOT;
  const dir = await mkdtemp(join(base, 'flowrun-readme-'));
  await cp(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
  await cp(join(ROOT, 'package.json'), join(dir, 'package.json'));
  await symlink(join(ROOT, 'dist'), join(dir, 'dist'), 'dir');
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` with `sh -c` in `cwd`; a command still running after `timeoutMs` is killed. */
export function runShell(command: string, cwd: string, env: NodeJS.ProcessEnv = process.env, timeoutMs = 120_000): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** A long-running command (`serve`), with what it wrote so far. */
export interface BackgroundCommand {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line that `ready` accepts; rejects if the process ends first. */
  ready: Promise<string>;
  /** SIGTERM, then the exit code (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<number | null>;
}

/** Starts `command` (`exec`ed by sh, so signals reach it) and watches stdout for a line `ready` accepts. */
export function startBackground(command: string, cwd: string, env: NodeJS.ProcessEnv, ready: (line: string) => boolean, timeoutMs = 60_000): BackgroundCommand {
  const child = spawn('sh', ['-c', `exec ${command}`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const readyLine = new Promise<string>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs} ms: ${command}\n${stderr}`)), timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      const line = stdout.split('\n').find(ready);
      if (line !== undefined) {
        clearTimeout(timer);
        resolveReady(line);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before it was ready: ${command}\n${stderr}`));
    });
  });
  readyLine.catch(() => {});
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    ready: readyLine,
    async stop(stopTimeoutMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
