import { describe, expect, it } from 'vitest';
import type { Message } from 'vscode-jsonrpc';
import { FlowrunError } from '../../src/errors.js';
import { spawnStdioProcess } from '../../src/transport/child-process.js';
import { captureLogger, LEVEL } from './capture-logger.js';
import { waitFor } from '../support/wait-for.js';

/** A child that writes 60 stderr lines, then echoes every stdin line to stdout with `echoed: true`. */
const ECHO_CHILD = `
for (let i = 1; i <= 60; i++) process.stderr.write('log line ' + i + '\\n');
let partial = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (partial + chunk).split('\\n');
  partial = lines.pop();
  for (const line of lines) process.stdout.write(JSON.stringify({ ...JSON.parse(line), echoed: true }) + '\\n');
});
`;

describe('spawnStdioProcess', () => {
  it('talks NDJSON over the child stdio and drains its stderr into the log and the tail', async () => {
    const { logger, records } = captureLogger();
    const proc = await spawnStdioProcess({ command: process.execPath, args: ['-e', ECHO_CHILD], env: { ...process.env }, name: 'echo', logger });
    expect(proc.pid).toBeGreaterThan(0);
    const got: Message[] = [];
    const closed = new Promise<void>((resolve) => proc.reader.onClose(() => resolve()));
    proc.reader.listen((m) => got.push(m));
    for (let id = 1; id <= 3; id++) void proc.writer.write({ jsonrpc: '2.0', id, method: 'ping' } as Message);
    await waitFor(() => got.length === 3);
    proc.writer.end();
    await closed;
    const exit = await proc.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(got).toEqual([1, 2, 3].map((id) => ({ jsonrpc: '2.0', id, method: 'ping', echoed: true })));

    const tail = proc.stderrTail();
    expect(tail).toHaveLength(50);
    expect(tail[0]).toBe('log line 11');
    expect(tail[49]).toBe('log line 60');
    const stderrLogs = records.filter((r) => r.level === LEVEL.debug && r.plugin === 'echo' && typeof r.stderr === 'string');
    expect(stderrLogs).toHaveLength(60);
  });

  it('passes exactly the given environment', async () => {
    const proc = await spawnStdioProcess({
      command: process.execPath,
      args: ['-e', `process.stdout.write(JSON.stringify({ foo: process.env.FOO ?? null, home: process.env.HOME ?? null }) + '\\n')`],
      env: { FOO: 'bar' },
    });
    const got = new Promise<Message>((resolve) => proc.reader.listen(resolve));
    expect(await got).toEqual({ foo: 'bar', home: null });
    await proc.exited;
  });

  it('rejects with an error naming the command when it cannot be started', async () => {
    const attempt = spawnStdioProcess({ command: 'flowrun-no-such-command-xyz', env: { ...process.env }, name: 'tools' });
    await expect(attempt).rejects.toBeInstanceOf(FlowrunError);
    await expect(attempt).rejects.toMatchObject({
      code: 'SPAWN_FAILED',
      plugin: 'tools',
      message: expect.stringMatching(/"flowrun-no-such-command-xyz".*not found \(ENOENT\)/),
    });
  });

  it('kills the child and reports the signal it died of', async () => {
    const proc = await spawnStdioProcess({ command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], env: { ...process.env } });
    proc.kill();
    expect(await proc.exited).toEqual({ code: null, signal: 'SIGTERM' });
    proc.kill(); // already gone: a no-op
  });
});
