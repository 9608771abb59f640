import { describe, expect, it } from 'vitest';
import { bearerTokenMatches } from '../../src/serve/bearer-token.js';

describe('bearerTokenMatches', () => {
  it('accepts the exact token after the Bearer scheme, whatever the scheme case', () => {
    expect(bearerTokenMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(bearerTokenMatches('bearer s3cret', 's3cret')).toBe(true);
    expect(bearerTokenMatches('Bearer  s3cret ', 's3cret')).toBe(true);
  });

  it('refuses a missing header, another scheme, a prefix, an extension and a different case of the token', () => {
    expect(bearerTokenMatches(undefined, 's3cret')).toBe(false);
    expect(bearerTokenMatches('', 's3cret')).toBe(false);
    expect(bearerTokenMatches('Basic s3cret', 's3cret')).toBe(false);
    expect(bearerTokenMatches('s3cret', 's3cret')).toBe(false);
    expect(bearerTokenMatches('Bearer s3cre', 's3cret')).toBe(false);
    expect(bearerTokenMatches('Bearer s3crett', 's3cret')).toBe(false);
    expect(bearerTokenMatches('Bearer S3CRET', 's3cret')).toBe(false);
    expect(bearerTokenMatches('Bearer ', 's3cret')).toBe(false);
  });
});
