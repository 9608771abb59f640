import { LineCounter, parseDocument, type Document } from 'yaml';

/** A YAML (or JSON) text turned into JS values, with a way back to line numbers. */
export interface YamlSource {
  value: unknown;
  /** 1-based line where the node at `path` (or its nearest existing parent) starts. */
  lineOf(path: ReadonlyArray<PropertyKey>): number | undefined;
}

/** A YAML syntax error: the first error the parser reported, with its 1-based line. */
export class YamlSyntaxError extends Error {
  override name = 'YamlSyntaxError';
  constructor(
    message: string,
    readonly line: number | undefined,
  ) {
    super(message);
  }
}

/**
 * Parses YAML or JSON text. Mappings whose keys include a mapping or a sequence (the mock
 * plugin's `{ input: "a" }: …` behaviours) become `Map`s with real JS keys; every other mapping
 * becomes a plain object. Throws YamlSyntaxError on the first syntax error.
 */
export function parseYamlKeepingComplexKeys(text: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const [error] = doc.errors;
  if (error) throw new YamlSyntaxError(error.message, error.linePos?.[0].line);
  return {
    value: yamlDocumentToJs(doc),
    lineOf: (path) => lineOfPath(doc, lineCounter, path),
  };
}

/** Converts a parsed document as `parseYamlKeepingComplexKeys` does. */
export function yamlDocumentToJs(doc: Document): unknown {
  return fromMapsWhereNeeded(doc.toJS({ mapAsMap: true }));
}

function fromMapsWhereNeeded(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromMapsWhereNeeded);
  if (!(value instanceof Map)) return value;
  const entries = [...value.entries()].map(([key, item]) => [fromMapsWhereNeeded(key), fromMapsWhereNeeded(item)] as const);
  if (entries.some(([key]) => typeof key === 'object' && key !== null)) return new Map(entries);
  // fromEntries defines own properties, so a `__proto__` key stays data.
  return Object.fromEntries(entries.map(([key, item]) => [key === null ? '' : String(key), item]));
}

function lineOfPath(doc: Document, lineCounter: LineCounter, path: ReadonlyArray<PropertyKey>): number | undefined {
  for (let length = path.length; length >= 0; length--) {
    const node = doc.getIn(path.slice(0, length) as unknown[], true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}
