import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { LineCounter, type Document } from 'yaml';
import { parseYamlDocument, yamlDocumentToJs } from '../values/yaml-values.js';
import { describeIssue, type Flow } from '../../protocol/index.js';
import { FlowLoadError } from '../errors.js';
import { validateFlow, type Diagnostic } from './validate.js';

/** Options of `loadFlowFile` / `parseFlowText`. */
export interface FlowLoadOptions {
  /** Hears each warning (unknown keys, unreachable steps) as `file:line: warning: …`. */
  onWarning?: (message: string) => void;
}

/** Reads a flow file (`.yaml`, `.yml`, `.json`) and validates it; throws FlowLoadError naming the file. */
export async function loadFlowFile(path: string, options: FlowLoadOptions = {}): Promise<Flow> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FlowLoadError(`${path}: cannot read flow file: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, path);
  }
  return parseFlowText(text, path, options);
}

/** Parses and validates flow text; the format follows the extension of `file`. */
export function parseFlowText(text: string, file: string, options: FlowLoadOptions = {}): Flow {
  const ext = extname(file).toLowerCase();
  if (ext === '.json') return checked(parseJson(text, file), file, options);
  if (ext === '.yaml' || ext === '.yml') {
    const { value, lineOf } = parseYaml(text, file);
    return checked(value, file, options, lineOf);
  }
  throw new FlowLoadError(`${file}: unsupported flow file extension "${ext}" (expected .yaml, .yml or .json)`, file);
}

/** `file:line: level: step "id" field "f": message` — how every flow diagnostic is shown. */
export function formatDiagnostic(file: string, d: Diagnostic, line?: number): string {
  const where = `${file}${line === undefined ? '' : `:${line}`}`;
  return `${where}: ${d.level}: ${describeIssue(d)}`;
}

function checked(value: unknown, file: string, options: FlowLoadOptions, lineOf?: (field: string) => number | undefined): Flow {
  const { flow, diagnostics } = validateFlow(value);
  if (flow) {
    for (const d of diagnostics) if (d.level === 'warning') options.onWarning?.(formatDiagnostic(file, d, lineOf?.(d.field)));
    return flow;
  }
  const errors = diagnostics.filter((d) => d.level === 'error');
  const lines = errors.map((d) => formatDiagnostic(file, d, lineOf?.(d.field)));
  const more = lines.length > 1 ? `\n  ${lines.slice(1).join('\n  ')}` : '';
  throw new FlowLoadError(`${lines[0]}${more}`, file, lineOf?.(errors[0].field), diagnostics);
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
