/**
 * The echo component server of the flowrun cases, built with our SDK exactly as a user would:
 * `/echo` returns its input; `/cpu` returns this process's CPU usage so far (the bench calls it
 * before and after a timed pass to learn the server's share). Serves stdio, or WebSocket with
 * `--port 0` (printing `{"port":N}` on stdout).
 */
import { createComponentServer, defineComponent } from '../../src/sdk/index.js';

const echo = defineComponent({ name: '/echo', handler: (input: unknown) => input });
const cpu = defineComponent({
  name: '/cpu',
  handler: () => {
    const c = process.cpuUsage();
    return c.user + c.system;
  },
});

await createComponentServer({ name: 'bench-echo', components: [echo, cpu] }).run(process.argv);
