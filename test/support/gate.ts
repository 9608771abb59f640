import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP server on 127.0.0.1 that holds every request until `release()`: items of the gate flow
 * (see workspace.ts) stay running until the test lets them go. `arrived(n)` resolves once n
 * requests are held.
 */
export async function startGate() {
  const held: ServerResponse[] = [];
  let released = false;
  let waiters: Array<{ n: number; resolve: () => void }> = [];
  let count = 0;
  const server = createServer((_req, res) => {
    count++;
    if (released) res.end('open');
    else held.push(res);
    waiters = waiters.filter((w) => (count >= w.n ? (w.resolve(), false) : true));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url,
    /** Resolves once `n` requests reached the gate in total. */
    /** Requests that reached the gate so far. */
    count: () => count,
    arrived: (n: number) => new Promise<void>((r) => (count >= n ? r() : waiters.push({ n, resolve: r }))),
    release() {
      released = true;
      for (const res of held.splice(0)) res.end('open');
    },
    close: () =>
      new Promise<void>((r) => {
        released = true;
        for (const res of held.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
