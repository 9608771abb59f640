import { rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callOf, componentError, fakeHost } from './fake-host.js';
import { makeTempDirSync } from '../../support/temp-dir.js';

let dir: string;
beforeAll(() => {
  dir = makeTempDirSync('load-file');
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'config.json'), '{"a": [1, 2], "b": "ü"}');
  writeFileSync(join(dir, 'data', 'list.YML'), '- one\n- two: 2\n');
  writeFileSync(join(dir, 'notes.txt'), 'héllo\n');
  writeFileSync(join(dir, 'broken.json'), '{"a": ');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('/load_file', () => {
  it('parses a .json file relative to the working directory and reports its metadata', async () => {
    const { plugin } = fakeHost(undefined, dir);
    const result = await plugin.execute(callOf('/load_file', { path: 'data/config.json' }));
    expect(result).toEqual({
      outcome: 'success',
      value: {
        data: { a: [1, 2], b: 'ü' },
        // size_bytes counts bytes, not characters: ü is two bytes in UTF-8.
        metadata: { resolved_path: join(dir, 'data', 'config.json'), size_bytes: 24, format: 'json' },
      },
    });
  });

  it('parses .yaml/.yml files whatever the case of the extension', async () => {
    const { plugin } = fakeHost(undefined, dir);
    const result = await plugin.execute(callOf('/load_file', { path: 'data/list.YML' }));
    expect(result).toMatchObject({ value: { data: ['one', { two: 2 }], metadata: { format: 'yaml' } } });
  });

  it('reads any other file as text, and accepts an absolute path', async () => {
    const { plugin } = fakeHost(undefined, '/');
    const result = await plugin.execute(callOf('/load_file', { path: join(dir, 'notes.txt') }));
    expect(result).toEqual({
      outcome: 'success',
      value: { data: 'héllo\n', metadata: { resolved_path: join(dir, 'notes.txt'), size_bytes: 7, format: 'text' } },
    });
  });

  it('uses an explicit format over the extension', async () => {
    const { plugin } = fakeHost(undefined, dir);
    const result = await plugin.execute(callOf('/load_file', { path: 'data/config.json', format: 'text' }));
    expect(result).toMatchObject({ value: { data: '{"a": [1, 2], "b": "ü"}', metadata: { format: 'text' } } });
  });

  it('fails with -32011 naming the path when the file does not exist', async () => {
    const { plugin } = fakeHost(undefined, dir);
    const error = await componentError(plugin.execute(callOf('/load_file', { path: 'missing.json' })));
    expect(error).toMatchObject({
      code: -32011,
      message: `File not found: ${join(dir, 'missing.json')}`,
      data: { path: 'missing.json', resolved_path: join(dir, 'missing.json') },
    });
  });

  it('fails with -32012 naming the path and format when the content does not parse', async () => {
    const { plugin } = fakeHost(undefined, dir);
    const error = await componentError(plugin.execute(callOf('/load_file', { path: 'broken.json' })));
    expect(error.code).toBe(-32012);
    expect(error.message).toContain(join(dir, 'broken.json'));
    expect(error.data).toMatchObject({ resolved_path: join(dir, 'broken.json'), format: 'json' });
  });

  it('refuses a directory with -32012, and an unknown format with -32602', async () => {
    const { plugin } = fakeHost(undefined, dir);
    const isDir = await componentError(plugin.execute(callOf('/load_file', { path: 'data' })));
    expect(isDir).toMatchObject({ code: -32012, message: expect.stringContaining(join(dir, 'data')) });
    const badFormat = await componentError(plugin.execute(callOf('/load_file', { path: 'notes.txt', format: 'csv' })));
    expect(badFormat).toMatchObject({ code: -32602, message: expect.stringContaining('"format"') });
  });
});
