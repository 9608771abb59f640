/** Where a command writes: results to stdout, human messages to stderr. Swappable in tests. */
export interface Output {
  line(text: string): void;
  error(text: string): void;
}

export const processOutput: Output = {
  line: (text) => void process.stdout.write(text + '\n'),
  error: (text) => void process.stderr.write(text + '\n'),
};
