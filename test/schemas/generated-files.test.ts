import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildSchemas, renderSchemaFiles } from '../../scripts/schemas.js';

const schemasDir = new URL('../../schemas/', import.meta.url);

describe('schemas/ (generated JSON Schema)', () => {
  for (const [file, expected] of renderSchemaFiles()) {
    it(`schemas/${file} is up to date with protocol/`, () => {
      const committed = readFileSync(new URL(file, schemasDir), 'utf8');
      // One assertion with a hint, rather than a huge diff with none.
      expect(committed === expected, `schemas/${file} is stale: run \`npm run schemas\` and commit the result`).toBe(true);
    });
  }

  it('generates the same documents on every call', () => {
    expect(JSON.stringify(buildSchemas())).toBe(JSON.stringify(buildSchemas()));
  });

  it('writes 2-space JSON ending in one newline', () => {
    for (const text of renderSchemaFiles().values()) {
      expect(text.endsWith('}\n')).toBe(true);
      expect(text.split('\n')[1]).toMatch(/^ {2}"/);
    }
  });

  it('has a Params and a Result def for every method, and lists defs in sorted order', () => {
    const defs = Object.keys(buildSchemas()['protocol.json'].$defs as object);
    expect(defs).toEqual([...defs].sort());
    for (const name of ['Initialize', 'ComponentsList', 'ComponentsInfo', 'ComponentsExecute', 'BlobsPut', 'BlobsGet',
      'RunsSubmit', 'RunsGet', 'RunsCancel', 'RunsList']) {
      expect(defs).toContain(`${name}Params`);
      expect(defs).toContain(`${name}Result`);
      expect(defs).toContain(`${name}Request`);
      expect(defs).toContain(`${name}Response`);
    }
    for (const name of ['InitializedParams', 'CancelRequestParams', 'RunStatus', 'ItemResult', 'FlowResult',
      'Observability', 'ComponentInfo', 'ErrorObject', 'RequestMessage', 'NotificationMessage', 'SuccessResponse', 'ErrorResponse']) {
      expect(defs).toContain(name);
    }
  });
});
