import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { thrownBy } from '../support/errors.js';

const base = { workingDirectory: '/srv/app', env: { TEAM_A_TOKEN: 'from-the-environment' } as Record<string, string>, file: '/srv/app/flowrun.yaml' };
const HASH = 'AB'.repeat(32);

const configError = (auth: unknown): ConfigError => thrownBy(() => parseConfig({ auth }, base), ConfigError);

describe('parseConfig: auth', () => {
  it('reads tokens in clear, from the environment or as SHA-256, and quotas by namespace', () => {
    const config = parseConfig(
      {
        auth: {
          tokens: [
            { name: 'a', token: '${TEAM_A_TOKEN}', namespace: 'team-a', role: 'submitter' },
            { name: 'b', tokenSha256: HASH, role: 'viewer' },
          ],
          quotas: { 'team-a': { submitsPerSecond: '2.5', maxLiveRuns: 10 }, '*': { maxItemsPerRun: 100 } },
        },
      },
      base,
    );
    expect(config.auth).toEqual({
      tokens: [
        { name: 'a', token: 'from-the-environment', namespace: 'team-a', role: 'submitter' },
        { name: 'b', tokenSha256: HASH.toLowerCase(), namespace: 'default', role: 'viewer' },
      ],
      quotas: { 'team-a': { submitsPerSecond: 2.5, maxLiveRuns: 10 }, '*': { maxItemsPerRun: 100 } },
    });
  });

  it('refuses a token with both or neither of token and tokenSha256, naming it', () => {
    expect(configError({ tokens: [{ name: 'a', token: 'x', tokenSha256: HASH, role: 'admin' }] }).message).toContain('auth.tokens[0].token');
    expect(configError({ tokens: [{ name: 'a', role: 'admin' }] }).message).toContain('exactly one of "token" and "tokenSha256"');
  });

  it('refuses an unknown role, a bad hash, a bad namespace and a name or secret used twice', () => {
    expect(configError({ tokens: [{ name: 'a', token: 'x', role: 'root' }] }).message).toContain('auth.tokens[0].role');
    expect(configError({ tokens: [{ name: 'a', tokenSha256: 'abc', role: 'admin' }] }).message).toContain('64 hex digits');
    expect(configError({ tokens: [{ name: 'a', token: 'x', namespace: 'team a', role: 'admin' }] }).message).toContain('auth.tokens[0].namespace');
    const twice = [
      { name: 'a', token: 'x', role: 'admin' },
      { name: 'a', token: 'y', role: 'viewer' },
    ];
    expect(configError({ tokens: twice }).message).toContain('auth.tokens[1].name: token name "a" is used twice');
    expect(configError({ tokens: [twice[0], { ...twice[1], name: 'b', token: 'x' }] }).message).toContain('same secret');
    expect(configError({ quotas: { 'team a': {} } }).message).toContain('not a namespace name');
    expect(configError({ quotas: { t: { submitsPerSecond: 0 } } }).message).toContain('auth.quotas.t.submitsPerSecond');
  });
});
