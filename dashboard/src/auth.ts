// Who the page acts as (docs/dashboard.md): the token is asked once, kept in sessionStorage (never
// in a URL), and checked with `GET /whoami` before the WebSocket opens.

export type Role = 'worker' | 'viewer' | 'submitter' | 'operator' | 'admin';

export interface Identity {
  name: string;
  namespace: string;
  role: Role;
  tokenRequired: boolean;
}

const TOKEN_KEY = 'flowrun.token';

export function storedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function storeToken(token: string | undefined): void {
  if (token === undefined) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** What `GET /whoami` said: who the token is, or that the server refused it. */
export type WhoamiAnswer = { identity: Identity } | { refused: true };

export async function whoami(token: string | undefined): Promise<WhoamiAnswer> {
  const headers: Record<string, string> = token === undefined ? {} : { Authorization: `Bearer ${token}` };
  const response = await fetch('/whoami', { headers, cache: 'no-store' });
  if (response.status === 401) return { refused: true };
  if (!response.ok) throw new Error(`GET /whoami answered ${response.status}`);
  return { identity: (await response.json()) as Identity };
}

const ROLES: readonly Role[] = ['worker', 'viewer', 'submitter', 'operator', 'admin'];

export function roleAtLeast(role: Role, least: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(least);
}

/**
 * Whether the page offers Cancel/Rerun on a run: an operator may on any run of its namespace; a
 * submitter only on its own, which a run's status does not tell, so the page offers neither.
 */
export function mayChangeRuns(role: Role): boolean {
  return roleAtLeast(role, 'operator');
}
