import type { WatchState } from '../watch.js';

/**
 * Says when the page is not live: the token may not watch, or the watch failed. `onRefresh` reads
 * the page's data again (offered then, since nothing else will: the page never polls).
 */
export function WatchNotice({ state, onRefresh }: { state: WatchState; onRefresh?: () => void }) {
  const refresh = onRefresh && <button type="button" onClick={onRefresh} data-testid="watch-refresh">Refresh</button>;
  if (state === 'denied') return <p class="notice" data-testid="watch-denied">This token may not watch runs, so the page does not update by itself. {refresh}</p>;
  if (state === 'failed') return <p class="notice error" data-testid="watch-failed">Live updates stopped: the server refused the watch. {refresh}</p>;
  return null;
}
