// Reading the New run form's text fields (docs/dashboard.md) into what `runs/submit` takes. Each
// problem names the field (and line) so it is shown beside it; nothing is sent until all parse.

/** A field that does not parse: which field, and why. */
export class FieldProblem extends Error {
  constructor(
    readonly field: FieldName,
    message: string,
  ) {
    super(message);
  }
}

export type FieldName = 'flow' | 'inputs' | 'maxConcurrency' | 'variables' | 'overrides';

/**
 * A pasted flow, JSON or YAML. YAML's parser is loaded only when the text is not JSON, so the
 * page stays small for those who never paste YAML.
 */
export async function parseFlowText(text: string): Promise<Record<string, unknown>> {
  if (text.trim() === '') throw new FieldProblem('flow', 'Paste a flow (YAML or JSON), or choose a stored one.');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const { parse } = await import('yaml');
    try {
      value = parse(text);
    } catch (error) {
      throw new FieldProblem('flow', `The flow is neither JSON nor YAML: ${(error as Error).message}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FieldProblem('flow', 'A flow is an object (with steps and an output).');
  return value as Record<string, unknown>;
}

/** JSON Lines: one input per non-blank line. */
export function parseInputs(text: string): unknown[] {
  const inputs: unknown[] = [];
  const lines = text.split('\n');
  for (let k = 0; k < lines.length; k++) {
    if (lines[k]!.trim() === '') continue;
    try {
      inputs.push(JSON.parse(lines[k]!));
    } catch (error) {
      throw new FieldProblem('inputs', `Inputs line ${k + 1} is not JSON: ${(error as Error).message}`);
    }
  }
  if (inputs.length === 0) throw new FieldProblem('inputs', 'Give at least one input: one JSON value per line.');
  return inputs;
}

/** An optional JSON object field (variables, overrides); blank is none. */
export function parseObjectField(field: 'variables' | 'overrides', text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FieldProblem(field, `${field === 'variables' ? 'Variables' : 'Overrides'} are not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FieldProblem(field, `${field === 'variables' ? 'Variables' : 'Overrides'} must be a JSON object.`);
  return value as Record<string, unknown>;
}

/** An optional positive integer; blank is the server's default. */
export function parseConcurrency(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new FieldProblem('maxConcurrency', 'Max concurrency is a whole number of at least 1.');
  return n;
}

/**
 * The form field a refusal of `runs/submit` is about, from the field its message names
 * (`field "inputs[2]"`, `field "steps[0].component"` of an invalid flow); undefined when none.
 */
export function fieldOfRefusal(message: string): FieldName | undefined {
  if (message.startsWith('Invalid flow')) return 'flow';
  const named = /field "([A-Za-z]+)/.exec(message)?.[1];
  if (named === 'flow' || named === 'steps' || named === 'output' || named === 'flowId') return 'flow';
  if (named === 'inputs' || named === 'maxConcurrency' || named === 'variables' || named === 'overrides') return named;
  return undefined;
}
