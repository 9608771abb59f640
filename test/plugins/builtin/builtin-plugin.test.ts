import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { ComponentInfoSchema } from '../../../protocol/index.js';
import { BuiltinPlugin } from '../../../src/plugins/builtin/index.js';
import { callOf, componentError, fakeHost } from './fake-host.js';

describe('BuiltinPlugin', () => {
  it('lists the seven builtins with JSON Schemas of their input and output', async () => {
    const { plugin } = fakeHost();
    const infos = await plugin.listComponents();
    expect(infos.map((i) => i.component).sort()).toEqual(
      ['/create_messages', '/eval', '/get_blob', '/iterate', '/load_file', '/map', '/put_blob'],
    );
    for (const info of infos) {
      expect(ComponentInfoSchema.parse(info)).toEqual(info);
      expect(info.description).toBeTruthy();
      expect(info.input_schema).toMatchObject({ type: 'object' });
      expect(info.output_schema).toMatchObject({ type: 'object' });
    }
    const byName = new Map(infos.map((i) => [i.component, i]));
    expect(byName.get('/eval')!.input_schema).toMatchObject({ required: ['flow_id', 'input'] });
    expect(byName.get('/map')!.input_schema).toMatchObject({ required: ['workflow', 'items'] });
    // Defaulted fields may be omitted by the caller; the output always carries them.
    expect(byName.get('/iterate')!.input_schema).toMatchObject({ required: ['flow', 'initial_input'] });
    expect(byName.get('/iterate')!.output_schema).toMatchObject({ required: ['result', 'iterations', 'terminated'] });
  });

  it('publishes input schemas that accept valid inputs and reject invalid ones', async () => {
    const { plugin } = fakeHost();
    const ajv = new Ajv2020({ strict: false });
    const schemas = new Map((await plugin.listComponents()).map((i) => [i.component, ajv.compile(i.input_schema!)]));
    const flow = { steps: [{ id: 's', component: '/x' }], output: { $step: 's' } };
    expect(schemas.get('/map')!({ workflow: flow, items: [1] })).toBe(true);
    expect(schemas.get('/map')!({ workflow: { steps: [{ id: 's' }] }, items: [1] })).toBe(false);
    expect(schemas.get('/iterate')!({ flow, initial_input: null })).toBe(true);
    expect(schemas.get('/put_blob')!({ data: 1 })).toBe(true);
    expect(schemas.get('/get_blob')!({ blob_id: 'nope' })).toBe(false);
    expect(schemas.get('/load_file')!({ path: 'a.json', format: 'csv' })).toBe(false);
    expect(schemas.get('/create_messages')!({ system_instructions: 's' })).toBe(false);
  });

  it('is named by its config key and starts and closes without work', async () => {
    const { host } = fakeHost();
    const plugin = new BuiltinPlugin(host, 'tools');
    expect(plugin.name).toBe('tools');
    await plugin.start();
    await plugin.close();
  });

  it('refuses an unknown component with -32001 naming it', async () => {
    const { plugin } = fakeHost();
    const error = await componentError(plugin.execute(callOf('/openai', {})));
    expect(error).toMatchObject({ code: -32001, data: { component: '/openai' } });
    expect(error.message).toContain('/openai');
  });

  it('refuses an input that does not match the schema with -32602 naming the field', async () => {
    const { plugin } = fakeHost();
    const error = await componentError(plugin.execute(callOf('/eval', { flow_id: 42, input: 1 })));
    expect(error.code).toBe(-32602);
    expect(error.message).toContain('"flow_id"');
    expect(error.message).toContain('/eval');
    expect(error.data).toMatchObject({ component: '/eval', issues: [{ field: 'flow_id' }] });
  });

  it('refuses a non-object input with -32602', async () => {
    const { plugin } = fakeHost();
    const error = await componentError(plugin.execute(callOf('/put_blob', 'just a string')));
    expect(error.code).toBe(-32602);
  });
});
