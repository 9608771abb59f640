import { ErrorCodes, RpcError } from '../../protocol/index.js';

/** What a token may do (docs/security.md, "Roles"): each role may do what the roles before it may. */
export const ROLES = ['worker', 'viewer', 'submitter', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The namespace of runs of the single `--token`, of servers without tokens and of runs stored before namespaces. */
export const DEFAULT_NAMESPACE = 'default';

/** Who is calling over a connection of `flowrun serve`: from the bearer token it showed at the upgrade. */
export interface Principal {
  tokenName: string;
  namespace: string;
  role: Role;
}

/** What a method needs (docs/security.md): one entry per method a token may call. */
export interface MethodAccess {
  /** The least role that may call it. */
  role: Role;
  /** For a call on a run another token submitted, the least role (runs/cancel, runs/rerun: a submitter changes only its own runs). */
  othersRuns?: Role;
  /** It changes something: each call writes an audit line. */
  mutating?: boolean;
}

/**
 * Every method a token may call, by name: the one table of roles. A method not listed here needs
 * `admin`, so a method added without an entry is closed rather than open.
 */
export const METHOD_ACCESS: Readonly<Record<string, MethodAccess>> = {
  'runs/get': { role: 'viewer' },
  'runs/list': { role: 'viewer' },
  'runs/items': { role: 'viewer' },
  'runs/metrics': { role: 'viewer' },
  'runs/compare': { role: 'viewer' },
  'flows/list': { role: 'viewer' },
  'runs/watch': { role: 'viewer' },
  'runs/unwatch': { role: 'viewer' },
  'blobs/get': { role: 'viewer' },
  'runs/submit': { role: 'submitter', mutating: true },
  'blobs/put': { role: 'submitter', mutating: true },
  'runs/cancel': { role: 'submitter', othersRuns: 'operator', mutating: true },
  'runs/rerun': { role: 'submitter', othersRuns: 'operator', mutating: true },
  'runs/delete': { role: 'operator', mutating: true },
  'runs/gc': { role: 'admin', mutating: true },
  'nodes/list': { role: 'admin' },
  'workers/list': { role: 'admin' },
};

const ADMIN_ONLY: MethodAccess = { role: 'admin' };

/** What `method` needs; unlisted methods need `admin`. */
export function accessOf(method: string): MethodAccess {
  return METHOD_ACCESS[method] ?? ADMIN_ONLY;
}

/** Whether `role` includes what `least` may do. */
export function roleAtLeast(role: Role, least: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(least);
}

/** Refuses a call beyond the caller's role with `-32007` naming the method and both roles. */
export function requireRole(principal: Principal, method: string, least: Role = accessOf(method).role): void {
  if (roleAtLeast(principal.role, least)) return;
  throw new RpcError(
    ErrorCodes.PermissionDenied,
    `permission denied: ${method} needs role ${least}; token "${principal.tokenName}" has role ${principal.role}`,
    { method, role: principal.role, required: least },
  );
}

/** Whether the principal sees every namespace (an admin). */
export function seesEveryNamespace(principal: Principal): boolean {
  return principal.role === 'admin';
}

/**
 * The one namespace a principal's call sees when it asked for `asked` (runs/watch, GET /events):
 * its own, or for an admin the one it asked for, else every one (undefined). Another role asking
 * for a namespace not its own is refused with -32007 naming `method`.
 */
export function namespaceSeenBy(principal: Principal, asked: string | undefined, method: string): string | undefined {
  if (seesEveryNamespace(principal)) return asked;
  if (asked !== undefined && asked !== principal.namespace) requireRole(principal, `${method} (of another namespace)`, 'admin');
  return principal.namespace;
}
