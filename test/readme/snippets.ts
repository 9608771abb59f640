import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { CodeBlock } from './readme-blocks.js';
import { README_URL, toShell, type Session } from './command-kinds.js';
import { ROOT, runShell } from './workspace.js';

const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** A README `ts` block written out as a program of its own. */
export interface Snippet {
  block: CodeBlock;
  /** `snippets/<prefix>-line-N.ts` in the session dir (N: the line of its fence). */
  source: string;
  /** The compiled module. */
  compiled: string;
}

/**
 * Writes each snippet as a module of a project in the session dir and compiles them together
 * with the repository's tsc. They import `flowrun`, `flowrun/sdk`, … by the package name, which
 * resolves through package.json `exports` to the built `dist/` — as in a user's project.
 */
export async function compileSnippets(blocks: CodeBlock[], session: Pick<Session, 'dir'>, prefix = 'readme'): Promise<Snippet[]> {
  await mkdir(join(session.dir, 'snippets'), { recursive: true });
  const snippets = blocks.map((block) => ({
    block,
    source: join(session.dir, 'snippets', `${prefix}-line-${block.line}.ts`),
    compiled: join(session.dir, 'snippets-out', `${prefix}-line-${block.line}.js`),
  }));
  for (const s of snippets) await writeFile(s.source, s.block.text);
  const tsconfig = {
    compilerOptions: {
      target: 'ES2023',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023'],
      types: ['node'],
      strict: true,
      skipLibCheck: true,
      rootDir: 'snippets',
      outDir: 'snippets-out',
    },
    include: ['snippets/*.ts'],
  };
  await writeFile(join(session.dir, 'tsconfig.snippets.json'), JSON.stringify(tsconfig));
  const result = await runShell(`node ${JSON.stringify(TSC)} -p tsconfig.snippets.json`, session.dir);
  expect(result.code, `${prefix}: ts snippets do not compile (file names give the line of each):\n${result.stdout}${result.stderr}`).toBe(0);
  return snippets;
}

/** How a snippet is run and what it must print; chosen by what it imports. */
export interface SnippetKind {
  name: string;
  applies(text: string): boolean;
  run(snippet: Snippet, session: Session): Promise<void>;
}

async function runNode(file: string, session: Session): Promise<string> {
  const result = await runShell(`node ${JSON.stringify(file)}`, session.dir);
  expect(result.code, `${file} exited with ${result.code}\n${result.stderr.slice(-2000)}`).toBe(0);
  return result.stdout;
}

/** A flow calling the snippet server's `/greet`, and a config spawning the server. */
async function writeSnippetServerFlow(snippet: Snippet, session: Session): Promise<{ flow: string; config: string }> {
  const flow = join(session.dir, 'snippets', 'greet.yaml');
  const config = join(session.dir, 'snippets', 'flowrun.yaml');
  await writeFile(flow, 'steps:\n  - { id: g, component: /snippet/greet, input: { name: { $input: name } } }\noutput: { $step: g, path: message }\n');
  await writeFile(
    config,
    `plugins:\n  snippet: { type: stepflow, command: node, args: [${JSON.stringify(snippet.compiled)}] }\nroutes:\n  "/snippet/{*component}": [{ plugin: snippet }]\nblobStore: { type: memory }\n`,
  );
  return { flow, config };
}

export const SNIPPET_KINDS: SnippetKind[] = [
  {
    name: 'client of the served runtime',
    applies: (text) => text.includes("from 'flowrun/client'"),
    async run(snippet, session) {
      // It names the default URL; point it at the port `serve` got, then run it against that server.
      const js = await readFile(snippet.compiled, 'utf8');
      expect(js).toContain(README_URL);
      await writeFile(snippet.compiled, js.replaceAll(README_URL, session.url!));
      expect(await runNode(snippet.compiled, session)).toContain('Hello, Ada!');
    },
  },
  {
    name: 'component server',
    applies: (text) => text.includes("from 'flowrun/sdk'"),
    async run(snippet, session) {
      const { flow, config } = await writeSnippetServerFlow(snippet, session);
      const result = await runShell(toShell(`npx flowrun run --flow ${flow} --config ${config} --input-json '{"name":"Ada"}'`, session), session.dir);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ outcome: 'success', value: 'Hello, Ada!' });
    },
  },
  {
    name: 'embedded runtime',
    applies: (text) => /import \{[^}]*\bRuntime\b[^}]*\} from 'flowrun';/.test(text),
    async run(snippet, session) {
      expect(await runNode(snippet.compiled, session)).toContain('Hello, Ada!');
    },
  },
];

