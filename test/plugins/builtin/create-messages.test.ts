import { describe, expect, it } from 'vitest';
import { callOf, componentError, fakeHost } from './fake-host.js';

describe('/create_messages', () => {
  it('puts the system instructions first and the user prompt last', async () => {
    const { plugin } = fakeHost();
    const result = await plugin.execute(callOf('/create_messages', { system_instructions: 'Be brief.', user_prompt: 'Hi?' }));
    expect(result).toEqual({
      outcome: 'success',
      value: { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi?' }] },
    });
  });

  it('leaves out the system message when there are no instructions, ignoring extra keys', async () => {
    const { plugin } = fakeHost();
    const result = await plugin.execute(callOf('/create_messages', { user_prompt: 'Hi?', model: 'x', system_instructions: null }));
    expect(result).toEqual({ outcome: 'success', value: { messages: [{ role: 'user', content: 'Hi?' }] } });
  });

  it('keeps empty instructions as a system message', async () => {
    const { plugin } = fakeHost();
    const result = await plugin.execute(callOf('/create_messages', { system_instructions: '', user_prompt: 'p' }));
    expect(result).toMatchObject({ value: { messages: [{ role: 'system', content: '' }, { role: 'user', content: 'p' }] } });
  });

  it('refuses a missing user_prompt with -32602', async () => {
    const { plugin } = fakeHost();
    const error = await componentError(plugin.execute(callOf('/create_messages', { system_instructions: 's' })));
    expect(error).toMatchObject({ code: -32602, message: expect.stringContaining('"user_prompt"') });
  });
});
