// A worker written from docs/workers.md alone, in plain JavaScript with only the `ws` package:
// no flowrun SDK. It dials a runtime, registers two components, serves their calls, calls back
// into the runtime (`blobs/put`), reconnects with backoff, and drains on SIGTERM.
//
//   node examples/workers/plain-worker.mjs ws://127.0.0.1:7837/workers [--token T] [--pool P] [--capacity N]
//
// Prints one line on stdout each time it registers: {"workerId", "node", "pool"}; logs go to stderr.
import { hostname } from 'node:os';
import WebSocket from 'ws';

const url = process.argv[2];
const option = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const token = option('token', process.env.FLOWRUN_TOKEN || undefined);
const pool = option('pool', 'default');
const capacity = Number(option('capacity', '4'));
const name = `plain-worker@${hostname()}:${process.pid}`;
const components = [
  { component: '/shout', description: 'upper-cases `text`', input_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } },
  { component: '/keep', description: 'stores its input as a blob and returns the blob id' },
];
const log = (message) => process.stderr.write(`plain-worker: ${message}\n`);

let socket;
let nextId = 1;
let draining = false;
let delayMs = 100;
const pending = new Map(); // our requests to the runtime: id → {resolve, reject}
const running = new Map(); // the runtime's calls we serve: id → AbortController

/** Sends a request to the runtime on the current connection and resolves with its result. */
function request(method, params) {
  const id = nextId++;
  socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

/** What each component does; `call` is the runtime's `components/execute` params. */
async function execute(call, signal) {
  switch (call.component) {
    case '/shout':
      if (typeof call.input?.text !== 'string') throw { code: -32602, message: 'input.text must be a string' };
      return { text: call.input.text.toUpperCase(), attempt: call.attempt };
    case '/keep': {
      const { blob_id } = await request('blobs/put', { data: call.input });
      if (signal.aborted) throw { code: -32800, message: 'cancelled' };
      return { blobId: blob_id };
    }
    default:
      throw { code: -32001, message: `component ${call.component} not found` };
  }
}

/** Serves one `components/execute` request and answers it with its id. */
async function serve(message) {
  const controller = new AbortController();
  running.set(message.id, controller);
  let answer;
  try {
    answer = { result: { output: await execute(message.params, controller.signal) } };
  } catch (error) {
    answer = { error: { code: error.code ?? -32004, message: error.message ?? String(error) } };
  }
  running.delete(message.id);
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ jsonrpc: '2.0', id: message.id, ...answer }));
  if (draining && running.size === 0) socket.close(1000, 'drained');
}

function onMessage(data) {
  const message = JSON.parse(data.toString());
  if (message.method === 'components/execute') void serve(message);
  else if (message.method === '$/cancelRequest') running.get(message.params.id)?.abort();
  else if (message.method !== undefined && message.id !== undefined) {
    socket.send(JSON.stringify({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: `Method not found: ${message.method}` } }));
  } else if (message.id !== undefined && pending.has(message.id)) {
    const { resolve, reject } = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) reject(message.error);
    else resolve(message.result);
  }
}

function connect() {
  socket = new WebSocket(url, { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });
  socket.on('message', onMessage);
  socket.on('unexpected-response', (_req, res) => {
    log(`the runtime refused the connection: HTTP ${res.statusCode}`);
    process.exit(1);
  });
  socket.on('error', (error) => log(error.message));
  socket.on('open', async () => {
    try {
      const { workerId, node } = await request('workers/register', { pool, name, capacity, components });
      delayMs = 100;
      process.stdout.write(`${JSON.stringify({ workerId, node, pool })}\n`);
    } catch (error) {
      log(`workers/register refused: ${error.message}`);
      process.exit(1);
    }
  });
  socket.on('close', () => {
    for (const { reject } of pending.values()) reject({ code: -32005, message: 'connection closed' });
    pending.clear();
    running.clear(); // the runtime repeats those calls elsewhere
    if (draining) process.exit(0);
    setTimeout(connect, delayMs);
    delayMs = Math.min(delayMs * 2, 5000);
  });
}

process.once('SIGTERM', async () => {
  draining = true;
  if (socket.readyState !== WebSocket.OPEN) process.exit(0);
  await request('workers/drain', {});
  if (running.size === 0) socket.close(1000, 'drained');
});

connect();
