import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api.js';
import type { Identity } from './auth.js';

/** What every page works with: the API over the one socket, who the token is and the namespace shown. */
export interface Session {
  api: Api;
  identity: Identity;
  /** The namespace an admin chose (undefined: its own, or every namespace for an admin); passed to runs/list and runs/watch. */
  namespace: string | undefined;
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === undefined) throw new Error('no session: pages render inside <App> once signed in');
  return session;
}

/** `{namespace}` for runs/list and runs/watch when an admin chose one. */
export const namespaceParam = (session: Session): { namespace?: string } => (session.namespace === undefined ? {} : { namespace: session.namespace });
