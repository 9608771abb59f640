import { readFileSync } from 'node:fs';

/** A fenced code block of a Markdown file, with the line its fence opens on. */
export interface CodeBlock {
  lang: string;
  text: string;
  line: number;
}

/** Every fenced block of `markdown` (```lang … ```), in order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  for (const m of markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    blocks.push({ lang: m[1], text: m[2], line: markdown.slice(0, m.index).split('\n').length });
  }
  return blocks;
}

/** One shell command of an `sh` block, as a reader copies it: without its trailing `# comment`. */
export interface ShellCommand {
  command: string;
  line: number;
}

/** The commands of every `sh` block: one per non-empty line, trailing comments dropped. */
export function shellCommands(markdown: string): ShellCommand[] {
  const commands: ShellCommand[] = [];
  for (const block of codeBlocks(markdown).filter((b) => b.lang === 'sh')) {
    block.text.split('\n').forEach((raw, i) => {
      const command = raw.replace(/\s+#\s.*$/, '').trim();
      if (command !== '' && !command.startsWith('#')) commands.push({ command, line: block.line + 1 + i });
    });
  }
  return commands;
}

/** The `ts` blocks, each a complete program. */
export function typeScriptSnippets(markdown: string): CodeBlock[] {
  return codeBlocks(markdown).filter((b) => b.lang === 'ts');
}

export function readMarkdown(file: string): string {
  return readFileSync(file, 'utf8');
}
