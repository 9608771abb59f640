import { describe, expect, it } from 'vitest';
import type { FlowrunClient } from '../../src/client/index.js';
import { formatFailureSummary } from '../../src/cli/failure-summary.js';
import { printListing } from '../../src/cli/listing.js';
import type { Output } from '../../src/cli/output.js';
import { ProgressBar, formatDuration, formatProgress, formatProgressSummary } from '../../src/cli/progress.js';
import { resolveRunId } from '../../src/cli/run-id.js';
import { renderTable } from '../../src/cli/table.js';
import { diffLines } from '../../src/cli/test-diff.js';
import { UsageError } from '../../src/cli/usage-error.js';

function capture(isTerminal: boolean): Output & { lines: string[] } {
  const lines: string[] = [];
  return { lines, isTerminal, line: (t) => void lines.push(t), error: () => {} };
}

describe('tables and listings', () => {
  it('pads columns to their widest cell and right-aligns numbers', () => {
    const text = renderTable(
      [
        { header: 'RUN', cell: (r: { id: string; n: number }) => r.id },
        { header: 'N', cell: (r) => String(r.n), right: true },
        { header: 'NOTE', cell: () => '' },
      ],
      [{ id: 'a', n: 1 }, { id: 'bbbb', n: 1234 }],
    );
    expect(text.split('\n')).toEqual(['RUN      N  NOTE', 'a        1', 'bbbb  1234']);
  });

  it('prints a table on a terminal, JSON otherwise or with --json', () => {
    const value = { runs: [1] };
    for (const [terminal, json, expected] of [
      [true, undefined, 'TABLE'],
      [true, true, '{"runs":[1]}'],
      [false, undefined, '{"runs":[1]}'],
    ] as const) {
      const out = capture(terminal);
      printListing(out, json, value, () => 'TABLE');
      expect(out.lines).toEqual([expected]);
    }
  });
});

describe('progress bar', () => {
  const counts = { total: 20000, pending: 10000, running: 16, success: 9900, failed: 80, cancelled: 4 };

  it('shows done/total, failed, cancelled, rate and ETA', () => {
    const line = formatProgress({ counts, elapsedMs: 10_000 }, 10);
    expect(line).toBe('[#####-----] 9984/20000 · 80 failed · 4 cancelled · 998 items/s · ETA 10.0s');
  });

  it('ends on a summary line with the elapsed time', () => {
    const done = { total: 3, pending: 0, running: 0, success: 2, failed: 1, cancelled: 0 };
    expect(formatProgressSummary({ counts: done, elapsedMs: 125_000 })).toBe('3 items: 2 ok · 1 failed · 0 cancelled · 0.0 items/s · elapsed 2m05s');
    const interrupted = { total: 20000, pending: 0, running: 0, success: 4794, failed: 5, cancelled: 15201 };
    expect(formatProgressSummary({ counts: interrupted, elapsedMs: 4_799 })).toBe('20000 items: 4794 ok · 5 failed · 15201 cancelled · 1000 items/s · elapsed 4.8s');
    expect([formatDuration(850), formatDuration(12_340), formatDuration(3_725_000)]).toEqual(['850ms', '12.3s', '1h02m']);
  });

  it('draws only on a terminal, and replaces the bar by the summary when stopped', () => {
    const writes: string[] = [];
    const tty = { isTTY: true, write: (s: string) => (writes.push(s), true) };
    const bar = new ProgressBar(() => counts, tty).start(60_000);
    bar.stop();
    expect(writes[0]).toMatch(/^\r\x1b\[2K\[#+-*\] 9984\/20000 · 80 failed · 4 cancelled · /);
    expect(writes.at(-1)).toMatch(/^\r\x1b\[2K20000 items: 9900 ok · 80 failed · 4 cancelled · 10016 unfinished · .* · elapsed \S+\n$/);

    const piped: string[] = [];
    new ProgressBar(() => counts, { isTTY: false, write: (s: string) => (piped.push(s), true) }).start(1).stop();
    expect(piped).toEqual([]);
  });
});

describe('failure summary', () => {
  it('names the count, the first failed item with its cause, and where to see the rest', () => {
    const counts = { total: 20000, pending: 0, running: 0, success: 19979, failed: 21, cancelled: 0 };
    const result = { outcome: 'failed' as const, error: { code: 500, message: 'step "x" failed', data: { stepId: 'x', cause: { code: -32004, message: 'boom\nat line 2' } } } };
    expect(formatFailureSummary(counts, { itemIndex: 17, result }, 'RUN')).toBe(
      '21 of 20000 items failed (first: item 17: step "x" failed: boom at line 2); see flowrun items RUN --status failed',
    );
    expect(formatFailureSummary(counts, { itemIndex: 17, result })).toBe('21 of 20000 items failed (first: item 17: step "x" failed: boom at line 2)');
  });
});

describe('run id prefixes', () => {
  const ids = ['3f2a9c1e-0d4b-4c6e-9a71-5b8e2f0c7d19', '3f2a9c1e-77aa-4c6e-9a71-5b8e2f0c7d19', '9b1c0000-0000-4000-8000-000000000000'];
  const client = { list: async () => ({ runs: ids.map((runId) => ({ runId })) }) } as unknown as FlowrunClient;

  it('resolves a unique prefix of 8+ characters and refuses an ambiguous one naming the candidates', async () => {
    expect(await resolveRunId(client, '9b1c0000')).toBe(ids[2]);
    expect(await resolveRunId(client, '3F2A9C1E-0D')).toBe(ids[0]);
    const err = await resolveRunId(client, '3f2a9c1e').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain('is ambiguous');
    expect((err as Error).message).toContain(ids[0]);
    expect((err as Error).message).toContain(ids[1]);
  });
});

describe('test --diff', () => {
  it('marks removed lines before added ones and keeps common lines', () => {
    expect(diffLines(['{', 'a', 'b', '}'], ['{', 'a', 'c', '}'])).toEqual(['  {', '  a', '- b', '+ c', '  }']);
  });
});
