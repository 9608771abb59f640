import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { UsageError } from './usage-error.js';

/** Parses `--input-json`; the message names the flag. */
export function parseJsonFlag(text: string, flag: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${flag}: invalid JSON: ${(err as Error).message}`);
  }
}

/** Reads one input value from a JSON or YAML file (by extension; JSON otherwise). */
export async function readInputFile(file: string): Promise<unknown> {
  const text = await readText(file);
  try {
    return /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: invalid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
}

/** Reads a JSONL file: one input per non-blank line. A bad line is reported as `file:line`. */
export async function readJsonLines(file: string): Promise<unknown[]> {
  const text = await readText(file);
  const inputs: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    try {
      inputs.push(JSON.parse(line));
    } catch (err) {
      throw new UsageError(`${file}:${i + 1}: invalid JSON: ${(err as Error).message}`);
    }
  }
  return inputs;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}
