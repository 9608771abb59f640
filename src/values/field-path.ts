/** A path into a value: object keys and array indexes. */
export type FieldPath = ReadonlyArray<PropertyKey>;

/** `plugins.tools.args[0]`: keys joined by dots, indexes in brackets. */
export function formatFieldPath(path: FieldPath): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text === '' ? String(key) : `.${String(key)}`;
  }
  return text;
}
