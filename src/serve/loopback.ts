import { isIP } from 'node:net';

/**
 * True when `host` names a loopback interface only (`localhost`, 127.0.0.0/8, `::1`,
 * `::ffff:127.x.y.z`). Anything else — `0.0.0.0`, `::`, a LAN address, a host name — may be
 * reachable from other machines.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  switch (isIP(bare)) {
    case 4:
      return bare.startsWith('127.');
    case 6: {
      const lower = bare.toLowerCase();
      if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
      return mapped !== null && mapped[1].startsWith('127.');
    }
    default:
      return false;
  }
}
