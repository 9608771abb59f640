import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { findPostgresBin, POSTGRES_NOT_FOUND } from '../support/postgres-bin.js';
import { BIN, runShell, startBackground, type BackgroundCommand, type CommandResult } from './workspace.js';

/** What the README's commands share as they run in order: the served runtime, the last run id. */
export interface Session {
  /** The stand-in repository root the commands run in. */
  dir: string;
  serve?: BackgroundCommand;
  /** The URL `serve` printed; replaces the README's `ws://127.0.0.1:7837/`. */
  url?: string;
  /** The `runId` the last `submit` printed; replaces `RUN_ID`. */
  runId?: string;
}

/**
 * A form of README command this test knows how to run and check. A command matching none of
 * them fails the test: the README cannot gain a command nobody checks.
 */
export interface CommandKind {
  name: string;
  pattern: RegExp;
  /** The test's bound when the command takes longer than the suite's default. */
  timeoutMs?: number;
  /** Runs and checks the command; `skip` ends the test as skipped, saying why. */
  run(command: string, session: Session, skip: (note: string) => never): Promise<void>;
}

export const README_URL = 'ws://127.0.0.1:7837/';

/**
 * The command as a reader runs it, with three substitutions: `npx flowrun` is the built bin,
 * `RUN_ID` the run `submit` printed, and the default URL the port `serve` really got (the test
 * asks for a free one, as other suites may be serving on the default port).
 */
export function toShell(command: string, session: Session): string {
  let shell = command.replace(/\bnpx flowrun\b/g, `node ${JSON.stringify(BIN)}`);
  if (shell.includes('RUN_ID')) {
    if (session.runId === undefined) throw new Error(`"${command}" needs RUN_ID, but no submit before it printed one`);
    shell = shell.replaceAll('RUN_ID', session.runId);
  }
  if (shell.includes(README_URL)) {
    if (session.url === undefined) throw new Error(`"${command}" needs a served runtime, but no serve command came before it`);
    shell = shell.replaceAll(README_URL, session.url);
  }
  return shell;
}

function envFor(session: Session): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...(session.url ? { FLOWRUN_URL: session.url } : {}) };
  delete env.FLOWRUN_TOKEN;
  return env;
}

async function run(command: string, session: Session): Promise<CommandResult> {
  const result = await runShell(toShell(command, session), session.dir, envFor(session));
  const exitCode = result.code ?? result.signal;
  expect(exitCode, `"${command}" exited with ${exitCode}\nstderr: ${result.stderr.slice(-2000)}`).toBe(0);
  return result;
}

/** Every JSON value printed one per line. */
function jsonLines(text: string): unknown[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
}

/** The last line of stdout that is a JSON object (a status may follow other output). */
function lastJsonObject(text: string): Record<string, any> {
  const lines = text.split('\n').filter((l) => l.trim().startsWith('{'));
  expect(lines.length, `no JSON object in stdout:\n${text.slice(-2000)}`).toBeGreaterThan(0);
  return JSON.parse(lines[lines.length - 1]) as Record<string, any>;
}

/** The runs a `list` printed: `{runs, nextCursor?}`, an array, or one RunStatus per line. */
function runsListed(stdout: string): Array<{ runId: string; status: string }> {
  try {
    const whole = JSON.parse(stdout) as unknown;
    if (Array.isArray(whole)) return whole;
    if (typeof whole === 'object' && whole !== null && Array.isArray((whole as { runs?: unknown }).runs)) return (whole as { runs: [] }).runs;
  } catch {
    // not one JSON document: JSON lines
  }
  return jsonLines(stdout) as Array<{ runId: string; status: string }>;
}

function flagValue(command: string, flag: string): string | undefined {
  return new RegExp(`(?:^|\\s)${flag}[ =](\\S+)`).exec(command)?.[1];
}

function inputLines(session: Session, file: string): number {
  return readFileSync(join(session.dir, file), 'utf8').split('\n').filter((l) => l.trim() !== '').length;
}

function expectAllSucceeded(results: unknown[], expected: number): void {
  expect(results).toHaveLength(expected);
  for (const r of results) expect(r).toMatchObject({ outcome: 'success' });
}

/** The command of package.json script `name`, without its leading build step (the test runs on a build). */
function scriptAfterBuild(session: Session, name: string): string {
  const script = JSON.parse(readFileSync(join(session.dir, 'package.json'), 'utf8')).scripts[name] as string;
  expect(script.startsWith('npm run build && ')).toBe(true);
  return script.slice('npm run build && '.length);
}

/** The README commands, by form. Order does not matter; the first match is used. */
export const COMMAND_KINDS: CommandKind[] = [
  {
    // `npm install` is the precondition of this very test; the demo script is run without its build step (the test runs on a build).
    name: 'install and demo',
    pattern: /^npm install && npm run demo$/,
    async run(_command, session) {
      const rest = scriptAfterBuild(session, 'demo');
      const { stdout } = await run(rest, session);
      expectAllSucceeded(jsonLines(stdout), inputLines(session, flagValue(rest, '--inputs')!));
    },
  },
  {
    // Three serve nodes on a throw-away PostgreSQL, one of them killed mid-run; the script checks
    // every result itself and exits 0 only if each item succeeded once. CI has PostgreSQL.
    name: 'cluster demo',
    pattern: /^npm run cluster-demo$/,
    timeoutMs: 150_000,
    async run(_command, session, skip) {
      if (findPostgresBin() === undefined && !process.env.FLOWRUN_TEST_PG_URL) skip(`${POSTGRES_NOT_FOUND}: the cluster demo needs it`);
      const { stdout } = await run(scriptAfterBuild(session, 'cluster-demo'), session);
      expect(stdout).toMatch(/^every item succeeded exactly once: 5000 of 5000$/m);
      expect(stdout).toMatch(/^killed node 2 \(SIGKILL\) holding [1-9]\d* chunk/m);
      const takenOver = /^node 2's chunks taken over by the others: (\d+)/m.exec(stdout);
      expect(Number(takenOver?.[1]), stdout).toBeGreaterThan(0);
      expect(stdout).toMatch(/"alive":false/);
    },
  },
  {
    // The command that runs this file; it is checked by being what runs it.
    name: 'whole test suite',
    pattern: /^npm test$/,
    async run(_command, session) {
      const test = JSON.parse(readFileSync(join(session.dir, 'package.json'), 'utf8')).scripts.test as string;
      expect(test).toMatch(/vitest run$/);
    },
  },
  {
    name: 'run over a file of inputs',
    pattern: /^npx flowrun run .*--inputs \S+/,
    async run(command, session) {
      const { stdout } = await run(command, session);
      expectAllSucceeded(jsonLines(stdout), inputLines(session, flagValue(command, '--inputs')!));
    },
  },
  {
    name: 'run over one input',
    pattern: /^npx flowrun run .*--input(-json)? /,
    async run(command, session) {
      const { stdout } = await run(command, session);
      expectAllSucceeded(jsonLines(stdout), 1);
    },
  },
  {
    name: 'test cases',
    pattern: /^npx flowrun test /,
    async run(command, session) {
      const { stdout, stderr } = await run(command, session);
      const summary = /(\d+) passed, (\d+) failed/.exec(stdout + stderr);
      expect(summary, `no "N passed, N failed" line:\n${stdout}${stderr}`).not.toBeNull();
      expect(Number(summary![1])).toBeGreaterThan(0);
      expect(Number(summary![2])).toBe(0);
    },
  },
  {
    name: 'validate',
    pattern: /^npx flowrun validate \S+/,
    async run(command, session) {
      // Exit 0 is the verdict; the flow named must not be reported with an error.
      const { stdout, stderr } = await run(command, session);
      expect(stdout + stderr).not.toMatch(/\berror\b/);
    },
  },
  {
    name: 'components',
    pattern: /^npx flowrun components --config \S+$/,
    async run(command, session) {
      const { stdout } = await run(command, session);
      // Each route of the config shows at least one component under its prefix.
      const config = parseYaml(readFileSync(join(session.dir, flagValue(command, '--config')!), 'utf8')) as { routes: Record<string, unknown> };
      for (const pattern of Object.keys(config.routes)) expect(stdout).toContain(pattern.slice(0, pattern.indexOf('{')));
    },
  },
  {
    name: 'serve',
    pattern: /^npx flowrun serve( |$)/,
    async run(command, session) {
      // The README gives no port (the default); a free one is asked for instead, and its URL used by the commands after it.
      const shell = `${toShell(command, session)} --port 0`;
      const serve = startBackground(shell, session.dir, { ...envFor(session), FLOWRUN_LOG_LEVEL: 'info' }, (l) => l.startsWith('{"url"'));
      session.serve = serve;
      session.url = (JSON.parse(await serve.ready) as { url: string }).url;
      const config = flagValue(command, '--config');
      if (config !== undefined) expect(serve.stderr()).toContain(`config: ${join(session.dir, config)}`);
      expect(serve.stderr()).toMatch(/"msg":"routes: \//);
    },
  },
  {
    name: 'submit and wait',
    pattern: /^npx flowrun submit .*--inputs \S+.*--wait/,
    async run(command, session) {
      const { stdout } = await run(command, session);
      const status = lastJsonObject(stdout);
      const total = inputLines(session, flagValue(command, '--inputs')!);
      expect(status).toMatchObject({ status: 'success', items: { total, success: total, failed: 0 } });
      session.runId = status.runId as string;
    },
  },
  {
    name: 'get',
    pattern: /^npx flowrun get RUN_ID /,
    async run(command, session) {
      const { stdout } = await run(command, session);
      const status = lastJsonObject(stdout);
      expect(status).toMatchObject({ runId: session.runId, status: 'success' });
      if (command.includes('--results')) {
        expect(status.results).toHaveLength(status.items.total);
        expectAllSucceeded((status.results as Array<{ result: unknown }>).map((r) => r.result), status.items.total);
      }
    },
  },
  {
    name: 'cancel',
    pattern: /^npx flowrun cancel RUN_ID /,
    async run(command, session) {
      // The run has finished: cancelling it answers its status unchanged.
      const { stdout } = await run(command, session);
      expect(lastJsonObject(stdout)).toMatchObject({ runId: session.runId, status: 'success' });
    },
  },
  {
    name: 'list',
    pattern: /^npx flowrun list /,
    async run(command, session) {
      const { stdout } = await run(command, session);
      const runs = runsListed(stdout);
      const statuses = flagValue(command, '--status')?.split(',');
      for (const r of runs) if (statuses) expect(statuses).toContain(r.status);
      if (!statuses || statuses.includes('success')) expect(runs.map((r) => r.runId)).toContain(session.runId);
    },
  },
];

export function kindOf(command: string): CommandKind | undefined {
  return COMMAND_KINDS.find((k) => k.pattern.test(command));
}
