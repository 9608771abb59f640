import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kindOf, type Session } from './command-kinds.js';
import { loadConfig } from '../../src/config/index.js';
import { codeBlocks, readMarkdown, shellCommands, typeScriptSnippets } from './readme-blocks.js';
import { compileSnippets, SNIPPET_KINDS, type Snippet } from './snippets.js';
import { createRepoCopy, ROOT } from './workspace.js';

/**
 * Every command of the README's `sh` blocks runs as written, in order, from a stand-in for the
 * repository root, and its outcome is checked by its form (`command-kinds.ts`). A command of a
 * form nobody checks fails, so the README cannot drift from what works. The `ts` blocks are
 * compiled against the built package and run (`snippets.ts`), and its `yaml` blocks are read as
 * configs. Needs `npm run build` first.
 */
const README = readMarkdown(join(ROOT, 'README.md'));
const commands = shellCommands(README);
const snippets = typeScriptSnippets(README);

describe('README', () => {
  let repo: Awaited<ReturnType<typeof createRepoCopy>>;
  const session = {} as Session;

  beforeAll(async () => {
    repo = await createRepoCopy();
    session.dir = repo.dir;
  });

  afterAll(async () => {
    await session.serve?.stop();
    await repo?.remove();
  });

  it('has sh commands and ts snippets, each of a form this test checks', () => {
    expect(commands.length).toBeGreaterThan(0);
    const unknown = commands.filter((c) => kindOf(c.command) === undefined).map((c) => `README.md:${c.line}: ${c.command}`);
    expect(unknown, 'commands this test does not know how to check: add a form to command-kinds.ts').toEqual([]);
    const unknownSnippets = snippets.filter((s) => SNIPPET_KINDS.every((k) => !k.applies(s.text))).map((s) => `README.md:${s.line}`);
    expect(unknownSnippets, 'ts blocks this test does not know how to run: add a kind to snippets.ts').toEqual([]);
  });

  for (const { command, line } of commands) {
    it(`README.md:${line}: ${command}`, async (ctx) => {
      const kind = kindOf(command);
      expect(kind, 'a command of an unknown form').toBeDefined();
      await kind!.run(command, session, (note) => ctx.skip(note));
    }, kindOf(command)?.timeoutMs);
  }

  let compiled: Snippet[] = [];
  it('ts snippets compile against the built package', async () => {
    compiled = await compileSnippets(snippets, session);
  });

  for (const block of snippets) {
    it(`README.md:${block.line}: the ts snippet runs`, async () => {
      const snippet = compiled.find((s) => s.block === block);
      expect(snippet, 'the snippets did not compile').toBeDefined();
      const kind = SNIPPET_KINDS.find((k) => k.applies(block.text));
      expect(kind, 'a snippet of an unknown kind').toBeDefined();
      await kind!.run(snippet!, session);
    });
  }

  it('yaml blocks are valid configs', async () => {
    const blocks = codeBlocks(README).filter((b) => b.lang === 'yaml');
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      const file = join(session.dir, `readme-line-${block.line}.yaml`);
      await writeFile(file, block.text);
      const config = await loadConfig({ configPath: file, env: {} });
      expect(Object.keys(config.plugins).length, `README.md:${block.line}`).toBeGreaterThan(0);
    }
  });

  it('serve stops cleanly on SIGTERM', async () => {
    expect(session.serve, 'the README starts no serve').toBeDefined();
    expect(await session.serve!.stop()).toBe(0);
  });
});
