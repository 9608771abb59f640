import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { FlowResult } from '../../protocol/index.js';
import { parseConfig } from '../../src/config/index.js';
import { Runtime } from '../../src/runtime.js';
import { fixturePath, requireBuilt } from '../support/paths.js';
import { makeTempDir } from '../support/temp-dir.js';

/**
 * Which setting wins (docs/precedence.md), one knob at a time, each level over the next, with a
 * real stdio component server: a per-call timeout shows in the -32006 it causes (its data names
 * the timeout that applied), transport retries in the attempts a crashing component logged.
 */
let dir: string;
/** `defaults:` in its config and two plugins: `set` with its own settings, `plain` without. */
let configured: Runtime;
/** No `defaults:` nor `variables:`, one plugin without settings: the built-in defaults. */
let builtin: Runtime;

const attemptsFile = () => join(dir, 'attempts.jsonl');

function plugin(settings: string): string {
  return `{ type: stepflow, command: node, args: [${JSON.stringify(fixturePath('precedence-server.mjs'))}], env: { PRECEDENCE_ATTEMPTS: ${JSON.stringify(attemptsFile())} }${settings} }`;
}

function runtimeOf(yaml: string): Promise<Runtime> {
  return Runtime.create({ config: parseConfig(parseYaml(yaml), { workingDirectory: dir, env: {}, file: join(dir, 'flowrun.yaml') }) });
}

beforeAll(async () => {
  requireBuilt('dist/src/sdk/index.js');
  dir = await makeTempDir('precedence');
  configured = await runtimeOf(`plugins:
  set: ${plugin(', timeoutMs: 450, transportRetries: 2')}
  plain: ${plugin('')}
routes:
  "/set/{*component}": [{ plugin: set }]
  "/plain/{*component}": [{ plugin: plain }]
blobStore: { type: memory }
defaults: { timeoutMs: 550, transportRetries: 1 }
variables: { v: from-config }
`);
  builtin = await runtimeOf(`plugins:
  plain: ${plugin('')}
routes:
  "/plain/{*component}": [{ plugin: plain }]
blobStore: { type: memory }
`);
}, 60_000);
afterAll(async () => {
  await configured?.close();
  await builtin?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The one result of a one-step flow over one input. */
async function resultOf(runtime: Runtime, step: Record<string, unknown>, input: unknown, params: Record<string, unknown> = {}): Promise<FlowResult> {
  const flow = { name: 'precedence', steps: [{ id: 's', input: { $input: '$' }, ...step }], output: { $step: 's' } };
  const handle = await runtime.submit({ flow, inputs: [input], wait: true, ...params });
  return handle.submitted!.results![0].result!;
}

/** The timeout a call of /sleep (long) hit, read from the -32006 that failed its step. */
async function timeoutApplied(runtime: Runtime, component: string, step: Record<string, unknown> = {}, params: Record<string, unknown> = {}): Promise<number> {
  const result = await resultOf(runtime, { component, ...step }, { ms: 30_000 }, params);
  expect(result).toMatchObject({ outcome: 'failed', error: { data: { cause: { code: -32006 } } } });
  return (result as { error: { data: { cause: { data: { timeoutMs: number } } } } }).error.data.cause.data.timeoutMs;
}

/** How many times /die was called for `tag` (the first call and every transport retry). */
async function callsOf(runtime: Runtime, component: string, tag: string, params: Record<string, unknown> = {}): Promise<number> {
  const result = await resultOf(runtime, { component }, { tag }, params);
  expect(result).toMatchObject({ outcome: 'failed', error: { data: { cause: { code: -32005 } } } });
  const lines = (await readFile(attemptsFile(), 'utf8')).split('\n').filter((line) => line !== '');
  const attempts = lines.map((line) => JSON.parse(line) as { tag: string; attempt: number }).filter((a) => a.tag === tag);
  // Each retry is the next attempt.
  expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, k) => k + 1));
  return attempts.length;
}

describe('precedence: a component call\'s timeoutMs', () => {
  const noRetry = { defaults: { transportRetries: 0 } };

  it('the step\'s timeoutMs wins over the run\'s defaults', async () => {
    expect(await timeoutApplied(configured, '/set/sleep', { timeoutMs: 250 }, { defaults: { timeoutMs: 350 } })).toBe(250);
  });

  it('the run\'s defaults win over the plugin\'s timeoutMs', async () => {
    expect(await timeoutApplied(configured, '/set/sleep', {}, { defaults: { timeoutMs: 350 } })).toBe(350);
  });

  it('the plugin\'s timeoutMs wins over the config\'s defaults', async () => {
    expect(await timeoutApplied(configured, '/set/sleep', {}, noRetry)).toBe(450);
  });

  it('the config\'s defaults win over the built-in default', async () => {
    expect(await timeoutApplied(configured, '/plain/sleep', {}, noRetry)).toBe(550);
  });

  it('the built-in default (5 min) applies when nothing is set', async () => {
    expect(await resultOf(builtin, { component: '/plain/sleep' }, { ms: 800 })).toEqual({ outcome: 'success', value: { slept: 800 } });
  });
});

describe('precedence: a component call\'s transportRetries', () => {
  it('the run\'s defaults win over the plugin\'s', async () => {
    expect(await callsOf(configured, '/set/die', 'run', { defaults: { transportRetries: 0 } })).toBe(1);
  });

  it('the plugin\'s win over the config\'s defaults', async () => {
    expect(await callsOf(configured, '/set/die', 'plugin')).toBe(3);
  });

  it('the config\'s defaults win over the built-in default', async () => {
    expect(await callsOf(configured, '/plain/die', 'config')).toBe(2);
  });

  it('the built-in default is 3 retries', async () => {
    expect(await callsOf(builtin, '/plain/die', 'builtin')).toBe(4);
  });
});

describe('precedence: settings refused', () => {
  it('refuses bad run defaults at submit, naming the field (-32602)', async () => {
    const flow = { steps: [], output: 1 };
    for (const [defaults, field] of [[{ timeoutMs: 0 }, 'defaults.timeoutMs'], [{ transportRetries: -1 }, 'defaults.transportRetries'], [{ retries: 1 }, 'defaults']] as const) {
      const error = await configured.submit({ flow, inputs: [1], defaults: defaults as never }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: -32602 });
      expect((error as Error).message).toContain(field);
    }
  });

  it('refuses bad config defaults and variables, naming the field', () => {
    const parse = (value: unknown) => () => parseConfig(value, { workingDirectory: dir, env: {}, file: join(dir, 'flowrun.yaml') });
    expect(parse({ defaults: { timeoutMs: 0 } })).toThrow(/defaults\.timeoutMs/);
    expect(parse({ defaults: { transportRetries: 'many' } })).toThrow(/defaults\.transportRetries/);
    expect(parse({ defaults: { retries: 1 } })).toThrow(/defaults/);
    expect(parse({ variables: ['not', 'an', 'object'] })).toThrow(/variables/);
  });
});

describe('precedence: $variable', () => {
  const withSchemaDefault = { schemas: { variables: { properties: { v: { default: 'from-schema' } } } } };
  const output = (fields: Record<string, unknown> = {}) => ({ $variable: 'v', ...fields });
  const value = async (runtime: Runtime, flowFields: Record<string, unknown>, out: unknown, variables?: Record<string, unknown>) => {
    const handle = await runtime.submit({ flow: { name: 'vars', steps: [], output: out, ...flowFields }, inputs: [{}], wait: true, ...(variables && { variables }) });
    return handle.submitted!.results![0].result;
  };

  it('the run\'s variables win over the flow\'s variables schema default', async () => {
    expect(await value(configured, withSchemaDefault, output({ default: 'from-expression' }), { v: 'from-run' })).toEqual({ outcome: 'success', value: 'from-run' });
  });

  it('the variables schema default wins over the expression\'s default', async () => {
    expect(await value(configured, withSchemaDefault, output({ default: 'from-expression' }))).toEqual({ outcome: 'success', value: 'from-schema' });
  });

  it('the expression\'s default wins over the config\'s variables', async () => {
    expect(await value(configured, {}, output({ default: 'from-expression' }))).toEqual({ outcome: 'success', value: 'from-expression' });
  });

  it('the config\'s variables come last; without any, the variable is not defined', async () => {
    expect(await value(configured, {}, output())).toEqual({ outcome: 'success', value: 'from-config' });
    expect(await value(builtin, {}, output())).toMatchObject({ outcome: 'failed', error: { code: -32009 } });
  });
});
