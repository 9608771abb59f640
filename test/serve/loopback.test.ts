import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../src/serve/loopback.js';

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])('treats %s as loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each(['0.0.0.0', '::', '[::]', '10.0.0.5', '192.168.1.2', '::ffff:10.0.0.1', 'example.com', 'localhost.example.com', '128.0.0.1', ''])(
    'treats %s as reachable from other machines',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );
});
