/**
 * The origin (`scheme://host[:port]`, lower-cased, default port dropped) an allowed-origin entry
 * names. Throws a RangeError saying why when `text` is not an http(s) origin: a path, query,
 * credentials or a wildcard would make a list that allows something other than what it says.
 */
export function normalizeOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(`"${text}" is not an origin: write it as scheme://host[:port], e.g. https://app.example.com`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`"${text}" is not an http or https origin`);
  const extra = url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || (url.pathname !== '/' && url.pathname !== '');
  if (extra) {
    throw new RangeError(`"${text}" is not an origin: give only scheme://host[:port], without a path, query or credentials`);
  }
  if (url.hostname.includes('*')) throw new RangeError(`"${text}": wildcards are not supported; list each origin`);
  return url.origin;
}
