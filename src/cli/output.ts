/** Where a command writes: results to stdout, human messages to stderr. Swappable in tests. */
export interface Output {
  line(text: string): void;
  error(text: string): void;
  /** True when stdout is a terminal (tables for people); false or absent: JSON for programs. */
  readonly isTerminal?: boolean;
}

export const processOutput: Output = {
  line: (text) => void process.stdout.write(text + '\n'),
  error: (text) => void process.stderr.write(text + '\n'),
  get isTerminal() {
    return Boolean(process.stdout.isTTY);
  },
};
