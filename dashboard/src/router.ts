import { useEffect, useState } from 'preact/hooks';

/** The pages, by the URL hash (docs/dashboard.md). */
export type Route =
  | { page: 'runs' }
  | { page: 'run'; runId: string }
  | { page: 'compare'; runIds: string[] }
  | { page: 'new' }
  | { page: 'cluster' };

export function parseHash(hash: string): Route {
  const [page = 'runs', rest = ''] = hash.replace(/^#\/?/, '').split(/\/(.*)/s);
  if (page === 'runs' && rest !== '') return { page: 'run', runId: decodeURIComponent(rest) };
  if (page === 'compare') return { page: 'compare', runIds: rest.split(',').filter((id) => id !== '').map(decodeURIComponent) };
  if (page === 'new' || page === 'cluster') return { page };
  return { page: 'runs' };
}

export const runHref = (runId: string): string => `#/runs/${encodeURIComponent(runId)}`;
export const compareHref = (runIds: readonly string[]): string => `#/compare/${runIds.map(encodeURIComponent).join(',')}`;

export function navigate(href: string): void {
  location.hash = href;
}

/** The current route; follows `hashchange`. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const follow = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', follow);
    return () => removeEventListener('hashchange', follow);
  }, []);
  return route;
}
