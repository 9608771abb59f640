import { normalizeOrigin } from '../config/origin.js';
import { isLoopbackHost } from './loopback.js';

/**
 * Decides whether a request with an `Origin` header — one a web browser sent on behalf of a page —
 * may use the server. Browsers let any page open a WebSocket to 127.0.0.1, so without this check
 * every page the user visits could drive the runtime. Requests without `Origin` (the CLI, the
 * SDK, curl) are not from a page and are always let through.
 *
 * A page's origin is the server's own when its host and port are where the server listens (any
 * loopback name when it listens on loopback). A wildcard bind (`0.0.0.0`, `::`) has no single
 * name, so there the request's `Host` is taken as the server's; such a server needs a token,
 * which a browser's WebSocket cannot send.
 */
export class OriginPolicy {
  private readonly allowed: ReadonlySet<string>;

  /**
   * `host`: the address the server binds. `allowOrigins`: origins also allowed; each is
   * validated here ({@link normalizeOrigin}).
   */
  constructor(
    private readonly host: string,
    allowOrigins: readonly string[] = [],
  ) {
    this.allowed = new Set(allowOrigins.map(normalizeOrigin));
  }

  /**
   * Why a request is refused, or undefined when it may proceed. `port`: the server's port the
   * request arrived on; `origin` and `hostHeader`: its `Origin` and `Host` headers.
   */
  refusal(origin: string | undefined, hostHeader: string | undefined, port: number | undefined): string | undefined {
    if (origin === undefined) return undefined;
    if (port !== undefined && this.isOwn(origin, hostHeader, port)) return undefined;
    let normalized: string | undefined;
    try {
      normalized = normalizeOrigin(origin);
    } catch {
      normalized = undefined;
    }
    if (normalized !== undefined && this.allowed.has(normalized)) return undefined;
    return `forbidden: requests from web pages of origin ${JSON.stringify(origin)} are refused; ` +
      'only the server\'s own origin and those given with --allow-origin (config serve.allowOrigins) may connect';
  }

  private isOwn(origin: string, hostHeader: string | undefined, serverPort: number): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false; // `null` (a sandboxed page or a file) and other opaque origins
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    if (port !== serverPort) return false;
    const host = bare(url.hostname);
    const listening = bare(this.host);
    if (isWildcard(listening)) return hostHeader !== undefined && sameHostPort(hostHeader, host, port);
    if (isLoopbackHost(listening)) return isLoopbackHost(host);
    return host === listening.toLowerCase();
  }
}

function bare(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0';
}

/** Whether a `Host` header names `host:port`. */
function sameHostPort(hostHeader: string, host: string, port: number): boolean {
  try {
    const url = new URL(`http://${hostHeader}`);
    const headerPort = url.port === '' ? 80 : Number(url.port);
    return bare(url.hostname) === host && headerPort === port;
  } catch {
    return false;
  }
}
