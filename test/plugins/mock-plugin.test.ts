import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../protocol/index.js';
import { loadConfig, type MockPluginConfig } from '../../src/config/index.js';
import { ComponentError } from '../../src/calls/component-error.js';
import { MockPlugin } from '../../src/plugins/mock-plugin.js';
import type { ComponentCall } from '../../src/calls/plugin.js';
import { rejectionOf } from '../support/errors.js';
import { MOCK_FLOWS } from '../support/paths.js';

const scope = { runId: 'r', itemIndex: 0, stepId: 's', flowId: 'sha256:0' };
const call = (component: string, input: unknown, extra: Partial<ComponentCall> = {}): ComponentCall => ({ component, input, attempt: 1, scope, ...extra });

/** The mock plugin of the fixture config in Stepflow's format. */
async function fixturePlugin(): Promise<MockPlugin> {
  const config = await loadConfig({ configPath: join(MOCK_FLOWS, 'stepflow-config.yml'), env: {} });
  return new MockPlugin('mock', config.plugins.mock as MockPluginConfig);
}

const failure = (promise: Promise<unknown>): Promise<ComponentError> => rejectionOf(promise, ComponentError);

describe("MockPlugin with behaviours written in Stepflow's format", () => {
  it('returns the success value of the behaviour whose input matches', async () => {
    const plugin = await fixturePlugin();
    expect(await plugin.execute(call('/lookup', { word: 'three' }))).toEqual({ outcome: 'success', value: { translation: 'tres' } });
    expect(await plugin.execute(call('/measure', { text: 'tres' }))).toEqual({ outcome: 'success', value: { letters: 4, vowels: 1 } });
  });

  it('returns a failed behaviour as a failed FlowResult with its own code', async () => {
    const plugin = await fixturePlugin();
    expect(await plugin.execute(call('/toggle', { mode: 'break' }))).toEqual({ outcome: 'failed', error: { code: 7, message: 'broken on purpose' } });
  });

  it('matches an explicit null, and not a missing key', async () => {
    const plugin = await fixturePlugin();
    expect(await plugin.execute(call('/nullable', { value: null }))).toEqual({ outcome: 'success', value: { output: 'got null' } });
    const error = await failure(plugin.execute(call('/nullable', {})));
    expect(error.error.code).toBe(ErrorCodes.ComponentExecutionFailed);
  });

  it('fails with -32004 naming component and compact input when no behaviour matches', async () => {
    const plugin = await fixturePlugin();
    const error = await failure(plugin.execute(call('/lookup', { word: 'zzz', n: [1, 2] })));
    expect(error.error.code).toBe(ErrorCodes.ComponentExecutionFailed);
    expect(error.error.message).toBe('No behavior defined for /lookup on {"word":"zzz","n":[1,2]}');
  });

  it('fails with -32001 for a component it does not have', async () => {
    const plugin = await fixturePlugin();
    const error = await failure(plugin.execute(call('/nope', {})));
    expect(error.error.code).toBe(ErrorCodes.ComponentNotFound);
    expect(error.error.message).toContain('/nope');
  });

  it('lists its components with their schemas', async () => {
    const plugin = await fixturePlugin();
    const components = await plugin.listComponents();
    expect(components.map((c) => c.component)).toEqual(['/lookup', '/measure', '/toggle', '/nullable']);
    expect(components[0]).toEqual({
      component: '/lookup',
      input_schema: { type: 'object', properties: { word: { type: 'string' } } },
      output_schema: { type: 'object', properties: { translation: { type: 'string' } } },
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
