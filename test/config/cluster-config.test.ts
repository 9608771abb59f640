import { describe, expect, it } from 'vitest';
import { DEFAULT_CLUSTER_CONFIG, parseConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { thrownBy } from '../support/errors.js';

const base = { workingDirectory: '/srv/app', env: {} as Record<string, string>, file: '/srv/app/flowrun.yaml' };

describe('parseConfig: cluster', () => {
  it('is absent without a cluster key, and takes the documented defaults for missing keys', () => {
    expect(parseConfig({}, base).cluster).toBeUndefined();
    expect(parseConfig({ cluster: {} }, base).cluster).toEqual({ chunkSize: 256, leaseMs: 10_000, heartbeatMs: 2_000 });
    expect(parseConfig({ cluster: null }, base).cluster).toEqual(DEFAULT_CLUSTER_CONFIG);
    expect(parseConfig({ cluster: { leaseMs: 1000, heartbeatMs: 200 } }, base).cluster).toEqual({ chunkSize: 256, leaseMs: 1000, heartbeatMs: 200 });
  });

  it('reads numbers from ${VAR} text', () => {
    const config = parseConfig({ cluster: { chunkSize: '${CHUNK}' } }, { ...base, env: { CHUNK: '64' } });
    expect(config.cluster?.chunkSize).toBe(64);
  });

  it('refuses a heartbeat not under half the lease, naming the field and both values', () => {
    const err = thrownBy(() => parseConfig({ cluster: { leaseMs: 1000, heartbeatMs: 500 } }, base), ConfigError);
    expect(err.message).toMatch(/cluster\.heartbeatMs/);
    expect(err.message).toMatch(/half of cluster\.leaseMs \(1000\), got 500/);
    // The default heartbeat is too slow for a short lease: the same refusal.
    expect(thrownBy(() => parseConfig({ cluster: { leaseMs: 3000 } }, base), ConfigError).message).toMatch(/cluster\.heartbeatMs/);
  });

  it('refuses unknown keys and non-positive or fractional numbers, naming the field', () => {
    expect(thrownBy(() => parseConfig({ cluster: { leaseMS: 1000 } }, base), ConfigError).message).toMatch(/cluster/);
    expect(thrownBy(() => parseConfig({ cluster: { chunkSize: 0 } }, base), ConfigError).message).toMatch(/cluster\.chunkSize/);
    expect(thrownBy(() => parseConfig({ cluster: { leaseMs: 1.5 } }, base), ConfigError).message).toMatch(/cluster\.leaseMs/);
    expect(thrownBy(() => parseConfig({ cluster: { heartbeatMs: 2 ** 31 } }, base), ConfigError).message).toMatch(/cluster\.heartbeatMs/);
  });
});
