import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../protocol/index.js';
import { loadConfig, type MockPluginConfig } from '../../src/config/index.js';
import { ComponentError } from '../../src/plugins/component-error.js';
import { MockPlugin } from '../../src/plugins/mock-plugin.js';
import type { ComponentCall } from '../../src/plugins/plugin.js';

const scope = { runId: 'r', itemIndex: 0, stepId: 's', flowId: 'sha256:0' };
const call = (component: string, input: unknown, extra: Partial<ComponentCall> = {}): ComponentCall => ({ component, input, attempt: 1, scope, ...extra });

async function conformancePlugin(): Promise<MockPlugin> {
  const config = await loadConfig({ configPath: '/work/shared/conformance/stepflow-mock/stepflow-config.yml', env: {} });
  return new MockPlugin('mock', config.plugins.mock as MockPluginConfig);
}

async function failure(promise: Promise<unknown>): Promise<ComponentError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ComponentError);
  return error as ComponentError;
}

describe('MockPlugin with the conformance behaviours', () => {
  it('returns the success value of the behaviour whose input matches', async () => {
    const plugin = await conformancePlugin();
    expect(await plugin.execute(call('/one_output', { input: 'hello' }))).toEqual({ outcome: 'success', value: { output: 'world' } });
    expect(await plugin.execute(call('/two_outputs', { input: 'world' }))).toEqual({ outcome: 'success', value: { x: 2, y: 8 } });
  });

  it('returns a failed behaviour as a failed FlowResult with its own code', async () => {
    const plugin = await conformancePlugin();
    expect(await plugin.execute(call('/error', { mode: 'error' }))).toEqual({ outcome: 'failed', error: { code: 8, message: 'error' } });
  });

  it('matches an explicit null, and not a missing key', async () => {
    const plugin = await conformancePlugin();
    expect(await plugin.execute(call('/handle_skip', { input: null }))).toEqual({ outcome: 'success', value: { output: 'received null' } });
    const error = await failure(plugin.execute(call('/handle_skip', {})));
    expect(error.error.code).toBe(ErrorCodes.ComponentExecutionFailed);
  });

  it('fails with -32004 naming component and compact input when no behaviour matches', async () => {
    const plugin = await conformancePlugin();
    const error = await failure(plugin.execute(call('/one_output', { input: 'zzz', n: [1, 2] })));
    expect(error.error.code).toBe(ErrorCodes.ComponentExecutionFailed);
    expect(error.error.message).toBe('No behavior defined for /one_output on {"input":"zzz","n":[1,2]}');
  });

  it('fails with -32001 for a component it does not have', async () => {
    const plugin = await conformancePlugin();
    const error = await failure(plugin.execute(call('/nope', {})));
    expect(error.error.code).toBe(ErrorCodes.ComponentNotFound);
    expect(error.error.message).toContain('/nope');
  });

  it('lists its components with their schemas', async () => {
    const plugin = await conformancePlugin();
    const components = await plugin.listComponents();
    expect(components.map((c) => c.component)).toEqual(['/one_output', '/two_outputs', '/error', '/handle_skip']);
    expect(components[0]).toEqual({
      component: '/one_output',
      input_schema: { type: 'object', properties: { input: { type: 'string' } } },
      output_schema: { type: 'object', properties: { output: { type: 'string' } } },
    });
  });
});

describe('MockPlugin', () => {
  const plugin = new MockPlugin('m', {
    components: {
      '/c': {
        description: 'a component',
        behaviors: [
          { input: { a: 1, b: { c: [1, 2] } }, behavior: { outcome: 'success', value: { out: [1] } } },
          { input: { mode: 'boom' }, behavior: { error: 'some text' } },
          { input: 1, behavior: { outcome: 'success', value: 'one' } },
        ],
      },
    },
  });

  it('ignores key order when matching inputs', async () => {
    expect(await plugin.execute(call('/c', { b: { c: [1, 2] }, a: 1 }))).toEqual({ outcome: 'success', value: { out: [1] } });
    expect(await plugin.execute(call('/c', 1))).toEqual({ outcome: 'success', value: 'one' });
  });

  it('rejects with -32004 carrying the message of an {error} behaviour', async () => {
    const error = await failure(plugin.execute(call('/c', { mode: 'boom' })));
    expect(error.error).toEqual({ code: ErrorCodes.ComponentExecutionFailed, message: 'some text' });
    expect(error.component).toBe('/c');
    expect(error.stepId).toBe('s');
  });

  it('hands out copies, so a caller cannot change the canned value', async () => {
    const first = await plugin.execute(call('/c', { a: 1, b: { c: [1, 2] } }));
    ((first as { value: { out: number[] } }).value.out).push(99);
    expect(await plugin.execute(call('/c', { a: 1, b: { c: [1, 2] } }))).toEqual({ outcome: 'success', value: { out: [1] } });
  });

  it('rejects a call whose signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await failure(plugin.execute(call('/c', 1, { signal: controller.signal })));
    expect(error.error.code).toBe(ErrorCodes.RequestCancelled);
  });

  it('lists the description', async () => {
    expect(await plugin.listComponents()).toEqual([{ component: '/c', description: 'a component' }]);
  });
});
