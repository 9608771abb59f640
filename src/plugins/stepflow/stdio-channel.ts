import { ErrorCodes } from '../../../protocol/index.js';
import type { Logger } from '../../log.js';
import { spawnStdioProcess, type ProcessExit, type StdioProcess } from '../../transport/child-process.js';
import type { StderrExcerpt } from '../../transport/stderr-excerpt.js';
import { errorMessage, ServerStartError, type ServerChannel, type ChannelOpener } from './server-channel.js';

/** What it takes to spawn one component server process. */
export interface StdioLaunch {
  plugin: string;
  command: string;
  args: readonly string[];
  /** The child's whole environment. */
  env: Record<string, string | undefined>;
  cwd?: string;
  logger: Logger;
  maxMessageBytes?: number;
  /** Between SIGTERM and SIGKILL of what is left of the server's process group after it exited, in ms. */
  killGraceMs?: number;
}

/**
 * An opener that spawns the server as a child process speaking NDJSON on stdin/stdout, in its own
 * process group (docs/component-servers.md).
 */
export function stdioOpener(launch: StdioLaunch): ChannelOpener {
  return async () => {
    let proc: StdioProcess;
    try {
      proc = await spawnStdioProcess({
        command: launch.command,
        args: launch.args,
        env: launch.env,
        cwd: launch.cwd,
        name: launch.plugin,
        logger: launch.logger,
        maxMessageBytes: launch.maxMessageBytes,
        killGraceMs: launch.killGraceMs,
      });
    } catch (error) {
      throw new ServerStartError(
        {
          code: ErrorCodes.ResourceUnavailable,
          message: `component server "${launch.plugin}" (${labelOf(launch)}) failed to start: ${errorMessage(error)}`,
          data: { plugin: launch.plugin, command: launch.command, args: launch.args, stderr: [] },
        },
        true,
        launch.plugin,
      );
    }
    return new StdioTransport(launch, proc);
  };
}

class StdioTransport implements ServerChannel {
  readonly label: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly ended: Promise<string>;
  readonly brokenDescription = 'closed its stdout';

  constructor(
    launch: StdioLaunch,
    private readonly proc: StdioProcess,
  ) {
    this.label = labelOf(launch);
    this.details = { command: launch.command, args: launch.args, pid: proc.pid };
    this.ended = proc.exited.then((exit) => `exited (${describeExit(exit)})`);
  }

  get reader() {
    return this.proc.reader;
  }

  get writer() {
    return this.proc.writer;
  }

  get pid(): number {
    return this.proc.pid;
  }

  get stderr(): StderrExcerpt {
    return this.proc.stderr;
  }

  destroy(): void {
    this.proc.kill('SIGKILL');
  }

  async shutdown(graceMs: number): Promise<void> {
    await this.proc.stop(graceMs);
  }
}

function labelOf(launch: StdioLaunch): string {
  return `command "${[launch.command, ...launch.args].join(' ')}"`;
}

function describeExit(exit: ProcessExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
}
