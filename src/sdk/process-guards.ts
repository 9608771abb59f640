import { Console } from 'node:console';
import type { ComponentServer } from './component-server.js';

let guarded = false;

/**
 * Protects a component server process from its component code: stray `console.log` & co. go to
 * stderr (stdout carries protocol messages, or the one port line), and a forgotten promise's
 * rejection is logged instead of taking every other in-flight call down with the process.
 * Installed once per process.
 */
export function guardComponentProcess(server: ComponentServer): void {
  if (guarded) return;
  guarded = true;
  redirectConsoleToStderr();
  process.on('unhandledRejection', (reason) => {
    server.logger.error({ err: reason }, 'unhandled promise rejection in component code');
  });
}

function redirectConsoleToStderr(): void {
  const stderrConsole = new Console({ stdout: process.stderr, stderr: process.stderr });
  console.log = stderrConsole.log.bind(stderrConsole);
  console.info = stderrConsole.info.bind(stderrConsole);
  console.debug = stderrConsole.debug.bind(stderrConsole);
  console.trace = stderrConsole.trace.bind(stderrConsole);
  console.dir = stderrConsole.dir.bind(stderrConsole);
  console.table = stderrConsole.table.bind(stderrConsole);
}
