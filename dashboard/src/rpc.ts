// One JSON-RPC 2.0 connection to `flowrun serve` over a browser WebSocket (docs/dashboard.md):
// requests wait for the socket, a dropped socket reconnects with backoff, and listeners learn when
// it is open again so watches can resume from their last cursor.

/** A JSON-RPC error answered by the server: `code` from docs/protocol.md, "Errors". */
export class RpcCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcCallError';
  }
}

export type ConnectionState = 'connecting' | 'open' | 'reconnecting';

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** How long a request waits for its answer by default (socket reconnects included). */
const DEFAULT_TIMEOUT_MS = 30_000;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;

/** The subprotocols of a page: `flowrun.v1`, and the token as `flowrun.bearer.<base64url(utf8)>` (a browser cannot send headers). */
export function subprotocolsFor(token: string | undefined): string[] {
  if (token === undefined) return ['flowrun.v1'];
  const bytes = new TextEncoder().encode(token);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const encoded = btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return ['flowrun.v1', `flowrun.bearer.${encoded}`];
}

/** The WebSocket URL of the server that served this page. */
export function serverSocketUrl(): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/`;
}

export class RpcSocket {
  private socket: WebSocket | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly queued: string[] = [];
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly notificationListeners = new Set<(method: string, params: unknown) => void>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  state: ConnectionState = 'connecting';

  constructor(
    private readonly url: string,
    private readonly token: string | undefined,
  ) {
    this.open();
  }

  /**
   * Sends a request; it waits while the socket (re)connects, and fails if the socket drops before
   * the answer or none comes within `timeoutMs` (default 30 s).
   */
  call(method: string, params: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<unknown> {
    const id = this.nextId++;
    const text = JSON.stringify({ jsonrpc: '2.0', id, method, params });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer from the server within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const settle = (): void => clearTimeout(timer);
      this.pending.set(id, {
        resolve: (value) => (settle(), resolve(value)),
        reject: (error) => (settle(), reject(error)),
      });
      if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(text);
      else this.queued.push(text);
    });
  }

  onNotification(listener: (method: string, params: unknown) => void): () => void {
    this.notificationListeners.add(listener);
    return () => this.notificationListeners.delete(listener);
  }

  /** Called with every change of state; `open` after a reconnect is when watches resume. */
  onState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.socket?.close(1000, 'signed out');
  }

  private open(): void {
    const socket = new WebSocket(this.url, subprotocolsFor(this.token));
    this.socket = socket;
    socket.onopen = () => {
      this.retryMs = FIRST_RETRY_MS;
      for (const text of this.queued.splice(0)) socket.send(text);
      this.setState('open');
    };
    socket.onmessage = (event) => this.receive(String(event.data));
    socket.onclose = () => this.dropped();
  }

  private dropped(): void {
    for (const pending of this.pending.values()) pending.reject(new Error('the connection to the server was lost'));
    this.pending.clear();
    this.queued.length = 0;
    if (this.closed) return;
    this.setState('reconnecting');
    this.retryTimer = setTimeout(() => this.open(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  private receive(text: string): void {
    const message = JSON.parse(text) as { id?: number; method?: string; params?: unknown; result?: unknown; error?: { code: number; message: string; data?: unknown } };
    if (message.method !== undefined) {
      for (const listener of this.notificationListeners) listener(message.method, message.params);
      return;
    }
    const pending = message.id === undefined ? undefined : this.pending.get(message.id);
    if (pending === undefined) return;
    this.pending.delete(message.id!);
    if (message.error !== undefined) pending.reject(new RpcCallError(message.error.code, message.error.message, message.error.data));
    else pending.resolve(message.result);
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}
