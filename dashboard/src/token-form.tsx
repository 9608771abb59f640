import { useState } from 'preact/hooks';

/** Asks for the token once (docs/dashboard.md); `refused` says the last one was not accepted. */
export function TokenForm({ refused, onToken }: { refused: boolean; onToken: (token: string) => void }) {
  const [token, setToken] = useState('');
  const submit = (event: Event) => {
    event.preventDefault();
    if (token.trim() !== '') onToken(token.trim());
  };
  return (
    <main class="signin">
      <form onSubmit={submit} data-testid="token-form" autocomplete="off">
        <h1>flowrun</h1>
        <label for="token">This server needs an access token</label>
        <input id="token" type="password" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} data-testid="token-input" autofocus />
        {refused && <p class="error" role="alert" data-testid="token-error">This token was refused by the server. Check it and try again.</p>}
        <button type="submit" class="primary" data-testid="token-submit">Sign in</button>
        <p class="hint">The token stays in this browser tab only (session storage) and is never put in a URL.</p>
      </form>
    </main>
  );
}
