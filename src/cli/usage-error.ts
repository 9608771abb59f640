/** A command-line mistake or an unusable input file: printed as one message, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
