import { describe, expect, it } from 'vitest';
import { escapeLabelValue, renderPrometheusText } from '../../src/serve/prometheus-text.js';

describe('renderPrometheusText', () => {
  it('writes HELP and TYPE before the samples of each family, labels in the order given', () => {
    const text = renderPrometheusText([
      { name: 'flowrun_runs', help: 'Runs by status.', type: 'gauge', samples: [{ labels: { status: 'pending' }, value: 2 }, { labels: { status: 'failed' }, value: 0 }] },
      { name: 'flowrun_calls_total', help: 'Calls.', type: 'counter', samples: [{ labels: { component: '/x/y', outcome: 'success' }, value: 12 }] },
      { name: 'flowrun_live_runs', help: 'Live runs.', type: 'gauge', samples: [{ value: 1.5 }] },
    ]);
    expect(text).toBe(
      '# HELP flowrun_runs Runs by status.\n# TYPE flowrun_runs gauge\nflowrun_runs{status="pending"} 2\nflowrun_runs{status="failed"} 0\n' +
        '# HELP flowrun_calls_total Calls.\n# TYPE flowrun_calls_total counter\nflowrun_calls_total{component="/x/y",outcome="success"} 12\n' +
        '# HELP flowrun_live_runs Live runs.\n# TYPE flowrun_live_runs gauge\nflowrun_live_runs 1.5\n',
    );
  });

  it('escapes backslash, double quote and newline in label values, and backslash and newline in help', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    const text = renderPrometheusText([
      { name: 'm', help: 'two\nlines \\ "quoted"', type: 'gauge', samples: [{ labels: { component: '/odd\\"\n' }, value: 1 }] },
    ]);
    expect(text).toBe('# HELP m two\\nlines \\\\ "quoted"\n# TYPE m gauge\nm{component="/odd\\\\\\"\\n"} 1\n');
    // Every sample stays on one line, whatever its label holds.
    expect(text.split('\n').filter((line) => line.startsWith('m{'))).toHaveLength(1);
  });

  it('writes special values as the format spells them', () => {
    const text = renderPrometheusText([
      { name: 'v', help: 'h', type: 'gauge', samples: [{ labels: { k: 'nan' }, value: NaN }, { labels: { k: 'inf' }, value: Infinity }, { labels: { k: 'ninf' }, value: -Infinity }] },
    ]);
    expect(text).toContain('v{k="nan"} NaN\nv{k="inf"} +Inf\nv{k="ninf"} -Inf\n');
  });

  it('refuses metric and label names the format does not allow', () => {
    expect(() => renderPrometheusText([{ name: 'flowrun-runs', help: 'h', type: 'gauge', samples: [] }])).toThrow(/invalid metric name "flowrun-runs"/);
    expect(() => renderPrometheusText([{ name: 'm', help: 'h', type: 'gauge', samples: [{ labels: { 'a b': 'x' }, value: 1 }] }])).toThrow(/invalid label name "a b"/);
    expect(() => renderPrometheusText([{ name: 'm', help: 'h', type: 'gauge', samples: [{ labels: { __name__: 'x' }, value: 1 }] }])).toThrow(/invalid label name/);
  });
});
