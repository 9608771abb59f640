import { Composer, CST, LineCounter, Parser, YAMLParseError, type Document, type DocumentOptions, type ParseOptions, type SchemaOptions } from 'yaml';

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
  const doc = parseYamlDocument(text, { lineCounter });
  const [error] = doc.errors;
  if (error) {
    // The parser's message repeats the position and quotes the source; the first line says it all.
    const summary = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new YamlSyntaxError(summary, error.linePos?.[0].line);
  }
  return {
    value: yamlDocumentToJs(doc),
    lineOf: (path) => lineOfPath(doc, lineCounter, path),
  };
}

/**
 * `yaml`'s parseDocument (one document; errors with line positions), minus a parser bug of
 * yaml ≤ 2.9 (eemeli/yaml#646): a block mapping whose next key is a flow collection
 * (`{ input: "b" }:`, as in every Stepflow mock config) gets a stray empty item before that
 * key, which the composer rejects as "Map comment with trailing content". The stray items are
 * dropped from the syntax tree before composing.
 */
export function parseYamlDocument(
  text: string,
  options: ParseOptions & DocumentOptions & SchemaOptions & { lineCounter: LineCounter },
): Document.Parsed {
  const parser = new Parser(options.lineCounter.addNewLine);
  const composer = new Composer(options);
  let doc: Document.Parsed | undefined;
  for (const parsed of composer.compose(withoutStrayMapItems(parser.parse(text)), true, text.length)) {
    if (doc) {
      doc.errors.push(new YAMLParseError(parsed.range.slice(0, 2) as [number, number], 'MULTIPLE_DOCS', 'the file holds more than one YAML document'));
      break;
    }
    doc = parsed;
  }
  // compose(…, forceDoc = true) always yields a document.
  const result = doc as Document.Parsed;
  for (const error of result.errors) {
    error.linePos = [options.lineCounter.linePos(error.pos[0]), options.lineCounter.linePos(error.pos[1])];
  }
  return result;
}

function* withoutStrayMapItems(tokens: Iterable<CST.Token>): Generator<CST.Token> {
  for (const token of tokens) {
    if (token.type === 'document') {
      CST.visit(token, (item, path) => {
        if (path.length === 0) return undefined; // the document itself
        const parent = CST.visit.parentCollection(token, path);
        const last = parent.items[parent.items.length - 1];
        return parent.type === 'block-map' && item !== last && isStrayItem(item) ? CST.visit.REMOVE : undefined;
      });
    }
    yield token;
  }
}

/**
 * An item holding only whitespace and comments. Before another item the composer always rejects
 * it, so dropping it (and its comment) only ever turns that error into the intended parse.
 */
function isStrayItem(item: CST.CollectionItem): boolean {
  return !item.key && !item.sep && !item.value && item.start.every((t) => t.type === 'space' || t.type === 'newline' || t.type === 'comment');
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
