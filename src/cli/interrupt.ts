/** Exit code after Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT_CODE = 130;

/**
 * Runs `onInterrupt` at the first Ctrl-C (SIGINT) and exits at once at the second, for a person
 * who does not want to wait for the first to finish. Returns a function that stops listening.
 */
export function handleInterrupt(onInterrupt: () => void): () => void {
  let interrupted = false;
  const listener = () => {
    if (interrupted) process.exit(INTERRUPTED_EXIT_CODE);
    interrupted = true;
    onInterrupt();
  };
  process.on('SIGINT', listener);
  return () => void process.off('SIGINT', listener);
}
