import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'dist/src/cli/bin.js');
const FLOWS = join(ROOT, 'test/fixtures/stepflow-builtins');

/** Runs `flowrun test` on the Stepflow-style builtin flows, from their directory (no config: the default builtin routes). */
function flowrunTest(): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, 'test', '.'], { cwd: FLOWS, timeout: 60_000, env: { ...process.env, FLOWRUN_LOG_LEVEL: 'warn' } }, (err, _out, stderr) => {
      done({ code: err ? Number(err.code ?? -1) : 0, stderr });
    });
  });
}

describe('flows written for Stepflow\'s builtins', () => {
  it('pass their own test cases unchanged, without a warning about their legacy keys', async () => {
    const { code, stderr } = await flowrunTest();
    expect(stderr).not.toMatch(/warning/i);
    for (const name of ['runs the stored flow', 'a file beside the flow', "a file outside the flow's directory", 'two names and a number', 'no names']) {
      expect(stderr).toContain(name);
    }
    expect(code).toBe(0);
  });
});
