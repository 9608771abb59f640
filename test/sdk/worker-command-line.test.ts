import { describe, expect, it } from 'vitest';
import { parseServerCommandLine } from '../../src/sdk/index.js';

describe('a component server script run as a worker', () => {
  it('reads --connect, --token, --pool, --capacity and --name in either form', () => {
    expect(parseServerCommandLine(['node', 's.js', '--connect', 'ws://h:7837/workers', '--token=t', '--pool', 'gpu', '--capacity=8', '--name', 'w1'])).toEqual({
      connect: 'ws://h:7837/workers',
      token: 't',
      pool: 'gpu',
      capacity: 8,
      name: 'w1',
    });
  });

  it('refuses a capacity that is not an integer from 1 to 100000, or a missing value', () => {
    expect(() => parseServerCommandLine(['--capacity', '0'])).toThrow('--capacity must be an integer from 1 to 100000, got "0"');
    expect(() => parseServerCommandLine(['--capacity', 'many'])).toThrow(/got "many"/);
    expect(() => parseServerCommandLine(['--connect'])).toThrow('--connect needs a value');
  });
});
