import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api } from './api.js';
import { storedToken, storeToken, whoami, type Identity } from './auth.js';
import { Header } from './header.js';
import { Cluster } from './pages/cluster.js';
import { Compare } from './pages/compare.js';
import { NewRun } from './pages/new-run.js';
import { RunDetail } from './pages/run-detail.js';
import { RunsList } from './pages/runs-list.js';
import { useRoute, type Route } from './router.js';
import { RpcSocket, serverSocketUrl } from './rpc.js';
import { SessionContext, type Session } from './session.js';
import { TokenForm } from './token-form.js';

type SignIn = { step: 'checking' } | { step: 'asking'; refused: boolean } | { step: 'failed'; message: string } | { step: 'in'; identity: Identity; token: string | undefined };

const NAMESPACE_KEY = 'flowrun.namespace';

/** Checks a token (or none) with `GET /whoami`; keeps it in sessionStorage once accepted. */
async function signIn(token: string | undefined): Promise<SignIn> {
  try {
    const answer = await whoami(token);
    if ('refused' in answer) {
      storeToken(undefined);
      return { step: 'asking', refused: token !== undefined };
    }
    storeToken(token);
    return { step: 'in', identity: answer.identity, token };
  } catch (error) {
    return { step: 'failed', message: `Cannot reach the server: ${(error as Error).message}` };
  }
}

export function App() {
  const [state, setState] = useState<SignIn>({ step: 'checking' });
  useEffect(() => void signIn(storedToken()).then(setState), []);
  if (state.step === 'checking') return <p class="loading">Connecting…</p>;
  if (state.step === 'failed') return <p class="error" role="alert">{state.message}</p>;
  if (state.step === 'asking') return <TokenForm refused={state.refused} onToken={(token) => void signIn(token).then(setState)} />;
  const signOut = (refused = false) => {
    storeToken(undefined);
    setState({ step: 'asking', refused });
  };
  return <SignedIn identity={state.identity} token={state.token} onSignOut={signOut} />;
}

function SignedIn({ identity, token, onSignOut }: { identity: Identity; token: string | undefined; onSignOut: (refused?: boolean) => void }) {
  const api = useMemo(() => new Api(new RpcSocket(serverSocketUrl(), token)), [token]);
  useEffect(() => () => api.socket.close(), [api]);
  // A dropped socket may mean the token is no longer accepted (the server restarted with other tokens): ask again then.
  useEffect(
    () => api.socket.onState((state) => void (state === 'reconnecting' && whoami(token).then((answer) => 'refused' in answer && onSignOut(true), () => undefined))),
    [api],
  );
  const [namespace, setNamespace] = useState<string | undefined>(() => (identity.role === 'admin' ? (localStorage.getItem(NAMESPACE_KEY) ?? undefined) : undefined));
  const chooseNamespace = (chosen: string | undefined) => {
    if (chosen === undefined) localStorage.removeItem(NAMESPACE_KEY);
    else localStorage.setItem(NAMESPACE_KEY, chosen);
    setNamespace(chosen);
  };
  const session: Session = useMemo(() => ({ api, identity, namespace }), [api, identity, namespace]);
  const route = useRoute();
  return (
    <SessionContext.Provider value={session}>
      <Header route={route} onNamespace={chooseNamespace} onSignOut={() => onSignOut()} />
      <main class="page">
        <Page route={route} />
      </main>
    </SessionContext.Provider>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'runs':
      return <RunsList />;
    case 'run':
      return <RunDetail key={route.runId} runId={route.runId} />;
    case 'compare':
      return <Compare key={route.runIds.join(',')} runIds={route.runIds} />;
    case 'new':
      return <NewRun />;
    case 'cluster':
      return <Cluster />;
  }
}
