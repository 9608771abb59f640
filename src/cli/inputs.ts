import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { UsageError } from './usage-error.js';

/** Parses a JSON flag value (`--input-json`); the message names the flag. */
export function parseJsonFlag(text: string, flag: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${flag}: invalid JSON: ${(err as Error).message}`);
  }
}

/** Parses a YAML text (`--input-yaml`, stdin); the message names where it came from. */
export function parseYamlText(text: string, source: string): unknown {
  try {
    return parseYaml(text);
  } catch (err) {
    throw new UsageError(`${source}: invalid YAML: ${(err as Error).message}`);
  }
}

/** Reads one input value from a JSON or YAML file (by extension; JSON otherwise). */
export async function readInputFile(file: string): Promise<unknown> {
  const text = await readText(file);
  if (/\.ya?ml$/i.test(file)) return parseYamlText(text, file);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: invalid JSON: ${(err as Error).message}`);
  }
}

/** Reads a JSONL file: one input per non-blank line. A bad line is reported as `file:line`. */
export async function readJsonLines(file: string): Promise<unknown[]> {
  return parseJsonLines(await readText(file), file);
}

/** One input per non-blank line of `text`; a bad line is reported as `source:line`. */
export function parseJsonLines(text: string, source: string): unknown[] {
  const inputs: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    try {
      inputs.push(JSON.parse(line));
    } catch (err) {
      throw new UsageError(`${source}:${i + 1}: invalid JSON: ${(err as Error).message}`);
    }
  }
  return inputs;
}

/** All of a (non-terminal) stream as text: how input is read from stdin. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}
