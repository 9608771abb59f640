import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { replyJson } from './http-replies.js';

/** Where the build writes the dashboard (`scripts/build-dashboard.ts`): `dist/dashboard/` beside `dist/src/`. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

/** Where the dashboard's bundled files are served. */
const ASSETS_PREFIX = '/assets/';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

/**
 * The page may load only its own files and talk only to this server (docs/dashboard.md): no inline
 * script, no other origin, never framed.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

interface StaticFile {
  body: Buffer;
  type: string;
  /** Bundles carry their content hash in their name, so they never change. */
  immutable: boolean;
}

/**
 * The dashboard's static files (docs/dashboard.md), read once from the build output: `/` is
 * `index.html`, `/assets/<name>` a bundle. They carry no data, so they need no token; the page
 * reads everything through the API with its token.
 */
export class DashboardFiles {
  private constructor(private readonly files: ReadonlyMap<string, StaticFile>) {}

  /** The files under `dir`, or none when the dashboard was not built. */
  static load(dir: string = DASHBOARD_DIR): DashboardFiles {
    const files = new Map<string, StaticFile>();
    const index = join(dir, 'index.html');
    if (existsSync(index)) files.set('/', { body: readFileSync(index), type: CONTENT_TYPES['.html']!, immutable: false });
    const assets = join(dir, 'assets');
    if (existsSync(assets)) {
      for (const name of readdirSync(assets)) {
        const type = CONTENT_TYPES[extname(name)];
        if (type !== undefined) files.set(ASSETS_PREFIX + name, { body: readFileSync(join(assets, name)), type, immutable: true });
      }
    }
    return new DashboardFiles(files);
  }

  /**
   * Whether `path` is the dashboard's to answer: `/` and `/index.html` once built (before, `/` keeps
   * its plain answer to programs), and anything under `/assets/`.
   */
  serves(path: string): boolean {
    return ((path === '/' || path === '/index.html') && this.files.has('/')) || path.startsWith(ASSETS_PREFIX);
  }

  /** Answers a request for one of {@link serves}' paths: the file, 404, or 405 for a method other than GET/HEAD. */
  answer(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      replyJson(res, 405, { error: `${req.method} not allowed on ${path}` }, { Allow: 'GET, HEAD' });
      return;
    }
    const file = this.files.get(path === '/index.html' ? '/' : path);
    if (file === undefined) {
      replyJson(res, 404, { error: `not found: ${path}` }, SECURITY_HEADERS);
      return;
    }
    res.writeHead(200, {
      'Content-Type': file.type,
      'Content-Length': file.body.length,
      'Cache-Control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...SECURITY_HEADERS,
    });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  }
}
