/**
 * The WebSocket baseline's child: a bare `ws` server on 127.0.0.1 (free port, printed as
 * `{"port":N}`) answering each text frame with one frame, no flowrun code; method `cpu` answers
 * this process's CPU µs so far. Exits when its client disconnects.
 */
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('listening', () => {
  const address = wss.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    const m = JSON.parse(data.toString()) as { id: number; method: string; params: { input: unknown } };
    const output = m.method === 'cpu' ? cpuMicros() : m.params.input;
    socket.send(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { output } }));
  });
  socket.on('close', () => process.exit(0));
});

function cpuMicros(): number {
  const c = process.cpuUsage();
  return c.user + c.system;
}
