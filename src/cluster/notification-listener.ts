import pg from 'pg';
import type { Logger } from '../log.js';

const RECONNECT_MIN_MS = 200;
const RECONNECT_MAX_MS = 5_000;

/**
 * A connection of its own that LISTENs on the cluster's channels and hands every notification to
 * `onNotification`. Notifications are hints (docs/cluster.md): when the connection drops, it
 * reconnects with backoff and calls `onReconnect`, so its owner re-checks what it may have missed.
 */
export class NotificationListener {
  private client: pg.Client | undefined;
  private closed = false;
  private retryMs = RECONNECT_MIN_MS;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: {
      url: string;
      channels: readonly string[];
      onNotification: (channel: string, payload: string) => void;
      onReconnect: () => void;
      logger: Logger;
    },
  ) {}

  /** Connects and listens; rejects when the first connection fails. */
  async start(): Promise<void> {
    await this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.url, connectionTimeoutMillis: 10_000 });
    // Every error of this connection leads to one reconnect; the event must never go unheard.
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    client.on('notification', (msg) => this.options.onNotification(msg.channel, msg.payload ?? ''));
    await client.connect();
    for (const channel of this.options.channels) await client.query(`LISTEN ${channel}`);
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.retryMs = RECONNECT_MIN_MS;
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    this.options.logger.warn({ err }, `cluster notifications: connection lost (${err.message}); reconnecting`);
    void client.end().catch(() => {});
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.connect().then(
        () => this.options.onReconnect(),
        (err: Error) => {
          this.options.logger.warn({ err }, `cluster notifications: cannot reconnect: ${err.message}`);
          this.retryMs = Math.min(RECONNECT_MAX_MS, this.retryMs * 2);
          this.scheduleReconnect();
        },
      );
    }, this.retryMs);
    this.timer.unref();
  }
}
