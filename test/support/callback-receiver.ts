import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { waitFor } from './wait-for.js';

/** One POST a receiver got, and what it answered. */
export interface ReceivedCallback {
  headers: IncomingHttpHeaders;
  body: string;
  json: { event: string; run: Record<string, unknown> & { runId: string } };
  answered: number;
}

/**
 * A real HTTP server on 127.0.0.1 that completion callbacks are POSTed to: it records every
 * request and answers each with the status `answer` picks (by how many came before), so a test
 * decides which attempts fail. `close` and `listen` again on the same port make it go down and
 * come back.
 */
export class CallbackReceiver {
  readonly received: ReceivedCallback[] = [];
  private server: Server | undefined;

  private constructor(
    public port: number,
    private readonly answer: (requestNumber: number) => number,
    private readonly answerAfterMs: number,
  ) {}

  /** `answerAfterMs` holds each answer that long: a slow receiver, whose attempts stay under way a while. */
  static async start(answer: (requestNumber: number) => number = () => 200, options: { port?: number; answerAfterMs?: number } = {}): Promise<CallbackReceiver> {
    const receiver = new CallbackReceiver(options.port ?? 0, answer, options.answerAfterMs ?? 0);
    await receiver.listen();
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/flowrun`;
  }

  /** Listens (again) on its port. */
  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        const answered = this.answer(this.received.length);
        const record = () => {
          this.received.push({ headers: req.headers, body, json: JSON.parse(body) as ReceivedCallback['json'], answered });
          res.writeHead(answered).end();
        };
        if (this.answerAfterMs > 0) setTimeout(record, this.answerAfterMs);
        else record();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Stops listening: attempts meanwhile find the connection refused. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Requests that were answered 2xx. */
  delivered(): ReceivedCallback[] {
    return this.received.filter((r) => r.answered >= 200 && r.answered < 300);
  }

  /** Waits (bounded) until `n` requests were answered 2xx. */
  waitDelivered(n: number, timeoutMs = 30_000): Promise<void> {
    return waitFor(() => this.delivered().length >= n, { timeoutMs, what: `${n} delivered callbacks` });
  }
}

/** The `X-Flowrun-Signature` a receiver computes for `body` with `secret`. */
export function expectedSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
