import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowrun, lines } from '../support/cli.js';
import { BIN, fixturePath, MOCK_FLOWS, ROOT } from '../support/paths.js';
import { makeTempDir } from '../support/temp-dir.js';

const FLAKY = fixturePath('cli/flaky-server.mjs');

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('cli');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeFlowDir(name: string, files: Record<string, string>): Promise<string> {
  const d = join(dir, name);
  await rm(d, { recursive: true, force: true });
  await mkdir(d, { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(join(d, file), text);
  return d;
}

const FLAKY_CONFIG = `plugins:
  flaky: { type: stepflow, command: node, args: ["${FLAKY}"] }
routes:
  "/flaky/{*component}": [{ plugin: flaky }]
blobStore: { type: memory }
`;

describe('flowrun run', () => {
  it('runs the greeter example for one input and prints one FlowResult line', async () => {
    const r = await flowrun(['run', '--flow', 'examples/greeter/flow.yaml', '--input-json', '{"name":"Ada"}']);
    expect(r.stderr).not.toMatch(/Error:|\n\s+at /);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toEqual({ outcome: 'success', value: { greeting: 'Hello, Ada!', loud: 'HELLO, ADA!', name: 'ADA' } });
  });

  it('runs many inputs from JSONL and prints results in input order', async () => {
    const r = await flowrun(['run', '--flow', 'examples/greeter/flow.yaml', '--inputs', 'examples/greeter/inputs.jsonl', '--max-concurrency', '8']);
    expect(r.code).toBe(0);
    const results = lines(r.stdout).map((l) => JSON.parse(l));
    expect(results).toHaveLength(200);
    results.forEach((res, i) => expect(res.value.greeting).toMatch(new RegExp(` ${i}!$`)));
  });

  it('stops quietly when the reader of its output goes away (| head)', async () => {
    // Far more output than a pipe buffers, so writes after `head` exits meet EPIPE.
    const d = await writeFlowDir('epipe', { 'in.jsonl': Array.from({ length: 3000 }, (_, i) => JSON.stringify({ name: `n${i}` })).join('\n') });
    const r = await new Promise<{ stderr: string; stdout: string }>((resolvePromise) => {
      const cmd = `"${process.execPath}" "${BIN}" run --flow examples/greeter/flow.yaml --inputs "${join(d, 'in.jsonl')}" | head -1`;
      execFile('/bin/sh', ['-c', cmd], { cwd: ROOT, timeout: 60_000 }, (_err, stdout, stderr) =>
        resolvePromise({ stdout, stderr }),
      );
    });
    expect(lines(r.stdout)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/EPIPE|\n\s+at /);
  });

  it('exits 1 with the failure when the item fails', async () => {
    const r = await flowrun(['run', '--flow', 'examples/greeter/flow.yaml', '--input-json', '{"name":42}']);
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout);
    expect(result.outcome).toBe('failed');
    expect(result.error).toMatchObject({ code: 500, message: 'step "greet" failed', data: { stepId: 'greet', cause: { code: -32602 } } });
    expect(JSON.stringify(result.error.data.cause)).toContain('name');
  });

  it("runs a mock-plugin flow in Stepflow's format, input inline or from a JSON file", async () => {
    const inline = await flowrun(['run', '--flow', join(MOCK_FLOWS, 'translate.yaml'), '--input-json', '{"word":"three"}']);
    expect(inline.code).toBe(0);
    expect(lines(inline.stdout)).toHaveLength(1);
    expect(JSON.parse(inline.stdout)).toEqual({ outcome: 'success', value: { translation: 'tres', letters: 4, vowels: 1 } });

    const fromFile = await flowrun(['run', '--flow', join(MOCK_FLOWS, 'translate.yaml'), '--input', join(MOCK_FLOWS, 'input.json')]);
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toEqual({ outcome: 'success', value: { translation: 'uno', letters: 3, vowels: 2 } });
  });

  it('names the file and line of a YAML syntax error, exit 2', async () => {
    const d = await writeFlowDir('yaml-error', { 'flow.yaml': 'schema: https://stepflow.org/schemas/v1/flow.json\nsteps:\n  - id: a\n    component: [unclosed\n' });
    const r = await flowrun(['run', '--flow', join(d, 'flow.yaml'), '--input-json', '{}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(join(d, 'flow.yaml'));
    expect(r.stderr).toMatch(/flow\.yaml:\d+/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('names the step and field of an invalid flow, exit 2', async () => {
    const d = await writeFlowDir('bad-ref', {
      'flow.yaml': 'steps:\n  - id: a\n    component: /builtin/eval\n    input: { x: { $step: ghost } }\noutput: { $step: a }\n',
    });
    const r = await flowrun(['run', '--flow', join(d, 'flow.yaml'), '--input-json', '{}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ghost');
    expect(r.stderr).toContain('step "a"');
    expect(r.stderr).toContain('flow.yaml');
  });

  it('names the file and field of a bad config, exit 2', async () => {
    const d = await writeFlowDir('bad-config', {
      'flowrun.yaml': 'plugins:\n  tools: { type: nonsense }\nroutes: {}\n',
      'flow.yaml': 'steps: []\noutput: 1\n',
    });
    const r = await flowrun(['run', '--flow', join(d, 'flow.yaml'), '--input-json', '{}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('flowrun.yaml');
    expect(r.stderr).toContain('plugins.tools');
  });

  it('reports a bad JSONL line by file and line', async () => {
    const d = await writeFlowDir('bad-jsonl', { 'in.jsonl': '{"name":"a"}\n{oops\n' });
    const r = await flowrun(['run', '--flow', 'examples/greeter/flow.yaml', '--inputs', join(d, 'in.jsonl')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(d, 'in.jsonl')}:2`);
  });

  it('skips garbage a component server prints, and fails items clearly when it crashes', async () => {
    const d = await writeFlowDir('flaky', {
      'flowrun.yaml': FLAKY_CONFIG,
      'echo.yaml': 'steps:\n  - id: e\n    component: /flaky/echo\n    input: { value: { $input: v } }\noutput: { $step: e, path: value }\n',
      'crash.yaml': 'steps:\n  - id: boom\n    component: /flaky/crash\n    input: {}\noutput: { $step: boom }\n',
    });
    const echo = await flowrun(['run', '--flow', join(d, 'echo.yaml'), '--input-json', '{"v":42}']);
    expect(echo.code).toBe(0);
    expect(JSON.parse(echo.stdout)).toEqual({ outcome: 'success', value: 42 });

    const crash = await flowrun(['run', '--flow', join(d, 'crash.yaml'), '--input-json', '{}']);
    expect(crash.code).toBe(1);
    const result = JSON.parse(crash.stdout);
    expect(result.error).toMatchObject({ code: 500, message: 'step "boom" failed', data: { cause: { code: -32005 } } });
    expect(JSON.stringify(result.error.data.cause)).toContain('flaky');
  });
});

describe('flowrun test', () => {
  it('passes the examples’ test cases', async () => {
    const r = await flowrun(['test', 'examples']);
    expect(r.stderr).toMatch(/\b(\d+) passed, 0 failed/);
    expect(r.code).toBe(0);
  });

  it("passes the test cases of the mock-plugin flows in Stepflow's format: outcomes, codes, messages, partial data", async () => {
    const r = await flowrun(['test', MOCK_FLOWS]);
    expect(r.stderr).toContain('11 passed, 0 failed');
    expect(r.code).toBe(0);
  });

  it('uses a flow\'s inline test.config, mock behaviours keyed by YAML mappings included', async () => {
    const d = await writeFlowDir('inline-config', {
      'flow.yaml': [
        'schema: https://stepflow.org/schemas/v1/flow.json',
        'steps:',
        '  - id: m',
        '    component: /mock/double',
        '    input: { x: { $input: x } }',
        'output: { $step: m, path: y }',
        'test:',
        '  config:',
        '    plugins:',
        '      mock:',
        '        type: mock',
        '        components:',
        '          /double:',
        '            behaviors:',
        '              { x: 1 }:',
        '                outcome: success',
        '                result: { y: 2 }',
        '              { x: 2 }:',
        '                outcome: success',
        '                result: { y: 4 }',
        '    routes:',
        '      "/mock/{component}": [{ plugin: mock }]',
        '  cases:',
        '    - { name: one, input: { x: 1 }, output: { outcome: success, result: 2 } }',
        '    - { name: two, input: { x: 2 }, output: { outcome: success, value: 4 } }',
      ].join('\n'),
    });
    const r = await flowrun(['test', join(d, 'flow.yaml')]);
    expect(r.stderr).toContain('2 passed, 0 failed');
    expect(r.code).toBe(0);
  });

  it('fails a case whose expectation does not match, naming the path', async () => {
    const d = await writeFlowDir('failing-test', {
      'flowrun.yaml': FLAKY_CONFIG,
      'flow.yaml': [
        'schema: https://stepflow.org/schemas/v1/flow.json',
        'steps:',
        '  - id: e',
        '    component: /flaky/echo',
        '    input: { value: { $input: v } }',
        'output: { got: { $step: e, path: value } }',
        'test:',
        '  cases:',
        '    - name: right',
        '      input: { v: 1 }',
        '      output: { outcome: success, result: { got: 1 } }',
        '    - name: wrong',
        '      input: { v: 1 }',
        '      output: { outcome: success, value: { got: 2 } }',
      ].join('\n'),
    });
    const r = await flowrun(['test', join(d, 'flow.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('1 passed, 1 failed');
    expect(r.stderr).toContain('$.got');
  });
});

describe('flowrun validate and components', () => {
  it('accepts a valid flow and reports a step without a route', async () => {
    expect((await flowrun(['validate', 'examples/greeter/flow.yaml'])).code).toBe(0);
    const d = await writeFlowDir('no-route', {
      'flowrun.yaml': FLAKY_CONFIG,
      'flow.yaml': 'steps:\n  - id: a\n    component: /nowhere/x\noutput: { $step: a }\n',
    });
    const r = await flowrun(['validate', join(d, 'flow.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('step "a"');
    expect(r.stdout).toContain('/nowhere/x');
  });

  it('lists every routed component of a config', async () => {
    const r = await flowrun(['components', '--config', 'examples/greeter/flowrun.yaml']);
    expect(r.code).toBe(0);
    const names = lines(r.stdout).map((l) => JSON.parse(l).component);
    expect(names).toEqual(expect.arrayContaining(['/greeter/greet', '/greeter/shout', '/builtin/eval', '/builtin/map']));
  });

  it('prints usage for an unknown command, exit 2', async () => {
    const r = await flowrun(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });
});
