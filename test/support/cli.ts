import { spawn } from 'node:child_process';
import { BIN, ROOT } from './paths.js';

export interface CliResult {
  /** The exit code; -1 when killed by a signal (or by the bound below). */
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Default: the repository root, so relative paths like `examples/…` resolve. */
  cwd?: string;
}

/** A bound on one CLI run; far above what any test's command takes. */
const CLI_TIMEOUT_MS = 60_000;

/**
 * Runs the built CLI to completion; resolves with its exit code and output, never rejects on a
 * non-zero exit. Logs at `warn`, and no token inherited from the environment.
 */
export function flowrun(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, FLOWRUN_LOG_LEVEL: 'warn', FLOWRUN_TOKEN: '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** The non-blank lines of some output. */
export const lines = (text: string): string[] => text.split('\n').filter((line) => line.trim() !== '');
