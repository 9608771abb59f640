import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../support/paths.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { lines, runCli } from './cli-process.js';

const GREETER = 'examples/greeter/flow.yaml';
const ADA = { outcome: 'success', value: { greeting: 'Hello, Ada!', loud: 'HELLO, ADA!', name: 'ADA' } };

let ws: Workspace;
beforeAll(async () => {
  ws = await createWorkspace();
});
afterAll(async () => {
  await ws.remove();
});

describe('help and version', () => {
  it.each(['run', 'test', 'validate', 'components', 'serve', 'submit', 'get', 'items', 'rerun', 'compare', 'cancel', 'delete', 'gc', 'list', 'nodes', 'workers', 'watch'])('%s --help prints usage with an example on stdout, exit 0', async (command) => {
    const r = await runCli([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`flowrun ${command}`);
    expect(r.stdout).toMatch(/examples?:\n {2}(\S+=\S+ )*flowrun /);
  });

  it('flowrun --help lists the commands on stdout; --version prints the package version', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('submit');
    const version = await runCli(['--version']);
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version.code).toBe(0);
    expect(version.stdout).toBe(`${pkg.version}\n`);
  });
});

describe('flowrun run input', () => {
  it('reads one JSON input from stdin when no input option is given', async () => {
    const r = await runCli(['run', '--flow', GREETER], { input: '{"name":"Ada"}' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(ADA);
  });

  it('reads YAML (--stdin-format yaml) and JSON lines (--stdin-format jsonl) from stdin', async () => {
    const yaml = await runCli(['run', '--flow', GREETER, '--stdin-format', 'yaml'], { input: 'name: Ada\n' });
    expect(JSON.parse(yaml.stdout)).toEqual(ADA);
    const jsonl = await runCli(['run', '--flow', GREETER, '--stdin-format', 'jsonl', '--max-concurrent', '1'], { input: '{"name":"Ada"}\n\n{"name":"Bo"}\n' });
    expect(jsonl.code).toBe(0);
    expect(lines(jsonl.stdout).map((l) => JSON.parse(l).value.name)).toEqual(['ADA', 'BO']);
  });

  it('says there is nothing to read when stdin is empty (exit 2)', async () => {
    const r = await runCli(['run', '--flow', GREETER]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('stdin: nothing to read');
  });

  it('takes --input-yaml, and names the flag of a bad value or the line of a bad stdin line (exit 2)', async () => {
    const ok = await runCli(['run', '--flow', GREETER, '--input-yaml', '{name: Ada}']);
    expect(JSON.parse(ok.stdout)).toEqual(ADA);
    const badLine = await runCli(['run', '--flow', GREETER, '--stdin-format', 'jsonl'], { input: '{"name":"a"}\n{nope\n' });
    expect(badLine.code).toBe(2);
    expect(badLine.stderr).toContain('stdin:2: invalid JSON');
    for (const [args, flag] of [
      [['--max-concurrent', '0', '--input-json', '{}'], '--max-concurrent'],
      [['--input-json', '{}', '--input-yaml', 'a: 1'], '--input-json and --input-yaml'],
      [['--stdin-format', 'xml'], '--stdin-format'],
      [['--order', 'sideways', '--input-json', '{}'], '--order'],
      [['--bogus'], "Unknown option '--bogus'"],
    ] as const) {
      const r = await runCli(['run', '--flow', GREETER, ...args], { input: '' });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(flag);
    }
  });
});

describe('flowrun test --diff and --update', () => {
  const FLOW = [
    '# a comment that --update keeps',
    'steps:',
    '  - id: e',
    '    component: /t/echo',
    '    input: { got: { $input: v } }',
    'output: { $step: e }',
    'test:',
    '  cases:',
    '    - name: right',
    '      input: { v: 1 }',
    '      output: { outcome: success, result: { got: 1 } }',
    '    - name: stale',
    '      input: { v: 2 }',
    '      output: { outcome: success, result: { got: 3 } }',
    '',
  ].join('\n');

  it('--diff shows expected and actual line by line; --update rewrites the failing case, then it passes', async () => {
    const flow = join(ws.dir, 'stale.yaml');
    await writeFile(flow, FLOW);
    const diff = await runCli(['test', flow, '--config', ws.config, '--diff']);
    expect(diff.code).toBe(1);
    expect(diff.stderr).toMatch(/\n {4}- {5}"got": 3\n {4}\+ {5}"got": 2\n/);

    const update = await runCli(['test', flow, '--config', ws.config, '--update']);
    expect(update.code).toBe(1);
    expect(update.stderr).toContain(`updated 1 expected output(s) in ${flow}`);
    const text = await readFile(flow, 'utf8');
    expect(text).toContain('# a comment that --update keeps');
    expect(text).toContain('output: { outcome: success, result: { got: 1 } }');
    expect(parseYaml(text).test.cases[1].output).toEqual({ outcome: 'success', result: { got: 2 } });

    const again = await runCli(['test', flow, '--config', ws.config]);
    expect(again.stderr).toContain('2 passed, 0 failed');
    expect(again.code).toBe(0);
  });
});

describe('progress bar on a terminal', () => {
  it('ends on a summary line with the counts and the elapsed time', async () => {
    const command = `"${process.execPath}" "${BIN}" run --flow ${GREETER} --inputs examples/greeter/inputs.jsonl --output ${join(ws.dir, 'progress.jsonl')}`;
    const out = await new Promise<string>((resolve) => {
      execFile('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, timeout: 60_000, env: { ...process.env, FLOWRUN_LOG_LEVEL: 'warn' } }, (_err, stdout) => resolve(stdout));
    });
    expect(out).toMatch(/200 items: 200 ok · 0 failed · 0 cancelled · [\d.]+ items\/s · elapsed [\dhms.]+\r?\n/);
  });
});

describe('logs', () => {
  it('are JSON lines on stderr when it is not a terminal', async () => {
    const r = await runCli(['run', '--flow', GREETER, '--input-json', '{"name":"Ada"}'], { env: { FLOWRUN_LOG_LEVEL: 'debug' } });
    expect(r.code).toBe(0);
    const logged = lines(r.stderr).map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(logged.map((l) => l.msg)).toContain('run submitted');
  });

  it('are readable lines on a terminal (a pseudo-terminal from script(1))', async () => {
    const command = `"${process.execPath}" "${BIN}" run --flow ${GREETER} --input-json '{"name":"Ada"}'`;
    const out = await new Promise<string>((resolve) => {
      execFile('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, timeout: 60_000, env: { ...process.env, FLOWRUN_LOG_LEVEL: 'debug' } }, (_err, stdout) => resolve(stdout));
    });
    expect(out).toMatch(/DEBUG.*run submitted/);
    expect(out).not.toContain('"msg":"run submitted"');
    expect(out).toContain('"greeting":"Hello, Ada!"');
  });
});
