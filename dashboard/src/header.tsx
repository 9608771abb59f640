import { useEffect, useState } from 'preact/hooks';
import type { Route } from './router.js';
import { useSession } from './session.js';
import type { ConnectionState } from './rpc.js';

const NAV: ReadonlyArray<{ href: string; label: string; pages: ReadonlyArray<Route['page']> }> = [
  { href: '#/runs', label: 'Runs', pages: ['runs', 'run'] },
  { href: '#/compare/', label: 'Compare', pages: ['compare'] },
  { href: '#/new', label: 'New run', pages: ['new'] },
  { href: '#/cluster', label: 'Cluster', pages: ['cluster'] },
];

/** The bar on every page: navigation, the namespace (an admin may switch it), the token, the connection. */
export function Header({ route, onNamespace, onSignOut }: { route: Route; onNamespace: (ns: string | undefined) => void; onSignOut: () => void }) {
  const { identity, namespace, api } = useSession();
  const [connection, setConnection] = useState<ConnectionState>(api.socket.state);
  useEffect(() => {
    // The socket may have opened between the first render and this effect.
    setConnection(api.socket.state);
    return api.socket.onState(setConnection);
  }, [api]);
  return (
    <header class="top">
      <a class="brand" href="#/runs">flowrun</a>
      <nav aria-label="Pages">
        {NAV.map((item) => (
          <a href={item.href} aria-current={item.pages.includes(route.page) ? 'page' : undefined} data-testid={`nav-${item.pages[0]}`}>
            {item.label}
          </a>
        ))}
      </nav>
      <div class="who">
        {identity.role === 'admin' ? <NamespaceSwitch current={namespace} onNamespace={onNamespace} /> : (
          <span class="ns" data-testid="namespace" title="namespace">{identity.namespace}</span>
        )}
        {identity.tokenRequired && <span class="token-name hide-narrow" data-testid="identity">{identity.name} · {identity.role}</span>}
        {connection !== 'open' && <span class="conn" role="status" data-testid="connection">{connection}…</span>}
        {identity.tokenRequired && <button type="button" onClick={onSignOut} data-testid="sign-out">Sign out</button>}
      </div>
    </header>
  );
}

/** An admin sees every namespace, or the one it types. */
function NamespaceSwitch({ current, onNamespace }: { current: string | undefined; onNamespace: (ns: string | undefined) => void }) {
  const [text, setText] = useState(current ?? '');
  const apply = (event: Event) => {
    event.preventDefault();
    onNamespace(text.trim() === '' ? undefined : text.trim());
  };
  return (
    <form class="ns-switch" onSubmit={apply}>
      <label for="ns" class="hide-narrow">Namespace</label>
      <input id="ns" value={text} placeholder="all" size={10} onInput={(e) => setText((e.target as HTMLInputElement).value)} data-testid="namespace-input" />
      <button type="submit" data-testid="namespace-apply">Show</button>
    </form>
  );
}
