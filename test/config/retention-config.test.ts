import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { thrownBy } from '../support/errors.js';

const base = { workingDirectory: '/srv/app', env: {} as Record<string, string>, file: '/srv/app/flowrun.yaml' };
const H = 3_600_000;

describe('parseConfig: retention', () => {
  it('is absent without a retention key; sweeps hourly by default and deletes only what is set', () => {
    expect(parseConfig({}, base).retention).toBeUndefined();
    expect(parseConfig({ retention: {} }, base).retention).toEqual({ sweepEveryMs: H });
    expect(parseConfig({ retention: { runs: '30d', blobs: '90d', sweepEvery: '15m' } }, base).retention).toEqual({
      runsMs: 30 * 24 * H,
      blobsMs: 90 * 24 * H,
      sweepEveryMs: 15 * 60_000,
    });
    expect(parseConfig({ retention: { runs: '12h', sweepEvery: '45s' } }, base).retention).toEqual({ runsMs: 12 * H, sweepEveryMs: 45_000 });
    expect(parseConfig({ retention: { blobs: 90_000 } }, base).retention).toEqual({ blobsMs: 90_000, sweepEveryMs: H });
  });

  it('reads durations from ${VAR} text', () => {
    expect(parseConfig({ retention: { runs: '${KEEP}' } }, { ...base, env: { KEEP: '7d' } }).retention?.runsMs).toBe(7 * 24 * H);
  });

  it('refuses what is not a duration, a zero one, a sweep beyond 24 days and unknown keys, naming the field', () => {
    expect(thrownBy(() => parseConfig({ retention: { runs: '30 days' } }, base), ConfigError).message).toMatch(/retention\.runs/);
    expect(thrownBy(() => parseConfig({ retention: { blobs: 'ninety' } }, base), ConfigError).message).toMatch(/retention\.blobs/);
    expect(thrownBy(() => parseConfig({ retention: { runs: '0d' } }, base), ConfigError).message).toMatch(/retention\.runs/);
    expect(thrownBy(() => parseConfig({ retention: { sweepEvery: '30d' } }, base), ConfigError).message).toMatch(/retention\.sweepEvery/);
    expect(thrownBy(() => parseConfig({ retention: { run: '30d' } }, base), ConfigError).message).toMatch(/retention/);
  });
});
