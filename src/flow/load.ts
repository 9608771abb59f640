import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { LineCounter, type Document } from 'yaml';
import { parseYamlDocument, yamlDocumentToJs } from '../config/yaml-values.js';
import type { Flow } from '../../protocol/index.js';
import { FlowLoadError } from '../errors.js';
import { validateFlow, type Diagnostic } from './validate.js';

/** Reads a flow file (`.yaml`, `.yml`, `.json`) and validates it; throws FlowLoadError naming the file. */
export async function loadFlowFile(path: string): Promise<Flow> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new FlowLoadError(`cannot read flow file ${path}: ${(err as Error).message}`, path);
  }
  return parseFlowText(text, path);
}

/** Parses and validates flow text; the format follows the extension of `file`. */
export function parseFlowText(text: string, file: string): Flow {
  const ext = extname(file).toLowerCase();
  if (ext === '.json') return checked(parseJson(text, file), file);
  if (ext === '.yaml' || ext === '.yml') {
    const { value, lineOf } = parseYaml(text, file);
    return checked(value, file, lineOf);
  }
  throw new FlowLoadError(`${file}: unsupported flow file extension "${ext}" (expected .yaml, .yml or .json)`, file);
}

function checked(value: unknown, file: string, lineOf?: (field: string) => number | undefined): Flow {
  const { flow, diagnostics } = validateFlow(value);
  if (flow) return flow;
  const first = diagnostics.find((d) => d.level === 'error') as Diagnostic;
  const line = lineOf?.(first.field);
  const where = `${file}${line === undefined ? '' : `:${line}`}`;
  const step = first.stepId === undefined ? '' : `step "${first.stepId}", `;
  throw new FlowLoadError(`${where}: invalid flow: ${step}field "${first.field}": ${first.message}`, file, line, diagnostics);
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const line = jsonErrorLine(text, message);
    throw new FlowLoadError(`${file}${line === undefined ? '' : `:${line}`}: invalid JSON: ${message}`, file, line);
  }
}

/** V8 reports either `(line N column M)` or `at position N`. */
function jsonErrorLine(text: string, message: string): number | undefined {
  const byLine = /line (\d+)/.exec(message);
  if (byLine) return Number(byLine[1]);
  const byPos = /position (\d+)/.exec(message);
  if (!byPos) return undefined;
  const pos = Number(byPos[1]);
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function parseYaml(text: string, file: string): { value: unknown; lineOf: (field: string) => number | undefined } {
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema: only true/false are booleans, dates stay strings (as in Stepflow).
  // parseYamlDocument works around a yaml parser bug with mapping keys (a `test.config` with mock behaviours).
  const doc = parseYamlDocument(text, { schema: 'core', lineCounter, uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    const pos = error.linePos?.[0];
    const summary = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    throw new FlowLoadError(`${where}: invalid YAML: ${summary}`, file, pos?.line);
  }
  let value: unknown;
  try {
    value = yamlDocumentToJs(doc);
  } catch (err) {
    throw new FlowLoadError(`${file}: invalid YAML: ${(err as Error).message}`, file);
  }
  return { value, lineOf: (field) => fieldLine(doc, lineCounter, field) };
}

/** The line of the YAML node at a diagnostic's field path (`steps[1].input.x`), or of its nearest parent. */
function fieldLine(doc: Document, lineCounter: LineCounter, field: string): number | undefined {
  const path: Array<string | number> = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) path.push(m[2] === undefined ? m[1] : Number(m[2]));
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}
