import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callOf, componentError, fakeHost } from './fake-host.js';
import { makeTempDirSync } from '../../support/temp-dir.js';

// Layout: <base>/root is the allowed root; <base>/outside is not.
let base: string;
let root: string;
let outside: string;
beforeAll(() => {
  base = makeTempDirSync('load-file-roots');
  root = join(base, 'root');
  outside = join(base, 'outside');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(outside, 'dir'), { recursive: true });
  mkdirSync(join(base, 'second'));
  writeFileSync(join(root, 'inside.json'), '{"ok": true}');
  writeFileSync(join(root, 'ten.txt'), '0123456789');
  writeFileSync(join(root, 'eleven.txt'), '0123456789a');
  writeFileSync(join(outside, 'secret.txt'), 'top secret');
  writeFileSync(join(outside, 'dir', 'secret.txt'), 'top secret');
  writeFileSync(join(base, 'second', 'other.txt'), 'second root');
  symlinkSync(join(outside, 'secret.txt'), join(root, 'link-out.txt'));
  symlinkSync(join(outside, 'dir'), join(root, 'dir-out'));
  symlinkSync(join(root, 'inside.json'), join(root, 'sub', 'link-in.json'));
  symlinkSync(root, join(base, 'root-link'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

const loadFile = (path: string, roots: string[] = [root], maxBytes?: number) => {
  const { plugin } = fakeHost(undefined, root, { roots, ...(maxBytes === undefined ? {} : { maxBytes }) });
  return plugin.execute(callOf('/load_file', { path }));
};

describe('/load_file confined to its roots', () => {
  it('reads a file below the root, also through a ".." that stays inside and a symlink that stays inside', async () => {
    await expect(loadFile('inside.json')).resolves.toMatchObject({ outcome: 'success', value: { data: { ok: true } } });
    await expect(loadFile('sub/../inside.json')).resolves.toMatchObject({ value: { data: { ok: true } } });
    await expect(loadFile('sub/link-in.json')).resolves.toMatchObject({ value: { data: { ok: true } } });
  });

  it('refuses a ".." that leaves the root with -32007 naming the path', async () => {
    const error = await componentError(loadFile('../outside/secret.txt'));
    expect(error).toMatchObject({
      code: -32007,
      message: expect.stringContaining('../outside/secret.txt is outside the directories load_file may read'),
      data: { path: '../outside/secret.txt', resolved_path: join(outside, 'secret.txt') },
    });
    expect(error.message).toContain(root);
    expect(JSON.stringify(error)).not.toContain('top secret');
  });

  it('refuses an absolute path outside the roots with -32007, whether or not it exists', async () => {
    expect(await componentError(loadFile(join(outside, 'secret.txt')))).toMatchObject({ code: -32007, data: { path: join(outside, 'secret.txt') } });
    expect(await componentError(loadFile('/etc/passwd'))).toMatchObject({ code: -32007, message: expect.stringContaining('/etc/passwd') });
    expect(await componentError(loadFile(join(outside, 'missing.txt')))).toMatchObject({ code: -32007 });
  });

  it('refuses a symlink to a file outside, and a path through a symlinked directory outside, with -32007', async () => {
    const file = await componentError(loadFile('link-out.txt'));
    expect(file).toMatchObject({ code: -32007, message: expect.stringContaining('link-out.txt leads through a symlink outside') });
    const viaDir = await componentError(loadFile('dir-out/secret.txt'));
    expect(viaDir).toMatchObject({ code: -32007, data: { path: 'dir-out/secret.txt' } });
  });

  it('accepts a root that is itself a symlink, by either spelling of the path', async () => {
    const roots = [join(base, 'root-link')];
    await expect(loadFile(join(base, 'root-link', 'inside.json'), roots)).resolves.toMatchObject({ value: { data: { ok: true } } });
    await expect(loadFile(join(root, 'inside.json'), roots)).resolves.toMatchObject({ value: { data: { ok: true } } });
  });

  it('reads below any of several roots, and answers -32011 for a missing file inside them', async () => {
    const roots = [root, join(base, 'second')];
    await expect(loadFile(join(base, 'second', 'other.txt'), roots)).resolves.toMatchObject({ value: { data: 'second root' } });
    expect(await componentError(loadFile('nope.json', roots))).toMatchObject({ code: -32011, message: expect.stringContaining(join(root, 'nope.json')) });
  });
});

describe('/load_file reads only regular files, up to a size cap', () => {
  it('refuses /dev/zero with -32012 naming the path, without reading it', async () => {
    const error = await componentError(loadFile('/dev/zero', [root, '/dev']));
    expect(error).toMatchObject({ code: -32012, message: 'Not a regular file: /dev/zero is a device; load_file reads regular files only' });
  });

  it.skipIf(process.platform === 'win32')('refuses a FIFO with -32012 instead of waiting for a writer', async () => {
    const fifo = join(root, 'pipe');
    execFileSync('mkfifo', [fifo]);
    try {
      expect(await componentError(loadFile('pipe'))).toMatchObject({ code: -32012, message: expect.stringContaining(`${fifo} is a FIFO`) });
    } finally {
      rmSync(fifo);
    }
  });

  it('refuses a directory with -32012', async () => {
    expect(await componentError(loadFile('sub'))).toMatchObject({ code: -32012, message: expect.stringContaining(`${join(root, 'sub')} is a directory`) });
  });

  it('reads a file of exactly maxBytes and refuses one byte more with -32012 naming the path and the cap', async () => {
    await expect(loadFile('ten.txt', [root], 10)).resolves.toMatchObject({ value: { data: '0123456789', metadata: { size_bytes: 10 } } });
    const error = await componentError(loadFile('eleven.txt', [root], 10));
    expect(error).toMatchObject({
      code: -32012,
      message: `File too large: ${join(root, 'eleven.txt')} is over load_file's limit of 10 bytes (builtin.loadFile.maxBytes)`,
      data: { path: 'eleven.txt', max_bytes: 10 },
    });
  });

  // A /proc file says it is empty but has content: the cap must hold while reading, not only at fstat.
  it.skipIf(!existsSync('/proc/self/status'))('stops reading at the cap when a file holds more than its size says', async () => {
    const error = await componentError(loadFile('/proc/self/status', ['/proc'], 16));
    expect(error).toMatchObject({ code: -32012, message: expect.stringContaining('over load_file\'s limit of 16 bytes') });
  });

  it('refuses a path with a NUL character with -32602 naming the field', async () => {
    expect(await componentError(loadFile('inside.json\0.txt'))).toMatchObject({ code: -32602, message: expect.stringContaining('"path"') });
  });
});
