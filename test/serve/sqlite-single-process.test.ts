import { rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { runCli } from '../cli/cli-process.js';
import { spawnServe, type ServedProcess } from '../support/serve.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * A SQLite state file belongs to one process (docs/state-stores.md): a second `flowrun serve` or
 * `flowrun run` on it is refused at start, and the lock dies with its holder, even by SIGKILL.
 */
let dir: string;
let config: string;
const servers: ServedProcess[] = [];
beforeAll(async () => {
  dir = await makeTempDir('sqlite-lock');
  config = join(dir, 'flowrun.yaml');
  await writeFile(config, `plugins: {}\nroutes: {}\nstateStore: { type: sqlite, path: state.db }\n`);
  await writeFile(join(dir, 'flow.yaml'), `name: echo\nsteps: []\noutput: { $input: "x" }\n`);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await rm(dir, { recursive: true, force: true });
});

const REFUSAL = /state store \S*state\.db is in use by another flowrun process \(pid (\d+) on host (\S+)\); one process per SQLite file — stop it, or use a PostgreSQL state store to run several nodes/;

describe('one process per SQLite state file', () => {
  it('refuses a second serve and a run on a held file (exit 2, naming the holder), and starts again after SIGKILL of the holder', async () => {
    const first = await spawnServe(['--config', config]);
    servers.push(first);
    const client = await connect(first.url);
    const submitted = await client.submit({ flow: { name: 'echo', steps: [], output: { $input: 'x' } }, inputs: [{ x: 1 }] });
    expect((await submitted.wait()).status).toBe('success');
    client.close();

    const second = await runCli(['serve', '--port', '0', '--config', config]);
    expect(second.code).toBe(2);
    expect(second.stdout).toBe(''); // it never listened
    const [, pid, host] = second.stderr.match(REFUSAL) ?? [];
    expect(Number(pid)).toBe(first.child.pid);
    expect(host).toBe(hostname());
    expect(second.stderr).toMatch(/^flowrun serve: state store /m);

    const run = await runCli(['run', '--config', config, '--flow', join(dir, 'flow.yaml'), '--input-json', '{"x":1}']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(REFUSAL);

    first.child.kill('SIGKILL');
    await first.exited;
    const third = await spawnServe(['--config', config]);
    servers.push(third);
    const again = await connect(third.url);
    try {
      // The run the killed server finished is still there: the refused processes changed nothing.
      expect((await again.run(submitted.runId).status()).status).toBe('success');
    } finally {
      again.close();
    }
  });
});
