/**
 * The greeter component server: two plain components, `/greet` and `/shout`.
 * Run compiled: `node dist/examples/greeter/server.js` (stdin/stdout speak the protocol), or
 * `node dist/examples/greeter/server.js --port 9000` to serve WebSocket (`url: ws://127.0.0.1:9000`).
 */
import { z } from 'zod';
import { createComponentServer, defineComponent } from 'flowrun/sdk';

const greet = defineComponent({
  name: '/greet',
  description: 'Greets someone by name',
  input: z.object({ name: z.string() }),
  output: z.object({ message: z.string() }),
  handler: (input) => ({ message: `Hello, ${input.name}!` }),
});

const shout = defineComponent({
  name: '/shout',
  description: 'Upper-cases a text',
  input: z.object({ text: z.string() }),
  output: z.object({ text: z.string() }),
  handler: (input) => ({ text: input.text.toUpperCase() }),
});

await createComponentServer({ name: 'greeter', components: [greet, shout] }).run(process.argv);
