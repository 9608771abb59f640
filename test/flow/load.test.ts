import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowLoadError } from '../../src/errors.js';
import { compileFlow } from '../../src/flow/compile.js';
import { loadFlowFile, parseFlowText } from '../../src/flow/load.js';
import { validateFlow } from '../../src/flow/validate.js';
import { thrownBy } from '../support/errors.js';
import { MOCK_FLOWS } from '../support/paths.js';
import { makeTempDir } from '../support/temp-dir.js';

const loadError = (fn: () => unknown): FlowLoadError => thrownBy(fn, FlowLoadError);

describe('parseFlowText', () => {
  it('parses YAML with the 1.2 core schema: dates and "yes" stay strings', () => {
    const flow = parseFlowText('steps: []\noutput: { when: 2024-01-01, answer: yes, flag: true }\n', 'f.yaml');
    expect(flow.output).toEqual({ when: '2024-01-01', answer: 'yes', flag: true });
  });

  it('parses JSON by extension', () => {
    expect(parseFlowText('{"steps": [], "output": 1}', 'f.json').output).toBe(1);
  });

  it('names the file and line of a YAML syntax error', () => {
    const err = loadError(() => parseFlowText('steps:\n  - id: a\n    input: [1, 2\n  - id: b\n', 'flows/broken.yaml'));
    expect(err.file).toBe('flows/broken.yaml');
    expect(err.line).toBe(4);
    expect(err.message).toMatch(/^flows\/broken\.yaml:4:\d+: invalid YAML: /);
  });

  it('refuses duplicate YAML keys, naming the line', () => {
    const err = loadError(() => parseFlowText('steps: []\noutput: 1\noutput: 2\n', 'dup.yml'));
    expect(err.line).toBe(3);
  });

  it('names the file and line of a JSON syntax error', () => {
    const err = loadError(() => parseFlowText('{\n  "steps": [],\n  "output": 1,\n}\n', 'broken.json'));
    expect(err.file).toBe('broken.json');
    expect(err.line).toBe(4);
    expect(err.message).toMatch(/^broken\.json:4: invalid JSON/);
  });

  it('refuses other extensions', () => {
    expect(loadError(() => parseFlowText('{}', 'flow.toml')).message).toMatch(/unsupported flow file extension ".toml"/);
  });

  it('carries the diagnostics of an invalid flow, with the line of the first error', () => {
    const text = 'steps:\n  - id: a\n    component: /c\n    input:\n      x: { $step: ghost }\noutput: { $step: a }\n';
    const err = loadError(() => parseFlowText(text, 'bad.yaml'));
    expect(err.message).toBe('bad.yaml:5: error: step "a" field "steps[0].input.x.$step": "$step" names unknown step "ghost"');
    expect(err.line).toBe(5);
    expect(err.diagnostics).toEqual([expect.objectContaining({ stepId: 'a', field: 'steps[0].input.x.$step' })]);
  });
});

describe('loadFlowFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('load');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a flow file from disk', async () => {
    const path = join(dir, 'ok.yaml');
    await writeFile(path, 'name: hello\nsteps: []\noutput: 1\n');
    expect((await loadFlowFile(path)).name).toBe('hello');
  });

  it('names the file it cannot read', async () => {
    const path = join(dir, 'missing.yaml');
    await expect(loadFlowFile(path)).rejects.toThrow(FlowLoadError);
    await expect(loadFlowFile(path)).rejects.toThrow(path);
  });
});

describe("the mock-plugin fixture flows, written in Stepflow's format", () => {
  it('all load, validate without errors and compile', async () => {
    const files = (await readdir(MOCK_FLOWS)).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const file of files) {
      const flow = await loadFlowFile(join(MOCK_FLOWS, file));
      expect(validateFlow(flow).diagnostics.filter((d) => d.level === 'error'), file).toEqual([]);
      expect(compileFlow(flow).steps.length, file).toBeGreaterThan(0);
    }
  });
});
