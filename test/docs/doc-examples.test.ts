import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { codeBlocks, readMarkdown, type CodeBlock } from '../readme/readme-blocks.js';
import { compileSnippets } from '../readme/snippets.js';
import { BIN, createRepoCopy, ROOT, runShell } from '../readme/workspace.js';

/**
 * The examples of docs/flows.md run as written: every `yaml` block that is a flow passes its own
 * `test` cases (with the greeter example's config, or its inline `test.config`), and every `sh`
 * command followed by a `# <JSON>` line prints that JSON. Wrong docs are worse than none.
 */
const FLOWS_DOC = 'docs/flows.md';
const GREETER_CONFIG = 'examples/greeter/flowrun.yaml';

interface FlowExample {
  block: CodeBlock;
  cases: number;
  inlineConfig: boolean;
}

function flowExamples(markdown: string): FlowExample[] {
  return codeBlocks(markdown)
    .filter((b) => b.lang === 'yaml')
    .map((block) => ({ block, flow: parseYaml(block.text) as { steps?: unknown; test?: { cases?: unknown[]; config?: unknown } } }))
    .filter(({ flow }) => Array.isArray(flow.steps))
    .map(({ block, flow }) => ({ block, cases: flow.test?.cases?.length ?? 0, inlineConfig: flow.test?.config !== undefined }));
}

/** `command` (continuation lines joined) and the JSON its stdout must be, from a `# {…}` line after it. */
function commandsWithOutput(markdown: string): Array<{ command: string; expected: unknown; line: number }> {
  const out: Array<{ command: string; expected: unknown; line: number }> = [];
  for (const block of codeBlocks(markdown).filter((b) => b.lang === 'sh')) {
    const lines = block.text.replace(/\\\n\s*/g, '').split('\n');
    lines.forEach((l, i) => {
      const next = lines[i + 1]?.trim();
      if (l.trim() !== '' && !l.startsWith('#') && next?.startsWith('# ')) {
        out.push({ command: l.trim(), expected: JSON.parse(next.slice(2)), line: block.line + 1 + i });
      }
    });
  }
  return out;
}

const markdown = readMarkdown(join(ROOT, FLOWS_DOC));
const examples = flowExamples(markdown);

describe(FLOWS_DOC, () => {
  let repo: Awaited<ReturnType<typeof createRepoCopy>>;
  beforeAll(async () => {
    repo = await createRepoCopy();
    await mkdir(join(repo.dir, 'doc-flows'));
    for (const e of examples) await writeFile(join(repo.dir, 'doc-flows', `flow-${e.block.line}.yaml`), e.block.text);
  });
  afterAll(() => repo?.remove());

  it('has flow examples, each with test cases', () => {
    expect(examples.length).toBeGreaterThan(5);
    for (const e of examples) expect(e.cases, `${FLOWS_DOC}:${e.block.line} has no test cases`).toBeGreaterThan(0);
  });

  it('flow examples pass their test cases with the greeter config', async () => {
    const files = examples.filter((e) => !e.inlineConfig).map((e) => `doc-flows/flow-${e.block.line}.yaml`);
    const result = await runShell(`node ${JSON.stringify(BIN)} test ${files.join(' ')} --config ${GREETER_CONFIG}`, repo.dir);
    const cases = examples.filter((e) => !e.inlineConfig).reduce((n, e) => n + e.cases, 0);
    expect(result.stderr, result.stderr).toContain(`${cases} passed, 0 failed`);
    expect(result.code).toBe(0);
  });

  it('flow examples with an inline test.config pass on their own', async () => {
    for (const e of examples.filter((x) => x.inlineConfig)) {
      const result = await runShell(`node ${JSON.stringify(BIN)} test doc-flows/flow-${e.block.line}.yaml`, repo.dir);
      expect(result.stderr, result.stderr).toContain(`${e.cases} passed, 0 failed`);
      expect(result.code).toBe(0);
    }
  });

  it('sh commands print the output shown under them', async () => {
    const commands = commandsWithOutput(markdown);
    expect(commands.length).toBeGreaterThan(0);
    for (const { command, expected, line } of commands) {
      const result = await runShell(command.replace(/^npx flowrun\b/, `node ${JSON.stringify(BIN)}`), repo.dir);
      expect(result.code, `${FLOWS_DOC}:${line}: ${result.stderr}`).toBe(0);
      expect(JSON.parse(result.stdout), `${FLOWS_DOC}:${line}`).toEqual(expected);
    }
  });
});

/**
 * The TypeScript of the SDK and client docs compiles against the built package: each `ts` block is
 * a module of its own (signatures shown as such are fenced `typescript`, and not compiled).
 */
describe.each(['docs/sdk.md', 'docs/client.md'])('%s', (doc) => {
  it('ts blocks compile against the built package', async () => {
    const blocks = codeBlocks(readMarkdown(join(ROOT, doc))).filter((b) => b.lang === 'ts');
    expect(blocks.length).toBeGreaterThan(0);
    const repo = await createRepoCopy();
    try {
      await compileSnippets(blocks, repo, doc.replace(/\W/g, '-'));
    } finally {
      await repo.remove();
    }
  });
});
