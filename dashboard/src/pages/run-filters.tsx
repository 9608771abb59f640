import { useState } from 'preact/hooks';
import type { RunsListParams } from '../api.js';

export type StatusChip = 'all' | 'running' | 'success' | 'failed' | 'cancelled';
export const STATUS_CHIPS: ReadonlyArray<{ chip: StatusChip; label: string }> = [
  { chip: 'all', label: 'All' },
  { chip: 'running', label: 'Running' },
  { chip: 'success', label: 'Success' },
  { chip: 'failed', label: 'Failed' },
  { chip: 'cancelled', label: 'Cancelled' },
];

const CHIP_KEY = 'flowrun.runs.status';

export function storedChip(): StatusChip {
  const stored = localStorage.getItem(CHIP_KEY);
  return STATUS_CHIPS.some((c) => c.chip === stored) ? (stored as StatusChip) : 'all';
}

export function storeChip(chip: StatusChip): void {
  localStorage.setItem(CHIP_KEY, chip);
}

/** The statuses a chip shows: "Running" includes runs not started yet. */
export function statusesOf(chip: StatusChip): RunsListParams['status'] {
  if (chip === 'all') return undefined;
  return chip === 'running' ? ['pending', 'running'] : [chip];
}

/** The filter fields a user typed, as runs/list takes them (docs/protocol.md, "runs/list"). */
export interface RunFilter {
  flowName?: string;
  flowLabel?: string;
  metadata?: Record<string, string | number | boolean>;
  createdAfter?: string;
  createdBefore?: string;
}

/** `key=value`: a value that reads as a JSON number or boolean is one, else it is text. */
function metadataOf(text: string): Record<string, string | number | boolean> | undefined | Error {
  if (text.trim() === '') return undefined;
  const at = text.indexOf('=');
  if (at <= 0) return new Error('metadata: write key=value');
  const raw = text.slice(at + 1).trim();
  let value: string | number | boolean = raw;
  if (raw === 'true' || raw === 'false') value = raw === 'true';
  else if (raw !== '' && Number.isFinite(Number(raw))) value = Number(raw);
  return { [text.slice(0, at).trim()]: value };
}

/** A `datetime-local` value as an ISO instant in this browser's time zone. */
const instantOf = (local: string): string | undefined => (local === '' ? undefined : new Date(local).toISOString());

export function FilterForm({ onFilter }: { onFilter: (filter: RunFilter) => void }) {
  const [fields, setFields] = useState({ flow: '', label: '', metadata: '', after: '', before: '' });
  const [problem, setProblem] = useState<string>();
  const field = (name: keyof typeof fields) => ({
    value: fields[name],
    onInput: (e: Event) => setFields({ ...fields, [name]: (e.target as HTMLInputElement).value }),
  });
  const apply = (event: Event) => {
    event.preventDefault();
    const metadata = metadataOf(fields.metadata);
    if (metadata instanceof Error) return setProblem(metadata.message);
    setProblem(undefined);
    const filter: RunFilter = {};
    if (fields.flow.trim() !== '') filter.flowName = fields.flow.trim();
    if (fields.label.trim() !== '') filter.flowLabel = fields.label.trim();
    if (metadata !== undefined) filter.metadata = metadata;
    const after = instantOf(fields.after);
    const before = instantOf(fields.before);
    if (after !== undefined) filter.createdAfter = after;
    if (before !== undefined) filter.createdBefore = before;
    onFilter(filter);
  };
  return (
    <form class="filters" onSubmit={apply} data-testid="filters">
      <label>Flow <input {...field('flow')} data-testid="filter-flow" /></label>
      <label>Label <input {...field('label')} data-testid="filter-label" /></label>
      <label>Metadata <input {...field('metadata')} placeholder="key=value" data-testid="filter-metadata" /></label>
      <label class="hide-narrow">Created after <input type="datetime-local" {...field('after')} data-testid="filter-after" /></label>
      <label class="hide-narrow">Created before <input type="datetime-local" {...field('before')} data-testid="filter-before" /></label>
      <button type="submit" data-testid="filter-apply">Filter</button>
      {problem !== undefined && <p class="error" role="alert">{problem}</p>}
    </form>
  );
}
