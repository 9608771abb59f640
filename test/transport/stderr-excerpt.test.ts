import { describe, expect, it } from 'vitest';
import { STDERR_LINE_CHARS, StderrExcerpt } from '../../src/transport/stderr-excerpt.js';

function excerptOf(lines: string[]): StderrExcerpt {
  const excerpt = new StderrExcerpt();
  for (const line of lines) excerpt.push(line);
  return excerpt;
}

describe('StderrExcerpt', () => {
  it('keeps the first error line of a Node stack trace, which the tail alone would lose', () => {
    const excerpt = excerptOf([
      'node:internal/modules/cjs/loader:1228',
      '  throw err;',
      '  ^',
      '',
      "Error: Cannot find module '/x/y.js'",
      ...Array.from({ length: 60 }, (_, i) => `    at frame${i} (node:internal/modules/cjs/loader:${i}:1)`),
      '}',
      '',
      'Node.js v20.20.2',
    ]);
    expect(excerpt.firstError).toBe("Error: Cannot find module '/x/y.js'");
    expect(excerpt.tail()).not.toContain("Error: Cannot find module '/x/y.js'");
    expect(excerpt.brief()).toEqual(["Error: Cannot find module '/x/y.js'", '    at frame59 (node:internal/modules/cjs/loader:59:1)', '}', 'Node.js v20.20.2']);
  });

  it('finds the error line of a Python traceback and of other tools', () => {
    expect(excerptOf(['Traceback (most recent call last):', '  File "s.py", line 1', "ModuleNotFoundError: No module named 'x'"]).firstError).toBe(
      "ModuleNotFoundError: No module named 'x'",
    );
    expect(excerptOf(['starting', 'fatal: config not found']).firstError).toBe('fatal: config not found');
    expect(excerptOf(['starting', 'listening']).firstError).toBeUndefined();
  });

  it('bounds the tail to 50 lines and 4 KiB, and each line to 1 KiB', () => {
    const many = excerptOf(Array.from({ length: 80 }, (_, i) => `line ${i}`));
    expect(many.tail()).toHaveLength(50);
    expect(many.tail()[0]).toBe('line 30');
    const long = excerptOf(Array.from({ length: 20 }, (_, i) => `${i}:${'y'.repeat(2000)}`));
    const tail = long.tail();
    expect(tail.every((l) => l.length <= STDERR_LINE_CHARS + 1)).toBe(true);
    expect(tail.join('').length).toBeLessThanOrEqual(4096);
    expect(tail.at(-1)!.startsWith('19:')).toBe(true);
  });

  it('gives a brief of at most four lines of 240 characters', () => {
    const brief = excerptOf(['Error: ' + 'e'.repeat(1000), ...Array.from({ length: 10 }, () => 'z'.repeat(1000))]).brief();
    expect(brief).toHaveLength(4);
    expect(brief.every((l) => l.length <= 241)).toBe(true);
    expect(brief[0]!.startsWith('Error: eee')).toBe(true);
  });
});
