import type { RunsCompareResult } from '../api.js';

/** One thing the compared runs were submitted with, as text per run (undefined: not set), and whether they differ. */
export interface SettingRow {
  label: string;
  values: Array<string | undefined>;
  differs: boolean;
}

/**
 * The rows of the Compare page's settings table: the flow, label and concurrency, then every
 * variable, override (by step) and metadata key any run has, by name.
 */
export function settingRows(answer: Pick<RunsCompareResult, 'runs' | 'settings'>): SettingRow[] {
  const { runs, settings } = answer;
  const rows: SettingRow[] = [
    row('flow', runs.map((run) => run.flowName ?? run.flowId)),
    row('flowId', runs.map((run) => run.flowId)),
    row('label', runs.map((run) => run.flowLabel)),
    row('maxConcurrency', settings.map((s) => s.maxConcurrency)),
  ];
  const keyed = (prefix: string, maps: Array<Record<string, unknown> | undefined>) => {
    const keys = [...new Set(maps.flatMap((map) => Object.keys(map ?? {})))].sort();
    for (const key of keys) rows.push(row(`${prefix}.${key}`, maps.map((map) => map?.[key])));
  };
  keyed('variables', settings.map((s) => s.variables));
  keyed('overrides', settings.map((s) => s.overrides));
  keyed('metadata', runs.map((run) => run.metadata));
  return rows.filter((r) => r.values.some((value) => value !== undefined));
}

function row(label: string, raw: unknown[]): SettingRow {
  const values = raw.map((value) => (value === undefined ? undefined : typeof value === 'string' ? value : JSON.stringify(value)));
  return { label, values, differs: values.some((value) => value !== values[0]) };
}
