import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { stopChild } from '../../bench/lib/children.js';

/** One `flowrun serve` of the demo's cluster. */
export interface ClusterNode {
  /** 1-based, as the report names it. */
  number: number;
  child: ChildProcess;
  url: string;
}

/** How long a node may take to print its URL (PostgreSQL migrations, a busy machine). */
const LISTEN_TIMEOUT_MS = 30_000;
/** How long a SIGTERMed node may take to hand its chunks back before it is killed. */
const STOP_GRACE_MS = 10_000;

/**
 * The nodes of the demo: `flowrun serve --port 0` children of the built CLI sharing one config,
 * all logging (pino, stderr) to one file.
 */
export class ClusterNodes {
  readonly nodes: ClusterNode[] = [];
  private readonly logFd: number;

  constructor(
    private readonly bin: string,
    private readonly configPath: string,
    readonly logPath: string,
  ) {
    this.logFd = openSync(logPath, 'a');
  }

  /** Starts the next node and waits for the `{"url": …}` line it prints once listening. */
  async start(): Promise<ClusterNode> {
    const child = spawn(process.execPath, [this.bin, 'serve', '--port', '0', '--config', this.configPath], {
      env: { ...process.env, FLOWRUN_LOG_LEVEL: 'info', FLOWRUN_TOKEN: '' },
      stdio: ['ignore', 'pipe', this.logFd],
    });
    const number = this.nodes.length + 1;
    const node: ClusterNode = { number, child, url: '' };
    this.nodes.push(node);
    node.url = await readUrl(child, `node ${number}`);
    return node;
  }

  /** SIGKILL: the node gets no chance to hand anything back. */
  kill(node: ClusterNode): Promise<void> {
    node.child.kill('SIGKILL');
    return stopChild(node.child);
  }

  /** SIGTERMs every node still running and waits for them; closes the log file. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.nodes.map((node) => {
        if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGTERM');
        return stopChild(node.child, STOP_GRACE_MS);
      }),
    );
    closeSync(this.logFd);
  }
}

/** The URL of the first stdout line `{"url": …}`; rejects if the node exits or stays silent. */
function readUrl(child: ChildProcess, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => fail(new Error(`${name} did not start listening within ${LISTEN_TIMEOUT_MS} ms`)), LISTEN_TIMEOUT_MS);
    const onExit = (code: number | null, signal: string | null) => fail(new Error(`${name} exited (${signal ?? `code ${code}`}) before listening`));
    function fail(err: Error): void {
      clearTimeout(timer);
      lines.close();
      reject(err);
    }
    child.once('exit', onExit);
    lines.once('line', (line) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      try {
        resolve((JSON.parse(line) as { url: string }).url);
      } catch {
        reject(new Error(`${name} printed ${JSON.stringify(line)} instead of {"url": …}`));
      }
    });
  });
}
