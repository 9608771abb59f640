/**
 * The echo component server of the flowrun cases, built with our SDK exactly as a user would:
 * `/echo` returns its input; `/cpu` returns this process's CPU usage so far (the bench calls it
 * before and after a timed pass to learn the server's share); `/sleep` answers `{ms}` after `ms`
 * milliseconds (the cluster bench's slow items). Serves stdio, or WebSocket with
 * `--port 0` (printing `{"port":N}` on stdout).
 */
import { z } from 'zod';
import { createComponentServer, defineComponent } from '../../src/sdk/index.js';

const echo = defineComponent({ name: '/echo', handler: (input: unknown) => input });
const cpu = defineComponent({
  name: '/cpu',
  handler: () => {
    const c = process.cpuUsage();
    return c.user + c.system;
  },
});
const sleep = defineComponent({
  name: '/sleep',
  input: z.object({ ms: z.number().int().nonnegative() }),
  handler: ({ ms }, ctx) =>
    new Promise<{ ms: number }>((resolve, reject) => {
      const timer = setTimeout(() => resolve({ ms }), ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('cancelled'));
      }, { once: true });
    }),
});

await createComponentServer({ name: 'bench-echo', components: [echo, cpu, sleep] }).run(process.argv);
