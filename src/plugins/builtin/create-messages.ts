import { z } from 'zod';
import { defineBuiltin, success } from './builtin-component.js';

const MessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});

/** `/create_messages`: builds a chat message list from a prompt and optional system instructions. */
export const createMessagesBuiltin = defineBuiltin({
  path: '/create_messages',
  description: 'Builds chat messages: an optional system message, then the user prompt.',
  input: z.object({
    system_instructions: z.string().nullish(),
    user_prompt: z.string(),
  }),
  output: z.object({ messages: z.array(MessageSchema) }),
  async run(input) {
    const messages: Array<z.input<typeof MessageSchema>> = [];
    if (input.system_instructions != null) messages.push({ role: 'system', content: input.system_instructions });
    messages.push({ role: 'user', content: input.user_prompt });
    return success({ messages });
  },
});
