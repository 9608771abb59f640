import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, ROOT, startBackground, type BackgroundCommand } from '../readme/workspace.js';
import { makeTempDir } from '../support/temp-dir.js';

/** `flowrun serve` says at start which config it loaded (or that it found none) and the routes it serves. */
describe('flowrun serve logs its config and routes', () => {
  let serve: BackgroundCommand | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    await serve?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    serve = undefined;
    dir = undefined;
  });

  async function startServe(args: string): Promise<BackgroundCommand> {
    dir = await makeTempDir('serve-log');
    const env = { ...process.env, FLOWRUN_LOG_LEVEL: 'info' };
    serve = startBackground(`node ${JSON.stringify(BIN)} serve --port 0 ${args}`, dir, env, (l) => l.startsWith('{"url"'));
    await serve.ready;
    return serve;
  }

  /** The `msg` of every JSON log line on stderr. */
  function messages(s: BackgroundCommand): string[] {
    return s.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { msg: string }).msg);
  }

  it('names the config file given with --config, and each route with its plugin', async () => {
    const config = join(ROOT, 'examples/greeter/flowrun.yaml');
    const s = await startServe(`--config ${JSON.stringify(config)}`);
    const logged = messages(s);
    expect(logged).toContain(`config: ${config}`);
    expect(logged).toContain('routes: /greeter/{*component} → greeter; /builtin/{*component} → builtin');
  });

  it('warns when it finds no config in its directory, and serves the builtins only', async () => {
    const s = await startServe('');
    const logged = messages(s);
    expect(logged).toContain(`no config file found in ${dir} (give --config): serving the builtins only`);
    expect(logged).toContain('routes: /builtin/{*component} → builtin');
    expect(await s.stop()).toBe(0);
  });
});
