import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntilGone } from '../transport/process-liveness.js';
import { makeTempDir } from '../support/temp-dir.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'dist/src/cli/bin.js');
const GRANDCHILD_SERVER = join(ROOT, 'test/fixtures/grandchild-server.mjs');

let dir: string;
beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npx tsc -p ." before these tests`);
  dir = await makeTempDir('wrapped');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const FLOW = `schema: https://stepflow.org/schemas/v1/flow.json
name: wrapped
steps:
  - id: echo
    component: /tools/echo
    input: { $input: x }
output: { $step: echo }
`;

describe('flowrun run with a component server wrapped in sh -c', () => {
  it('exits once the flow is done, leaving neither the server nor the grandchild it started', async () => {
    const pidsFile = join(dir, 'pids');
    const config = `plugins:
  tools:
    type: stepflow
    command: sh
    args: ["-c", '"${process.execPath}" "${GRANDCHILD_SERVER}"; exit $?']
    env: { FIXTURE_PIDS_FILE: "${pidsFile}" }
routes:
  "/tools/{*component}": [{ plugin: tools }]
blobStore: { type: memory }
`;
    await writeFile(join(dir, 'flow.yaml'), FLOW);
    await writeFile(join(dir, 'flowrun.yaml'), config);
    // Before process groups, the grandchild held the server's pipes and the run waited for it.
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(process.execPath, [BIN, 'run', '--flow', join(dir, 'flow.yaml'), '--input-json', '{"x":{"a":1}}'], { cwd: dir, timeout: 60_000 }, (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
    });
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ outcome: 'success', value: { a: 1 } });
    const pids = (await readFile(pidsFile, 'utf8')).trim().split(' ').map(Number);
    expect(pids).toHaveLength(2);
    await waitUntilGone(pids);
  });
});
