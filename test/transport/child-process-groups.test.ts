import { describe, expect, it } from 'vitest';
import { spawnStdioProcess } from '../../src/transport/child-process.js';
import { isAlive, waitUntilGone } from './process-liveness.js';

/** A child that starts a grandchild (printing its pid on stderr), then, by `mode`, exits on stdin's end or ignores it. */
function childScript(mode: 'polite' | 'ignores-stdin' | 'ignores-sigterm'): string {
  return `
const { spawn } = require('node:child_process');
const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
process.stderr.write('grandchild ' + g.pid + '\\n');
${mode === 'ignores-sigterm' ? "process.on('SIGTERM', () => process.stderr.write('ignored SIGTERM\\n'));" : ''}
process.stdin.resume();
${mode === 'polite' ? "process.stdin.on('end', () => process.exit(0));" : 'setInterval(() => {}, 1000);'}
`;
}

async function spawnChild(mode: 'polite' | 'ignores-stdin' | 'ignores-sigterm') {
  const proc = await spawnStdioProcess({ command: process.execPath, args: ['-e', childScript(mode)], env: { ...process.env } });
  proc.reader.listen(() => undefined);
  let grandchild: number | undefined;
  while (grandchild === undefined) {
    const line = proc.stderrTail().find((l) => l.startsWith('grandchild '));
    if (line !== undefined) grandchild = Number(line.slice('grandchild '.length));
    else await new Promise((r) => setTimeout(r, 10));
  }
  expect(isAlive(grandchild)).toBe(true);
  return { proc, grandchild };
}

describe('spawnStdioProcess: process groups', () => {
  it('stop() ends a polite child by closing its stdin, and its grandchild with it', async () => {
    const { proc, grandchild } = await spawnChild('polite');
    expect(await proc.stop(10_000)).toEqual({ code: 0, signal: null });
    await waitUntilGone([proc.pid, grandchild]);
  });

  it('stop() sends SIGTERM to the group when stdin closing is not enough', async () => {
    const { proc, grandchild } = await spawnChild('ignores-stdin');
    expect(await proc.stop(200)).toEqual({ code: null, signal: 'SIGTERM' });
    await waitUntilGone([proc.pid, grandchild]);
  });

  it('stop() sends SIGKILL to the group after SIGTERM was ignored', async () => {
    const { proc, grandchild } = await spawnChild('ignores-sigterm');
    expect(await proc.stop(200)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(proc.stderrTail()).toContain('ignored SIGTERM');
    await waitUntilGone([proc.pid, grandchild]);
  });

  it('kill() signals the whole group', async () => {
    const { proc, grandchild } = await spawnChild('ignores-stdin');
    proc.kill('SIGKILL');
    expect(await proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await waitUntilGone([proc.pid, grandchild]);
  });
});
