import type { WatchState } from '../watch.js';

/** Says when the page is not live: the token may not watch, or the watch failed. */
export function WatchNotice({ state }: { state: WatchState }) {
  if (state === 'denied') return <p class="notice" data-testid="watch-denied">Live updates need a token allowed to watch runs; reload the page to see changes.</p>;
  if (state === 'failed') return <p class="notice error">Live updates stopped: the server refused the watch.</p>;
  return null;
}
